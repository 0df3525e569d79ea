#!/usr/bin/python3
"""Inputs for the `prism select` walkthrough of docs/prism.md (numpy only).

Embeddings are Fashion-MNIST images themselves: pixels minus the mean image, L2-normalised (784-d) — no network,
so the example runs anywhere. Noisy labels come from `prism noise` (run it first, see docs/prism.md).

  /usr/bin/python3 docs/examples/fmnist_select_inputs.py NOISY.npy FLAGS.npy OUTDIR

writes OUTDIR/{memory,memory_labels,batch,batch_labels,batch_flags}.npy: a memory bank of the first 2000
training images with their noisy labels, and a batch of 4 classes × 4 images (by noisy label) drawn from the rest.
"""
import gzip
import os
import sys

import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"


def images():
    with gzip.open(os.path.join(ROOT, "train-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    x = raw.reshape(-1, 784).astype(np.float32) / 255.0
    x -= x.mean(axis=0)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main():
    noisy_path, flags_path, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    x = images()
    y = np.load(noisy_path)
    flags = np.load(flags_path)
    memory = np.arange(2000)
    rng = np.random.default_rng(0)
    classes = rng.choice(10, size=4, replace=False)
    batch = np.concatenate([rng.choice(np.where(y[2000:] == c)[0] + 2000, size=4, replace=False) for c in classes])
    np.save(os.path.join(out, "memory.npy"), x[memory])
    np.save(os.path.join(out, "memory_labels.npy"), y[memory])
    np.save(os.path.join(out, "batch.npy"), x[batch])
    np.save(os.path.join(out, "batch_labels.npy"), y[batch])
    np.save(os.path.join(out, "batch_flags.npy"), flags[batch])
    print("batch indices", batch.tolist())


if __name__ == "__main__":
    main()
