#!/usr/bin/env python3
"""The ResNet measurements of `prism bench resnet`, in PyTorch, for the throughput ratios.

Same networks as prism's embedders (torchvision's ResNet-18/34/50 v1.5 layout, written out here so that only torch
is needed: conv1 7x7/2, BN, ReLU, max-pool 3x3/2, four stages of basic or bottleneck blocks, global average pool,
linear to --dim, L2 normalise), same random input, the same two measurements:
  inference: eval mode, no autograd, one forward of the batch;
  training:  train mode, loss = sum(embeddings * fixed random target), backward, SGD (lr 1e-4, momentum 0.9).
Median over --steps after one warm-up. Not needed by the product or CI: `prism bench resnet` runs it when PyTorch is
importable.

Usage: bench_torch_resnet.py [--threads N] [--device cpu|cuda] [--batch 32] [--size 224] [--steps 3] [--dim 512]
                             [--infer-model resnet50] [--train-model resnet18]
Prints one JSON line: {"inference": {"model", "images_per_second"}, "training": {...}, "torch": version, ...}
"""
import argparse
import json
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.down = None
        if stride != 1 or cin != width:
            self.down = nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)  # v1.5: the stride on the 3x3
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.down = None
        if stride != 1 or cin != out:
            self.down = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNetEmbedder(nn.Module):
    def __init__(self, block, layers, dim):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        stages, cin = [], 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), layers)):
            for j in range(n):
                stages.append(block(cin, width, 2 if (j == 0 and i > 0) else 1))
                cin = width * block.expansion
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, dim)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return F.normalize(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)), dim=1)


def make(name, dim):
    spec = {"resnet18": (Basic, (2, 2, 2, 2)), "resnet34": (Basic, (3, 4, 6, 3)),
            "resnet50": (Bottleneck, (3, 4, 6, 3))}[name]
    return ResNetEmbedder(spec[0], spec[1], dim)


def median_seconds(fn, steps, dev):
    fn()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--infer-model", default="resnet50")
    p.add_argument("--train-model", default="resnet18")
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device("cuda" if args.device in ("cuda", "gpu") else "cpu")
    torch.manual_seed(0)
    x = torch.rand(args.batch, 3, args.size, args.size, device=dev) * 2 - 1
    target = torch.rand(args.batch, args.dim, device=dev) * 2 - 1

    infer = make(args.infer_model, args.dim).to(dev).eval()

    def forward():
        with torch.no_grad():
            infer(x).sum().item()

    t_infer = median_seconds(forward, args.steps, dev)
    del infer

    train = make(args.train_model, args.dim).to(dev).train()
    opt = torch.optim.SGD(train.parameters(), lr=1e-4, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = (train(x) * target).sum()
        loss.backward()
        opt.step()
        loss.item()

    t_train = median_seconds(step, args.steps, dev)
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    print(json.dumps({"inference": {"model": args.infer_model, "images_per_second": args.batch / t_infer},
                      "training": {"model": args.train_model, "images_per_second": args.batch / t_train},
                      "torch": torch.__version__, "blas": blas.group(1) if blas else "unknown",
                      "onednn": torch.backends.mkldnn.is_available(), "threads": torch.get_num_threads(),
                      "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" else None,
                      "device": args.device}))


if __name__ == "__main__":
    main()
