#!/usr/bin/env python3
"""The fmnist-cnn training step of `prism bench train`, in PyTorch, for the throughput ratio.

Same network (conv3x3 1->32, BN, ReLU, maxpool2 -> conv 32->64, BN, ReLU, maxpool2 -> conv 64->128, BN, ReLU -> global
average pool -> linear 128->d -> L2 normalise), same batch (64 = 8 classes x 8), same loss (the official XBM/PRISM
contrastive loss, margin 0.5, on the batch plus a memory bank of `--memory` embeddings), Adam with weight decay.
Not needed by the product or CI: `prism bench train` runs it only when PyTorch is importable.

Usage: bench_torch.py [--threads N] [--device cpu|cuda] [--batch 64] [--steps 30] [--dim 64] [--memory 8192]
Prints one JSON object: {"images_per_second": ..., "step_ms": ..., "torch": version, ...}
"""
import argparse
import json
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class FmnistCnn(nn.Module):
    def __init__(self, dim):
        super().__init__()
        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        self.features = nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                                      *block(64, 128))
        self.head = nn.Linear(128, dim)

    def forward(self, x):
        x = self.features(x).mean(dim=(2, 3))
        return F.normalize(self.head(x), dim=1)


def contrastive_vectorized(rows, row_labels, cols, col_labels, margin=0.5, eps=1e-5):
    """The same loss as contrastive() with masks instead of a Python loop over rows (faster in PyTorch)."""
    sim = rows @ cols.t()
    same = row_labels[:, None] == col_labels[None, :]
    pos = same & (sim < 1 - eps)
    neg = (~same) & (sim > margin)
    return ((1 - sim) * pos + sim * neg).sum() / rows.size(0)


def contrastive(rows, row_labels, cols, col_labels, margin=0.5, eps=1e-5):
    """The official loop (XBM's ContrastiveLoss): sum over rows of positive (1 - s) and negative s terms, / rows."""
    sim = rows @ cols.t()
    losses = []
    for i in range(rows.size(0)):
        pos = torch.masked_select(sim[i], col_labels == row_labels[i])
        pos = torch.masked_select(pos, pos < 1 - eps)
        neg = torch.masked_select(sim[i], col_labels != row_labels[i])
        neg = torch.masked_select(neg, neg > margin)
        loss = torch.sum(-pos + 1)
        if len(neg) > 0:
            loss = loss + torch.sum(neg)
        losses.append(loss)
    return sum(losses) / rows.size(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--instances", type=int, default=8)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--memory", type=int, default=8192)
    ap.add_argument("--loss", choices=["vectorized", "loop"], default="vectorized",
                    help="vectorized masks (the faster PyTorch baseline, default) or the official per-row loop")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = FmnistCnn(args.dim).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
    x = torch.rand(args.batch, 1, 28, 28, device=dev)
    labels = torch.arange(args.batch // args.instances, device=dev).repeat_interleave(args.instances)
    memory = F.normalize(torch.randn(args.memory, args.dim, device=dev), dim=1)
    memory_labels = torch.randint(0, 10, (args.memory,), device=dev)

    def step():
        emb = model(x)
        loss_fn = contrastive_vectorized if args.loss == "vectorized" else contrastive
        loss = loss_fn(emb, labels, emb, labels) + loss_fn(emb, labels, memory, memory_labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    # Which PyTorch was measured: its version, the BLAS its matmul runs on (mkl for the PyPI wheel, open or
    # the reference BLAS for distribution packages) and whether oneDNN (mkldnn) serves its convolutions.
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    print(json.dumps({"images_per_second": args.batch / median, "step_ms": 1e3 * median, "torch": torch.__version__,
                      "blas": blas.group(1) if blas else "unknown", "onednn": torch.backends.mkldnn.is_available(),
                      "threads": torch.get_num_threads(), "device": args.device, "loss": args.loss}))


if __name__ == "__main__":
    main()
