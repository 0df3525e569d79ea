#!/usr/bin/env python3
"""The cleanlab baseline of `prism audit` (optional comparison, not CI; docs/audit.md, docs/results.md).

Confident learning on the same noisy Fashion-MNIST training labels prism audited: 5-fold out-of-fold
probabilities of a logistic regression on PCA-100 of the pixels, cleanlab.filter.find_label_issues for the
flags, cleanlab.rank.get_label_quality_scores (self-confidence) for the AUROC. The noisy labels and the true
noise flags are read from a prism audit's audit.csv (its `index`, `label` and `noisy` columns; index = the
position in the Fashion-MNIST training file for the closed split), so both tools see exactly the same labels —
or from `prism noise --idx-labels … --out noisy.npy --flags flags.npy` (the same generator and seed the training
uses for symmetric noise).

Needs PyPI cleanlab and scikit-learn:
    /usr/bin/python3 -m venv --system-site-packages /tmp/venv-audit && /tmp/venv-audit/bin/pip install cleanlab
    /tmp/venv-audit/bin/python tests/reference/cleanlab_audit.py --audit-csv runs/audit_sym50/audit.csv
"""
import argparse
import csv
import gzip
import json
import sys
import time

import numpy as np


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[0:4], "big") != 2051:
        sys.exit(f"{path}: not an IDX image file")
    n, rows, cols = (int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(3))
    return np.frombuffer(data, np.uint8, n * rows * cols, 16).reshape(n, rows * cols)


def read_audit_csv(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if "noisy" not in (reader.fieldnames or []):
            sys.exit(f"{path}: no `noisy` column (the audit had no known noise flags)")
        rows = list(reader)
    index = np.array([int(r["index"]) for r in rows])
    labels = np.array([int(r["label"]) for r in rows])
    noisy = np.array([int(r["noisy"]) for r in rows], dtype=bool)
    order = np.argsort(index)
    index, labels, noisy = index[order], labels[order], noisy[order]
    if not np.array_equal(index, np.arange(len(index))):
        sys.exit(f"{path}: the indices are not 0..N-1")
    # Labels as 0..C-1 for cleanlab (the CSV may hold the dataset's own label values).
    _, labels = np.unique(labels, return_inverse=True)
    return labels, noisy


def auroc(score, noisy):
    """P(score of a noisy sample < score of a clean one), ties counted one half (mid-ranks)."""
    from scipy.stats import rankdata
    ranks = rankdata(score)  # ascending: the lowest score has rank 1
    pos, neg = noisy.sum(), (~noisy).sum()
    u = ranks[noisy].sum() - pos * (pos + 1) / 2
    return 1.0 - u / (pos * neg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audit-csv", help="audit.csv of a prism audit with a noisy column")
    ap.add_argument("--labels", help="noisy labels .npy (prism noise --out), with --flags")
    ap.add_argument("--flags", help="noise flags .npy (prism noise --flags)")
    ap.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist", help="IDX directory")
    ap.add_argument("--pca", type=int, default=100)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    t0 = time.time()
    if args.audit_csv:
        labels, noisy = read_audit_csv(args.audit_csv)
    elif args.labels and args.flags:
        labels = np.load(args.labels).astype(np.int64)
        noisy = np.load(args.flags).astype(bool)
        _, labels = np.unique(labels, return_inverse=True)
    else:
        sys.exit("give --audit-csv, or --labels and --flags")
    pixels = read_idx_images(f"{args.fashion_mnist}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    if len(pixels) != len(labels):
        sys.exit(f"{args.audit_csv or args.labels}: {len(labels)} rows, the Fashion-MNIST training file {len(pixels)} images "
                 "(only the closed split without subsets maps index to file position)")
    features = PCA(n_components=args.pca, random_state=args.seed).fit_transform(pixels)
    classes = labels.max() + 1
    pred_probs = np.zeros((len(labels), classes))
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    for train_idx, held_idx in folds.split(features, labels):
        model = LogisticRegression(max_iter=1000)
        model.fit(features[train_idx], labels[train_idx])
        pred_probs[np.ix_(held_idx, model.classes_)] = model.predict_proba(features[held_idx])
    issues = find_label_issues(labels, pred_probs)
    quality = get_label_quality_scores(labels, pred_probs)

    tp = int((issues & noisy).sum())
    precision = tp / max(1, int(issues.sum()))
    recall = tp / max(1, int(noisy.sum()))
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    out = {"samples": int(len(labels)), "noisy": int(noisy.sum()), "flagged": int(issues.sum()),
           "auroc": float(auroc(quality, noisy)), "precision": precision, "recall": recall, "f1": f1,
           "seconds": round(time.time() - t0, 1)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"cleanlab (LogReg on PCA-{args.pca}, {args.folds}-fold): {out['samples']} samples, "
              f"{out['noisy']} noisy, {out['flagged']} flagged — AUROC {out['auroc']:.3f}  precision "
              f"{precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  ({out['seconds']} s)")


if __name__ == "__main__":
    main()
