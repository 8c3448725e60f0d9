#!/usr/bin/python3
# Trusted harness of the digits-mlp task (stage 2 of replay), standard library only. Computes exactly what
# src/zk/reference-evaluator.ts and circuits/digits-mlp.circom compute: the number of rows of /eval/eval.csv that the
# integer MLP in /output/model.json predicts right. Prints {"metric": <correct>} as its last stdout line.
#
# model.json is untrusted (made by the submitted training): at most 16 KiB of UTF-8 JSON, exactly the keys and shapes
# below, integers in the ranges the circuit range-checks (int8 weights, int16 biases). Anything else: a message on
# stderr and exit 1, which ends the claim as harness_failed. bool is refused where an integer is expected (Python's
# True == 1 would otherwise pass, while the TypeScript reference refuses it).
import json
import os
import sys

FORMAT = "proofboard.digits-mlp.v1"
N_FEATURES, N_HIDDEN, N_CLASSES = 16, 8, 10
HIDDEN_SHIFT = 6
MAX_BYTES = 16 * 1024


def fail(message):
    print(f"digits harness: {message}", file=sys.stderr)
    sys.exit(1)


def is_int(v, lo, hi):
    return type(v) is int and lo <= v <= hi


def matrix(w, name, rows, cols, lo, hi):
    m = w.get(name)
    if not (isinstance(m, list) and len(m) == rows and all(isinstance(r, list) and len(r) == cols for r in m)):
        fail(f"{name}: expected {rows} rows of {cols}")
    if not all(is_int(v, lo, hi) for r in m for v in r):
        fail(f"{name}: expected integers in [{lo}, {hi}]")
    return m


def vector(w, name, n, lo, hi):
    v = w.get(name)
    if not (isinstance(v, list) and len(v) == n and all(is_int(x, lo, hi) for x in v)):
        fail(f"{name}: expected {n} integers in [{lo}, {hi}]")
    return v


def as_number(literal):
    value = float(literal)
    return int(value) if value.is_integer() else value


def parse_weights(data):
    if len(data) > MAX_BYTES:
        fail(f"weights: over {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail("weights: not UTF-8 JSON")
    # As the reference's TextDecoder does: one leading byte order mark is dropped.
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        # JSON numbers are doubles in the reference: 1.0 and 1e1 are the integers 1 and 10 there, so here too; 1.5 stays
        # a float and is refused below. NaN and Infinity are not JSON.
        w = json.loads(text, parse_float=as_number, parse_constant=lambda c: fail(f"weights: {c} is not JSON"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        fail("weights: not UTF-8 JSON")
    if not isinstance(w, dict):
        fail("weights: expected an object")
    if set(w) != {"format", "W1", "B1", "W2", "B2"}:
        fail(f"weights: keys must be format, W1, B1, W2, B2 (got {sorted(w)[:8]})")
    if w["format"] != FORMAT:
        fail(f"format: expected {FORMAT}")
    return (
        matrix(w, "W1", N_HIDDEN, N_FEATURES, -128, 127),
        vector(w, "B1", N_HIDDEN, -32768, 32767),
        matrix(w, "W2", N_CLASSES, N_HIDDEN, -128, 127),
        vector(w, "B2", N_CLASSES, -32768, 32767),
    )


def pool(pixels):
    return [sum(pixels[(2 * r + i) * 8 + 2 * c + j] for i in (0, 1) for j in (0, 1)) for r in range(4) for c in range(4)]


def load_rows(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f.read().split("\n")):
            if not line:
                continue
            v = [int(x) for x in line.split(",")]
            if len(v) != 65 or any(x < 0 or x > (16 if i < 64 else 9) for i, x in enumerate(v)):
                fail(f"eval.csv line {n + 1}: expected 64 pixels 0..16 and a label 0..9")
            rows.append((pool(v[:64]), v[64]))
    return rows


def predict(weights, x):
    W1, B1, W2, B2 = weights
    h = []
    for k in range(N_HIDDEN):
        acc = B1[k] + sum(W1[k][i] * x[i] for i in range(N_FEATURES))
        # floor division by 64 for acc >= 0, as the reference's Math.floor(acc / 64); ReLU otherwise.
        h.append(acc >> HIDDEN_SHIFT if acc >= 0 else 0)
    s = [B2[j] + sum(W2[j][k] * h[k] for k in range(N_HIDDEN)) for j in range(N_CLASSES)]
    return s.index(max(s))  # first index of the maximum, as the reference and the circuit break ties


def main():
    output_dir = os.environ.get("PROOFBOARD_OUTPUT_DIR", "/output")
    eval_dir = os.environ.get("PROOFBOARD_EVAL_DIR", "/eval")
    fd = os.open(os.path.join(output_dir, "model.json"), os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    weights = parse_weights(data)
    rows = load_rows(os.path.join(eval_dir, "eval.csv"))
    print(json.dumps({"metric": sum(1 for x, label in rows if predict(weights, x) == label)}))


if __name__ == "__main__":
    main()
