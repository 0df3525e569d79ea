#!/usr/bin/python3
"""Golden values for the contrastive loss of XBM / PRISM (tests/test_dml_contrastive.cpp).

Run by hand with Debian's PyTorch:  /usr/bin/python3 tests/reference/make_dml_golden.py
Writes tests/data/dml/contrastive_*.npy (commit them; the tests also use them as files made by numpy for the
`prism eval` / `prism select` commands). The product never needs Python.

The loss is re-implemented here the way the official code computes it (a loop over anchor rows, masked_select
of positives below 1 - eps and negatives above the margin, sum divided by the number of anchors):
  - batch loss: the kept samples gathered (feats[keep]) against themselves, divided by the number kept;
  - memory loss: the whole batch against the memory bank, rows of removed samples contributing nothing,
    divided by the whole batch size.
Gradients come from torch.autograd. Inputs are drawn so that no similarity lies within 1e-3 of a kink
(s = margin, s = 1 - eps), where float rounding could flip a pair between implementations.
"""
import os

import numpy as np
import torch

MAGIC = 0x50524953  # "PRIS"
VERSION = 1
MARGIN = 0.5
EPS = 1e-5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "dml")


def row_loss(sim_row, label, col_labels):
    pos = torch.masked_select(sim_row, label == col_labels)
    pos = torch.masked_select(pos, pos < 1 - EPS)
    neg = torch.masked_select(sim_row, label != col_labels)
    neg = torch.masked_select(neg, neg > MARGIN)
    loss = torch.sum(-pos + 1)
    if len(neg) > 0:
        loss = loss + torch.sum(neg)
    return loss


def contrastive(rows, row_labels, cols, col_labels, row_keep, divisor):
    sim = torch.matmul(rows, cols.t())
    losses = [row_loss(sim[i], row_labels[i], col_labels) for i in range(rows.shape[0]) if row_keep[i]]
    return sum(losses) / divisor


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def far_from_kinks(sim, same):
    bad = np.abs(sim - MARGIN) < 1e-3
    bad |= np.abs(sim - (1 - EPS)) < 1e-3
    if same:
        np.fill_diagonal(bad, False)  # s_ii = 1 is excluded by the eps rule with room to spare
    return not bad.any()


def make(seed, n, m, d, classes):
    rng = np.random.default_rng(seed)
    while True:
        # Class prototypes plus noise: same-class pairs mostly above the margin, some other-class pairs too.
        proto = unit(rng.standard_normal((classes, d)))
        proto[1] = unit(proto[0] + 0.8 * proto[1])  # two close classes: negatives above the margin
        y = rng.integers(0, classes, n)
        ym = rng.integers(0, classes, m)
        f = unit(proto[y] + 0.45 * rng.standard_normal((n, d))).astype(np.float32)
        v = unit(proto[ym] + 0.45 * rng.standard_normal((m, d))).astype(np.float32)
        keep = (rng.random(n) > 0.35).astype(np.int32)
        if keep.sum() < 2:
            continue
        s_b = f.astype(np.float64) @ f.T.astype(np.float64)
        s_m = f.astype(np.float64) @ v.T.astype(np.float64)
        if far_from_kinks(s_b, True) and far_from_kinks(s_m, False):
            return f, y.astype(np.int32), v, ym.astype(np.int32), keep


def main():
    os.makedirs(OUT, exist_ok=True)
    n, m, d, classes = 12, 40, 16, 5
    f, y, v, ym, keep = make(7, n, m, d, classes)

    fb = torch.tensor(f, requires_grad=True)
    keep_b = torch.tensor(keep.astype(bool))
    sel = fb[keep_b]
    sel_y = torch.tensor(y)[keep_b]
    batch = contrastive(sel, sel_y, sel, sel_y, [True] * int(keep.sum()), int(keep.sum()))
    batch.backward()

    fm = torch.tensor(f, requires_grad=True)
    memory = contrastive(fm, torch.tensor(y), torch.tensor(v), torch.tensor(ym), keep.astype(bool), n)
    memory.backward()

    save = lambda name, a: np.save(os.path.join(OUT, f"contrastive_{name}.npy"), a)
    save("meta", np.array([MAGIC, VERSION, n, m, d], dtype=np.int32))
    save("emb", f)
    save("labels", y)
    save("keep", keep)
    save("memory", v)
    save("memory_labels", ym.astype(np.int64))  # numpy's default integer type, read like int32
    save("batch_loss", np.array([batch.item()], dtype=np.float32))
    save("batch_grad", fb.grad.numpy().astype(np.float32))
    save("memory_loss", np.array([memory.item()], dtype=np.float32))
    save("memory_grad", fm.grad.numpy().astype(np.float32))
    print(f"batch loss {batch.item():.7f} (kept {int(keep.sum())} of {n}), memory loss {memory.item():.7f}")


if __name__ == "__main__":
    main()
