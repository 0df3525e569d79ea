#!/usr/bin/python3
"""Golden values for the multi-similarity and SoftTriple losses (tests/test_dml_losses.cpp), computed by
pytorch-metric-learning (pml), the established implementation.

Run by hand in a venv that sees Debian's PyTorch:
  /usr/bin/python3 -m venv --system-site-packages /tmp/venv-losses
  /tmp/venv-losses/bin/pip install --no-deps pytorch-metric-learning tqdm
  /tmp/venv-losses/bin/python tests/reference/make_loss_golden.py
Writes tests/data/dml/ms_*.npy and softtriple_*.npy (commit them). The product never needs Python.
Made with pytorch-metric-learning 2.9.0 and torch 1.13.

How prism's divisors map onto pml's reducers (MeanReducer for both losses: the mean over the anchors given):
  - multi-similarity batch loss: pml on the kept samples gathered (x[keep]) against themselves, mined by
    MultiSimilarityMiner(epsilon=0.1); the mean over the kept rows = prism's sum over kept rows / kept.
  - multi-similarity memory loss: pml on the kept rows against the memory (ref_emb / ref_labels, mined the
    same way), times kept / n: prism divides the memory term by the whole batch size n (DESIGN §4.1), pml by
    the rows it was given.
  - SoftTriple: pml on the kept rows (mean over them) plus tau times the centre regulariser of the original code
    (idstcv/SoftTriple, loss/SoftTriple.py): sum over same-class center pairs t < u of sqrt(2 + 1e-5 - 2 s_tu)
    / (C K (K - 1)) on the normalised centers. pml's SoftTripleLoss has no regulariser of its own; its
    SparseCentersRegularizer adds FLT_MIN instead of 1e-5 (an infinite gradient where two centers coincide),
    so prism follows the original there.
Both losses use pml's default distance, CosineSimilarity, which normalises rows (and centers); the inputs
here are not unit length, so the gradients also go through that normalisation. Inputs are redrawn until no
pair lies within 1e-3 of a mining threshold, where float rounding could flip it between implementations.
"""
import os

import numpy as np
import torch
from pytorch_metric_learning import losses, miners

MAGIC = 0x50524953  # "PRIS"
VERSION = 1
ALPHA, BETA, BASE, EPSILON = 2.0, 50.0, 0.5, 0.1
K, LA, GAMMA, DELTA, TAU = 10, 20.0, 0.1, 0.01, 0.2
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "dml")


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def mining_margin(sim, y_rows, y_cols, skip_diagonal):
    """The smallest distance of any pair to its mining threshold (s - eps vs max negative, s + eps vs min
    positive), in double."""
    worst = np.inf
    for i in range(sim.shape[0]):
        pos = y_cols == y_rows[i]
        neg = ~pos
        if skip_diagonal:
            pos[i] = neg[i] = False
        if not pos.any() or not neg.any():
            continue
        max_neg, min_pos = sim[i][neg].max(), sim[i][pos].min()
        worst = min(worst, np.abs(sim[i][pos] - EPSILON - max_neg).min(), np.abs(sim[i][neg] + EPSILON - min_pos).min())
    return worst


def draw(seed, n, m, d, classes):
    rng = np.random.default_rng(seed)
    while True:
        proto = unit(rng.standard_normal((classes, d)))
        proto[1] = unit(proto[0] + 0.8 * proto[1])  # two close classes: hard negatives
        y = rng.integers(0, classes, n)
        ym = rng.integers(0, classes, m)
        scale = rng.uniform(0.5, 2.0, (n, 1))  # not unit length: the losses normalise
        f = (scale * unit(proto[y] + 0.6 * rng.standard_normal((n, d)))).astype(np.float32)
        v = unit(proto[ym] + 0.6 * rng.standard_normal((m, d))).astype(np.float32)
        keep = (rng.random(n) > 0.3).astype(np.int32)
        if keep.sum() < 4:
            continue
        fu = unit(f.astype(np.float64))
        kb = keep.astype(bool)
        s_b = fu[kb] @ fu[kb].T
        s_m = fu[kb] @ unit(v.astype(np.float64)).T
        if mining_margin(s_b, y[kb], y[kb], True) > 1e-3 and mining_margin(s_m, y[kb], ym, False) > 1e-3:
            return f, y.astype(np.int32), v, ym.astype(np.int32), keep


