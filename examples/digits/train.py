#!/usr/bin/env python3
"""Trains the digits-mlp model (16-8-10 integer MLP) from train.csv and writes its weights as JSON.

Standard library only, so it runs in the replay sandbox on any Debian machine. Deterministic for a given seed:
plain Python floats, a seeded random.Random, a fixed visiting order. The score is never printed here: the
service's trusted harness computes it from the weights this script writes.

usage: python3 train.py --seed 0 --out model.json [--epochs 8]
"""
import argparse
import json
import math
import os
import random

HIDDEN, CLASSES, FEATURES = 8, 10, 16
HIDDEN_SHIFT = 6  # the evaluator divides the hidden accumulator by 2**6 (see README.md, "Evaluation")


def pooled(pixels):
    """8x8 pixels (0..16) to 4x4 sums of 2x2 blocks (0..64), as the circuit sees them."""
    return [sum(pixels[(2 * r + dr) * 8 + 2 * c + dc] for dr in (0, 1) for dc in (0, 1)) for r in range(4) for c in range(4)]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            values = [int(v) for v in line.strip().split(',')]
            rows.append((pooled(values[:64]), values[64]))
    return rows


def train(rows, seed, epochs, lr):
    rng = random.Random(seed)
    w1 = [[rng.uniform(-0.25, 0.25) for _ in range(FEATURES)] for _ in range(HIDDEN)]
    b1 = [0.1] * HIDDEN
    w2 = [[rng.uniform(-0.25, 0.25) for _ in range(HIDDEN)] for _ in range(CLASSES)]
    b2 = [0.0] * CLASSES
    data = [([v / 64 for v in x], y) for x, y in rows]
    for epoch in range(epochs):
        rng.shuffle(data)
        rate = lr / (1 + epoch)
        for x, y in data:
            a = [b1[k] + sum(wi * xi for wi, xi in zip(w1[k], x)) for k in range(HIDDEN)]
            h = [v if v > 0 else 0.0 for v in a]
            z = [b2[j] + sum(wk * hk for wk, hk in zip(w2[j], h)) for j in range(CLASSES)]
            m = max(z)
            e = [math.exp(v - m) for v in z]
            s = sum(e)
            dz = [e[j] / s - (1.0 if j == y else 0.0) for j in range(CLASSES)]
            dh = [sum(dz[j] * w2[j][k] for j in range(CLASSES)) if a[k] > 0 else 0.0 for k in range(HIDDEN)]
            for j in range(CLASSES):
                g = rate * dz[j]
                b2[j] -= g
                row = w2[j]
                for k in range(HIDDEN):
                    row[k] -= g * h[k]
            for k in range(HIDDEN):
                g = rate * dh[k]
                if g:
                    b1[k] -= g
                    row = w1[k]
                    for i in range(FEATURES):
                        row[i] -= g * x[i]
    return w1, b1, w2, b2


def quantise(w1, b1, w2, b2):
    """Float model on features/64 to the integer format: accumulators scaled so weights fill [-127, 127]."""
    clamp = lambda v, lo, hi: max(lo, min(hi, int(round(v))))
    a = 127 / max(abs(v) for r in w1 for v in r) * 64
    c = 127 / max(abs(v) for r in w2 for v in r)
    return {
        'format': 'proofboard.digits-mlp.v1',
        'W1': [[clamp(v / 64 * a, -128, 127) for v in r] for r in w1],
        'B1': [clamp(v * a, -32768, 32767) for v in b1],
        'W2': [[clamp(v * c, -128, 127) for v in r] for r in w2],
        'B2': [clamp(v * c * (a / 2 ** HIDDEN_SHIFT), -32768, 32767) for v in b2],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', required=True)
    parser.add_argument('--epochs', type=int, default=25)
    parser.add_argument('--lr', type=float, default=0.3)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    model = quantise(*train(load(os.path.join(here, 'train.csv')), args.seed, args.epochs, args.lr))
    with open(args.out, 'w') as f:
        json.dump(model, f)
        f.write('\n')


if __name__ == '__main__':
    main()
