#!/usr/bin/python3
# Trusted harness of the gpt-char task (stage 2 of replay). Reads the weights the untrusted training left in
# /output/model.safetensors as data, never as code, and scores them on the hidden text in /eval/valid.txt.
# Prints one JSON line {"metric": <bits per byte>} on stdout; lower is better.
#
# Threats, each refused with a message on stderr and exit 1 (the worker then reports replay_harness_failed):
# - a pickle (torch.save) would run the job's code here, next to the hidden data, and could print any metric:
#   the weights are a safetensors file (8-byte header length, JSON header, raw little-endian float32), parsed here;
# - a header that names huge shapes or overlapping ranges: every tensor's name, shape, dtype and byte range must be
#   exactly what the declared configuration implies, and the configuration is bounded (so scoring time is bounded);
# - NaN or infinite weights would make the metric NaN: refused.
# The model's forward pass is defined here, not by the commit: a training script may change anything about how it
# trains, but the architecture family it is scored with is the task's.
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

VOCAB = 256  # bytes
LIMITS = {"n_layer": (1, 6), "n_head": (1, 16), "d_model": (16, 256), "block_size": (8, 256)}
MAX_HEADER_BYTES = 64 * 1024


def fail(message):
    print(f"gpt-char harness: {message}", file=sys.stderr)
    sys.exit(1)


def expected_shapes(cfg):
    d, block = cfg["d_model"], cfg["block_size"]
    shapes = {"wte": (VOCAB, d), "wpe": (block, d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        shapes.update({
            p + "ln_1.weight": (d,), p + "ln_1.bias": (d,),
            p + "attn.qkv.weight": (3 * d, d), p + "attn.qkv.bias": (3 * d,),
            p + "attn.proj.weight": (d, d), p + "attn.proj.bias": (d,),
            p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
            p + "mlp.fc.weight": (4 * d, d), p + "mlp.fc.bias": (4 * d,),
            p + "mlp.proj.weight": (d, 4 * d), p + "mlp.proj.bias": (d,),
        })
    return shapes


def parse_config(meta):
    if not isinstance(meta, dict):
        fail("__metadata__ must be an object")
    cfg = {}
    for key, (lo, hi) in LIMITS.items():
        raw = meta.get(key)
        if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 4:
            fail(f"__metadata__.{key} must be a decimal string")
        value = int(raw)
        if not lo <= value <= hi:
            fail(f"__metadata__.{key} = {value} is outside [{lo}, {hi}]")
        cfg[key] = value
    if cfg["d_model"] % cfg["n_head"] != 0:
        fail("d_model must be a multiple of n_head")
    extra = set(meta) - set(LIMITS) - {"format"}
    if extra:
        fail(f"unknown __metadata__ keys {sorted(extra)}")
    if meta.get("format") != "proofboard.gpt-char.v1":
        fail('__metadata__.format must be "proofboard.gpt-char.v1"')
    return cfg


def load_weights(path):
    # O_NOFOLLOW: the copy in /output is the trusted side's, but refusing links costs nothing.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail("model.safetensors is shorter than its header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES or 8 + header_len > len(data):
        fail(f"header length {header_len} is out of range")
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"header is not JSON ({e})")
    if not isinstance(header, dict):
        fail("header must be a JSON object")
    cfg = parse_config(header.pop("__metadata__", None))
    shapes = expected_shapes(cfg)
    if set(header) != set(shapes):
        missing, extra = sorted(set(shapes) - set(header)), sorted(set(header) - set(shapes))
        fail(f"tensor names differ from the configuration (missing {missing[:5]}, unexpected {extra[:5]})")
    body = memoryview(data)[8 + header_len :]
    # Ranges must tile the body exactly, in some order: no overlap, no gap, nothing past the end.
    spans = []
    tensors = {}
    for name, shape in shapes.items():
        entry = header[name]
        if not isinstance(entry, dict) or entry.get("dtype") != "F32":
            fail(f"{name}: dtype must be F32")
        if entry.get("shape") != list(shape):
            fail(f"{name}: shape {entry.get('shape')} is not {list(shape)}")
        offsets = entry.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            fail(f"{name}: data_offsets must be two integers")
        begin, end = offsets
        if not 0 <= begin <= end <= len(body) or end - begin != 4 * math.prod(shape):
            fail(f"{name}: data_offsets {offsets} do not fit its shape in a body of {len(body)} bytes")
        spans.append((begin, end))
        array = np.frombuffer(body[begin:end], dtype="<f4").reshape(shape)
        if not np.isfinite(array).all():
            fail(f"{name}: holds NaN or infinite values")
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    spans.sort()
    position = 0
    for begin, end in spans:
        if begin != position:
            fail("tensor byte ranges overlap or leave gaps")
        position = end
    if position != len(body):
        fail("bytes after the last tensor")
    return cfg, tensors


def forward(cfg, w, idx):
    """Logits for byte sequences idx (B, T): a pre-LayerNorm GPT-2 block stack with the output tied to wte."""
    B, T = idx.shape
    d, nh = cfg["d_model"], cfg["n_head"]
    x = w["wte"][idx] + w["wpe"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        h = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        q, k, v = F.linear(h, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]).split(d, dim=2)
        q, k, v = (t.view(B, T, nh, d // nh).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // nh)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + F.linear(y, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
        h = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = F.gelu(F.linear(h, w[p + "mlp.fc.weight"], w[p + "mlp.fc.bias"]))
        x = x + F.linear(h, w[p + "mlp.proj.weight"], w[p + "mlp.proj.bias"])
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"])
    return x @ w["wte"].T


def bits_per_byte(cfg, w, text):
    """Every byte after the first is predicted once, from the start of its block_size window: deterministic, and
    independent of any batch size the training chose."""
    tokens = torch.tensor(list(text), dtype=torch.long)
    block = cfg["block_size"]
    total_nats, count = 0.0, 0
    with torch.no_grad():
        starts = list(range(0, len(tokens) - 1, block))
        for i in range(0, len(starts), 64):
            batch = starts[i : i + 64]
            lengths = [min(block, len(tokens) - 1 - s) for s in batch]
            T = max(lengths)
            idx = torch.zeros(len(batch), T, dtype=torch.long)
            tgt = torch.full((len(batch), T), -100, dtype=torch.long)
            for row, (s, n) in enumerate(zip(batch, lengths)):
                idx[row, :n] = tokens[s : s + n]
                tgt[row, :n] = tokens[s + 1 : s + 1 + n]
            logits = forward(cfg, w, idx)
            total_nats += F.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1), ignore_index=-100, reduction="sum").item()
            count += sum(lengths)
    return total_nats / count / math.log(2)


def main():
    torch.set_num_threads(int(os.environ.get("PROOFBOARD_HARNESS_THREADS", "1")))
    output_dir = os.environ.get("PROOFBOARD_OUTPUT_DIR", "/output")
    eval_dir = os.environ.get("PROOFBOARD_EVAL_DIR", "/eval")
    cfg, weights = load_weights(os.path.join(output_dir, "model.safetensors"))
    with open(os.path.join(eval_dir, "valid.txt"), "rb") as f:
        text = f.read()
    bpb = bits_per_byte(cfg, weights, text)
    if not math.isfinite(bpb):
        fail("the metric is not finite")
    print(json.dumps({"metric": round(bpb, 6)}))


if __name__ == "__main__":
    main()
