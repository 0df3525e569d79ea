"""Scorer variants for `prism audit` tried outside prism (optional, not CI; docs/audit.md): the AUROC of kNN
label votes over a finished audit's train_embeddings.npy and audit.csv for k in {50, 100}, T in {0.05, 0.1, 0.2},
0-4 further propagation steps and label spreading (alpha 0.5/0.8/0.9, 10 iterations). A reference for choosing
the scorer, not a second implementation of it. Needs numpy and scikit-learn (the cleanlab venv of
cleanlab_audit.py):
    python tests/reference/audit_scorer_variants.py RUN/train_embeddings.npy RUN/audit.csv RUN/neighbours.npz
"""
import numpy as np, sys, csv, os
from sklearn.metrics import roc_auc_score
emb_path, csv_path, cache = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(csv_path))); rows.sort(key=lambda r: int(r['index']))
y = np.array([int(r['label']) for r in rows]); noisy = np.array([int(r['noisy']) for r in rows])
classes = np.unique(y); C = len(classes); yi = np.searchsorted(classes, y); N = len(y)
K = 100
if os.path.exists(cache):
    z = np.load(cache); nbr, sim = z['nbr'], z['sim']
else:
    emb = np.load(emb_path).astype(np.float32); emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    nbr = np.zeros((N, K), np.int64); sim = np.zeros((N, K), np.float32)
    for s in range(0, N, 2000):
        S = emb[s:s+2000] @ emb.T
        S[np.arange(S.shape[0]), np.arange(s, s+S.shape[0])] = -9
        idx = np.argpartition(-S, K, axis=1)[:, :K]
        v = np.take_along_axis(S, idx, 1); o = np.argsort(-v, 1)
        nbr[s:s+2000] = np.take_along_axis(idx, o, 1); sim[s:s+2000] = np.take_along_axis(v, o, 1)
    np.savez(cache, nbr=nbr, sim=sim)
A = lambda s: roc_auc_score(noisy, -s)
Y = np.eye(C)[yi]
for k in (50, 100):
  for T in (0.05, 0.1, 0.2):
    w = np.exp((sim[:, :k] - sim[:, :1]) / T); w /= w.sum(1, keepdims=True)
    prop = lambda F: np.einsum('nk,nkc->nc', w, F[nbr[:, :k]])
    P = prop(Y); res = [A(P[np.arange(N), yi])]
    F = P
    for step in range(4):
        F = prop(F); res.append(A(F[np.arange(N), yi]))
    out = []
    for alpha in (0.5, 0.8, 0.9):
        F = Y.copy()
        for it in range(10): F = alpha * prop(F) + (1 - alpha) * Y
        out.append((alpha, round(A(F[np.arange(N), yi]), 4)))
    print(k, T, 'steps', [round(r, 4) for r in res], 'spread', out, flush=True)