def multi_similarity(f, y, v, ym, keep):
    n = f.shape[0]
    kb = torch.tensor(keep.astype(bool))
    loss_fn = losses.MultiSimilarityLoss(alpha=ALPHA, beta=BETA, base=BASE)
    miner = miners.MultiSimilarityMiner(epsilon=EPSILON)

    fb = torch.tensor(f, requires_grad=True)
    rows, labels = fb[kb], torch.tensor(y)[kb]
    batch = loss_fn(rows, labels, miner(rows, labels))
    batch.backward()

    fm = torch.tensor(f, requires_grad=True)
    rows, labels = fm[kb], torch.tensor(y)[kb]
    mem, mem_labels = torch.tensor(v), torch.tensor(ym)
    pairs = miner(rows, labels, mem, mem_labels)
    memory = loss_fn(rows, labels, pairs, mem, mem_labels) * (float(keep.sum()) / n)
    memory.backward()
    print(f"multi-similarity: batch {batch.item():.7f}, memory {memory.item():.7f} "
          f"({len(pairs[0])} positive and {len(pairs[2])} negative memory pairs mined)")
    return batch, fb.grad, memory, fm.grad


def original_regulariser(fc, classes):
    """idstcv/SoftTriple's regulariser on the centers (columns of fc), as its forward computes it."""
    centers = torch.nn.functional.normalize(fc, p=2, dim=0)
    sim_center = centers.t().matmul(centers)
    weight = torch.zeros(classes * K, classes * K, dtype=torch.bool)
    for i in range(classes):
        for j in range(K):
            weight[i * K + j, i * K + j + 1:(i + 1) * K] = True
    return torch.sum(torch.sqrt(2.0 + 1e-5 - 2.0 * sim_center[weight])) / (classes * K * (K - 1.0))


def softtriple(f, y, keep, classes, seed):
    d = f.shape[1]
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes * K, d)).astype(np.float32)  # row c*K + t: center t of class c
    kb = torch.tensor(keep.astype(bool))
    loss_fn = losses.SoftTripleLoss(num_classes=classes, embedding_size=d, centers_per_class=K, la=LA,
                                    gamma=GAMMA, margin=DELTA)
    with torch.no_grad():
        loss_fn.fc.copy_(torch.tensor(centers.T))  # pml stores the centers as the columns of fc [d, C*K]
    fs = torch.tensor(f, requires_grad=True)
    loss = loss_fn(fs[kb], torch.tensor(y)[kb].long()) + TAU * original_regulariser(loss_fn.fc, classes)
    loss.backward()
    print(f"softtriple: {loss.item():.7f} (kept {int(keep.sum())} of {len(keep)})")
    return centers, loss, fs.grad, loss_fn.fc.grad.t().contiguous()


def main():
    os.makedirs(OUT, exist_ok=True)
    n, m, d, classes = 14, 40, 16, 5
    f, y, v, ym, keep = draw(11, n, m, d, classes)

    batch, batch_grad, memory, memory_grad = multi_similarity(f, y, v, ym, keep)
    save = lambda name, a: np.save(os.path.join(OUT, f"ms_{name}.npy"), a)
    save("meta", np.array([MAGIC, VERSION, n, m, d], dtype=np.int32))
    save("emb", f)
    save("labels", y)
    save("keep", keep)
    save("memory", v)
    save("memory_labels", ym)
    save("batch_loss", np.array([batch.item()], dtype=np.float32))
    save("batch_grad", batch_grad.numpy().astype(np.float32))
    save("memory_loss", np.array([memory.item()], dtype=np.float32))
    save("memory_grad", memory_grad.numpy().astype(np.float32))

    centers, loss, emb_grad, center_grad = softtriple(f, y, keep, classes, 12)
    save = lambda name, a: np.save(os.path.join(OUT, f"softtriple_{name}.npy"), a)
    save("meta", np.array([MAGIC, VERSION, n, classes, K, d], dtype=np.int32))
    save("emb", f)
    save("labels", y)
    save("keep", keep)
    save("centers", centers)
    save("loss", np.array([loss.item()], dtype=np.float32))
    save("emb_grad", emb_grad.numpy().astype(np.float32))
    save("center_grad", center_grad.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
