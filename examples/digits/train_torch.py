#!/usr/bin/env python3
"""Trains the digits-mlp model (16-8-10 integer MLP) with PyTorch, on an NVIDIA GPU when there is one, and writes
its weights in the same model.json format as train.py.

The same model family as train.py: 2x2 sum-pooled features divided by 64, one ReLU hidden layer of 8, softmax
cross-entropy, then the same quantisation to integers in range. Full-batch Adam instead of per-row SGD, because a
GPU is wasted on one row at a time. Deterministic settings for a given seed and device: seeded generators,
deterministic algorithms, no TF32, cuBLAS workspace pinned. GPU results are still not bitwise identical across GPU
models or drivers, which is why a task's tolerance policy exists. The score is never printed here: the service's
trusted harness computes it from the weights this script writes.

usage: python3 train_torch.py --seed 0 --out model.json [--epochs 300] [--device auto|cpu|cuda]
"""
import argparse
import json
import os
import sys

# Must be set before CUDA initialises: cuBLAS is deterministic only with a fixed workspace configuration.
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')

import torch  # noqa: E402

HIDDEN, CLASSES, FEATURES = 8, 10, 16
HIDDEN_SHIFT = 6  # the evaluator divides the hidden accumulator by 2**6 (see README.md, "Evaluation")


def pooled(pixels):
    """8x8 pixels (0..16) to 4x4 sums of 2x2 blocks (0..64), as the circuit sees them."""
    return [sum(pixels[(2 * r + dr) * 8 + 2 * c + dc] for dr in (0, 1) for dc in (0, 1)) for r in range(4) for c in range(4)]


def load(path):
    xs, ys = [], []
    with open(path) as f:
        for line in f:
            values = [int(v) for v in line.strip().split(',')]
            xs.append(pooled(values[:64]))
            ys.append(values[64])
    return xs, ys


def pick_device(name):
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if name == 'cuda' and not torch.cuda.is_available():
        # is_available() hides why; init() raises the driver's own error, which is what an operator needs.
        try:
            torch.cuda.init()
            why = 'the driver initialised but reports no device'
        except Exception as e:  # noqa: BLE001
            why = repr(e)
        raise SystemExit(f'--device cuda: no CUDA device is visible ({why}); is the GPU passed into the sandbox?')
    return torch.device(name)


def train(xs, ys, seed, epochs, lr, device):
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    # Initialised on the CPU from a seeded generator, so the starting point does not depend on the device.
    gen = torch.Generator().manual_seed(seed)
    w1 = ((torch.rand(HIDDEN, FEATURES, generator=gen, dtype=torch.float64) - 0.5) * 0.5).to(device).requires_grad_()
    b1 = torch.full((HIDDEN,), 0.1, dtype=torch.float64, device=device, requires_grad=True)
    w2 = ((torch.rand(CLASSES, HIDDEN, generator=gen, dtype=torch.float64) - 0.5) * 0.5).to(device).requires_grad_()
    b2 = torch.zeros(CLASSES, dtype=torch.float64, device=device, requires_grad=True)
    x = torch.tensor(xs, dtype=torch.float64, device=device) / 64
    y = torch.tensor(ys, dtype=torch.long, device=device)
    params = [w1, b1, w2, b2]
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        h = torch.relu(x @ w1.T + b1)
        loss = torch.nn.functional.cross_entropy(h @ w2.T + b2, y)
        loss.backward()
        opt.step()
    return [p.detach().cpu().tolist() for p in params]


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
    parser.add_argument('--epochs', type=int, default=300)
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto')
    args = parser.parse_args()
    device = pick_device(args.device)
    here = os.path.dirname(os.path.abspath(__file__))
    xs, ys = load(os.path.join(here, 'train.csv'))
    model = quantise(*train(xs, ys, args.seed, args.epochs, args.lr, device))
    with open(args.out, 'w') as f:
        json.dump(model, f)
        f.write('\n')
    # Which device trained it goes to stderr, for the operator; the harness reads only model.json.
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    print(f'trained on {name} with torch {torch.__version__}', file=sys.stderr)


if __name__ == '__main__':
    main()
