#!/usr/bin/env python3
"""The image-loading measurements of `prism bench data`, with torchvision + PIL, for the throughput ratios.

Reads the JPEGs prism generated (--dir, --list: "name,label" lines) and measures what prism measures:
  decode:    one process, PIL Image.open(path).convert("RGB") (pixels loaded), ms per image;
  transform: one process, the official train transform on already decoded images, ms per image:
             Resize(resize) -> RandomResizedCrop(crop, scale) -> RandomHorizontalFlip -> ToTensor
             [-> B, G, R at 0-255 with --bgr255, BN-Inception's INPUT.MODE BGR] -> Normalize(--mean, --std);
  pipeline:  a DataLoader with --threads worker processes (persistent, batch --batch, collated tensors),
             images per second over whole passes (median of --repeats after one warm-up pass).
Not needed by the product or CI: `prism bench data` runs it when torch and torchvision are importable.

Usage: bench_torch_data.py --dir D --list L [--threads 2] [--batch 32] [--repeats 3] [--resize 256] [--crop 224]
                           [--scale-min 0.2] [--scale-max 1.0] [--mean M,M,M] [--std S,S,S] [--bgr255]
Prints one JSON line: {"decode_ms", "transform_ms", "pipeline": {"images_per_second", "workers"}, versions}.
"""
import argparse
import json
import os
import statistics
import time

import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, labels, transform):
        self.paths, self.labels, self.transform = paths, labels, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert("RGB")), self.labels[i]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--list", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--resize", type=int, default=256)
    p.add_argument("--crop", type=int, default=224)
    p.add_argument("--scale-min", type=float, default=0.2)
    p.add_argument("--scale-max", type=float, default=1.0)
    p.add_argument("--mean", default="0.485,0.456,0.406")
    p.add_argument("--std", default="0.229,0.224,0.225")
    p.add_argument("--bgr255", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)  # the per-image work is PIL's; collation is a copy

    paths, labels = [], []
    with open(a.list) as f:
        for line in f:
            if line.strip():
                name, label = line.rstrip("\n").rsplit(",", 1)
                paths.append(os.path.join(a.dir, name))
                labels.append(int(label))
    train = T.Compose([
        T.Resize(a.resize),
        T.RandomResizedCrop(a.crop, scale=(a.scale_min, a.scale_max)),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        *([T.Lambda(lambda x: x[[2, 1, 0]] * 255)] if a.bgr255 else []),
        T.Normalize(mean=[float(v) for v in a.mean.split(",")], std=[float(v) for v in a.std.split(",")]),
    ])

    def decode(path):
        with Image.open(path) as im:
            return im.convert("RGB")  # convert() loads the pixels

    def median_seconds(f):
        f()
        times = []
        for _ in range(max(a.repeats, 1)):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    decode_s = median_seconds(lambda: [decode(q) for q in paths])
    decoded = [decode(q) for q in paths[:32]]
    transform_s = median_seconds(lambda: [train(im) for im in decoded])

    loader = torch.utils.data.DataLoader(Files(paths, labels, train), batch_size=a.batch, shuffle=False,
                                         num_workers=a.threads, persistent_workers=a.threads > 0)

    def one_pass():
        for _ in loader:  # collated batches, as prism's load_batch returns them
            pass

    pass_s = median_seconds(one_pass)
    print(json.dumps({
        "decode_ms": 1000.0 * decode_s / len(paths),
        "transform_ms": 1000.0 * transform_s / len(decoded),
        "pipeline": {"images_per_second": len(paths) / pass_s, "workers": a.threads},
        "normalize": {"mean": a.mean, "std": a.std, "bgr255": a.bgr255},
        "torch": torch.__version__, "torchvision": torchvision.__version__, "pil": PIL.__version__,
    }))


if __name__ == "__main__":
    main()
