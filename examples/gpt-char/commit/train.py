#!/usr/bin/python3
# A sample commit of the gpt-char task: trains a small byte-level GPT on /data/train.txt and writes its weights to
# --out as a safetensors file the task's harness scores (bits per byte on text this script never sees).
# Submitters edit anything here (the hyperparameters below first); the output format and the model family are the
# task's (examples/gpt-char/README.md).
import argparse
import json
import math
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# --- hyperparameters: what an autoresearch agent edits ---
N_LAYER, N_HEAD, D_MODEL, BLOCK_SIZE = 2, 4, 128, 64
BATCH_SIZE = 32
STEPS = 300
LR = 3e-3
WARMUP = 20
WEIGHT_DECAY = 0.1
# ---


class Block(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.ModuleDict({"qkv": nn.Linear(d, 3 * d), "proj": nn.Linear(d, d)})
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.ModuleDict({"fc": nn.Linear(d, 4 * d), "proj": nn.Linear(4 * d, d)})

    def forward(self, x, mask):
        B, T, d = x.shape
        q, k, v = self.attn["qkv"](self.ln_1(x)).split(d, dim=2)
        q, k, v = (t.view(B, T, self.n_head, d // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(d // self.n_head)).masked_fill(~mask[:T, :T], float("-inf"))
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, d)
        x = x + self.attn["proj"](y)
        return x + self.mlp["proj"](F.gelu(self.mlp["fc"](self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Parameter(torch.randn(256, D_MODEL) * 0.02)
        self.wpe = nn.Parameter(torch.randn(BLOCK_SIZE, D_MODEL) * 0.01)
        self.h = nn.ModuleList(Block(D_MODEL, N_HEAD) for _ in range(N_LAYER))
        self.ln_f = nn.LayerNorm(D_MODEL)
        self.register_buffer("mask", torch.ones(BLOCK_SIZE, BLOCK_SIZE, dtype=torch.bool).tril(), persistent=False)

    def forward(self, idx):
        x = self.wte[idx] + self.wpe[: idx.shape[1]]
        for block in self.h:
            x = block(x, self.mask)
        return self.ln_f(x) @ self.wte.T


def save_safetensors(model, path):
    """The task's output format: safetensors (8-byte header length, JSON header, raw little-endian float32)."""
    header, chunks, offset = {}, [], 0
    for name, tensor in model.state_dict().items():
        raw = tensor.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {
        "format": "proofboard.gpt-char.v1",
        "n_layer": str(N_LAYER), "n_head": str(N_HEAD), "d_model": str(D_MODEL), "block_size": str(BLOCK_SIZE),
    }
    encoded = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default="/data/train.txt")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    with open(args.data, "rb") as f:
        data = torch.tensor(list(f.read()), dtype=torch.long)
    model = GPT().to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}], lr=LR)
    gen = torch.Generator().manual_seed(args.seed)
    started = time.time()
    for step in range(STEPS):
        lr = LR * min(1.0, (step + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(data) - BLOCK_SIZE - 1, (BATCH_SIZE,), generator=gen)
        x = torch.stack([data[s : s + BLOCK_SIZE] for s in starts]).to(device)
        y = torch.stack([data[s + 1 : s + 1 + BLOCK_SIZE] for s in starts]).to(device)
        loss = F.cross_entropy(model(x).reshape(-1, 256), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == STEPS - 1:
            # What the script prints is never the score: the harness measures on text it never sees.
            print(f"step {step} train loss {loss.item() / math.log(2):.3f} bits/byte  {time.time() - started:.1f}s", flush=True)
    save_safetensors(model, args.out)


if __name__ == "__main__":
    main()
