"""Flag-rule variants for `prism audit` tried outside prism (optional, not CI; docs/audit.md, "The flag rule,
measured"): precision / recall / F1 of the flags of several rules over the direct weighted kNN vote (k 50,
T 0.1, as prism's knn-weighted) of a finished audit's train_embeddings.npy, against the `noisy` column of its
audit.csv. The rule prism ships (support < 0.5 x the class's mean support) is one of the rows, so its figures
can be checked against audit.json. A reference for choosing the rule, not a second implementation of it.
Needs numpy and scikit-learn (the cleanlab venv of cleanlab_audit.py):
    python tests/reference/audit_flag_variants.py RUN/train_embeddings.npy RUN/audit.csv
"""
import csv
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

emb_path, csv_path = sys.argv[1], sys.argv[2]
rows = sorted(csv.DictReader(open(csv_path)), key=lambda r: int(r['index']))
y = np.array([int(r['label']) for r in rows])
noisy = np.array([int(r['noisy']) for r in rows]).astype(bool)
classes = np.unique(y)
C, yi, N = len(classes), np.searchsorted(classes, y), len(y)
emb = np.load(emb_path).astype(np.float32)
emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
K, T = 50, 0.1
nbr, sim = np.zeros((N, K), np.int64), np.zeros((N, K), np.float32)
for s in range(0, N, 2000):
    S = emb[s:s + 2000] @ emb.T
    S[np.arange(S.shape[0]), np.arange(s, s + S.shape[0])] = -9  # self excluded
    idx = np.argpartition(-S, K, axis=1)[:, :K]
    v = np.take_along_axis(S, idx, 1)
    o = np.argsort(-v, 1)
    nbr[s:s + 2000], sim[s:s + 2000] = np.take_along_axis(idx, o, 1), np.take_along_axis(v, o, 1)
w = np.exp((sim - sim[:, :1]) / T)
w /= w.sum(1, keepdims=True)
P = np.einsum('nk,nkc->nc', w, np.eye(C)[yi][nbr])  # direct weighted shares
own = P[np.arange(N), yi]
class_mean = np.array([own[yi == c].mean() for c in range(C)])
outvoted = P.argmax(1) != yi


def report(name, flags):
    tp = (flags & noisy).sum()
    p, r = tp / max(1, flags.sum()), tp / noisy.sum()
    print('%-48s flagged %6d  P %.3f  R %.3f  F1 %.3f' % (name, flags.sum(), p, r, 2 * p * r / (p + r)))


print('AUROC of the direct share: %.4f' % roc_auc_score(noisy, -own))
report('outvoted (the first rule)', outvoted)
for f in (0.4, 0.5, 0.6, 1.0):
    report('support < %.1f x class mean' % f, own < f * class_mean[yi])
report('outvoted and support < 0.5 x class mean', outvoted & (own < 0.5 * class_mean[yi]))
report('support < 0.3 (fixed)', own < 0.3)
confident = P >= class_mean[None, :]  # confident learning's per-class thresholds on the kNN shares
pick = np.where(confident, P, -1).argmax(1)
report('confident-learning thresholds', confident.any(1) & (pick != yi))
