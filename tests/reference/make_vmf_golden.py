#!/usr/bin/python3
"""Golden values for vMF-Sim (tests/test_dml_vmf.cpp): ln I_nu(x) on a dense grid, and the vMF clean probability
of a small memory + batch, computed independently of the C++ code in double precision.

Run by hand with Debian's SciPy:  /usr/bin/python3 tests/reference/make_vmf_golden.py
Writes tests/data/dml/log_bessel_grid.json and tests/data/dml/vmf_golden.json (commit them). The product never
needs Python.

ln I_nu(x) = ln(scipy.special.ive(nu, x)) + x wherever ive is a normal double; where it underflows (large nu,
small x) mpmath.besseli at 40 digits. A random tenth of the scipy points is cross-checked against mpmath and
the largest disagreement printed (it bounds the reference's own error).

The vMF golden follows DESIGN §4.11 literally: per class k with m_k rows, r_k = sum of rows, Rbar = |r_k| / m_k,
mu = r_k / |r_k|, kappa = Rbar (d - Rbar^2) / (1 - Rbar^2) clamped to [1e-3, 1e5], single-row classes take the
median kappa of the classes with >= 2 rows; ln C_d = (d/2 - 1) ln kappa - (d/2) ln 2 pi - ln I_{d/2-1}(kappa);
l(i, k) = ln C_d + kappa mu . f_i; P_clean = softmax over the classes with rows at y_i, 1 when y_i has none.
"""
import json
import math
import os

import mpmath
import numpy as np
from scipy.special import ive

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "dml")
mpmath.mp.dps = 40


def log_i_mpmath(nu, x):
    return float(mpmath.log(mpmath.besseli(mpmath.mpf(nu), mpmath.mpf(x))))


def log_i(nu, x):
    v = ive(nu, x)
    if np.isfinite(v) and v > 1e-300:
        return math.log(v) + x, "scipy"
    return log_i_mpmath(nu, x), "mpmath"


def bessel_grid():
    nus = [0, 0.3, 0.5, 1, 1.5, 2, 2.5, 3, 3.7, 4, 5, 7, 7.5, 10, 12, 13.9, 15, 15.5, 16, 17, 20, 25, 31, 31.5,
           40, 50, 63, 64, 100, 127, 128, 200, 255, 255.25, 256, 400, 511, 512, 700, 1000, 1023, 1024]
    xs = sorted(set([float(v) for v in np.logspace(-3, 5, 81)] + [1.0, 16.0, 700.0, 710.0]))
    rng = np.random.default_rng(0)
    rows, worst = [], 0.0
    for nu in nus:
        for x in xs:
            v, src = log_i(nu, x)
            if src == "scipy" and rng.random() < 0.1:
                m = log_i_mpmath(nu, x)
                worst = max(worst, abs(m - v) / max(1.0, abs(m)))
            rows.append((float(nu), x, v, src))
    print(f"ln I grid: {len(rows)} points, {sum(r[3] == 'mpmath' for r in rows)} from mpmath; "
          f"scipy vs mpmath on the cross-checked tenth: max |diff| / max(1, |ln I|) = {worst:.3e}")
    return {"magic": "PRISM-LOG-BESSEL", "version": 1,
            "nu": [r[0] for r in rows], "x": [r[1] for r in rows], "log_i": [r[2] for r in rows],
            "source": [r[3] for r in rows]}


def unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def vmf_case():
    # d = 9 (nu = 3.5, a half-integer order), 6 classes: a tight class, a spread class, two single-row classes,
    # one without rows, one medium. Rows are float32 unit vectors (what the bank stores).
    rng = np.random.default_rng(7)
    d, C = 9, 6
    dirs = unit(rng.normal(size=(C, d)))
    spec = {0: (7, 0.25), 1: (9, 1.5), 2: (1, 0.0), 3: (0, 0.0), 4: (5, 0.6), 5: (1, 0.0)}
    mem, lab = [], []
    for k, (m, spread) in spec.items():
        for _ in range(m):
            mem.append(unit(dirs[k] + spread * rng.normal(size=d)))
            lab.append(k)
    mem = np.asarray(mem, dtype=np.float32)
    lab = np.asarray(lab, dtype=np.int32)
    n = 14
    y = rng.integers(0, C, size=n).astype(np.int32)
    y[0], y[1] = 3, 2  # a sample of the empty class (P = 1) and of a single-row class
    own = rng.random(n) < 0.6  # about 60% near their own class, the rest near another class
    other = (y + 1 + rng.integers(0, C - 1, size=n)) % C
    centre = np.where(own, y, other)
    f = np.asarray(unit(dirs[centre] + 0.5 * rng.normal(size=(n, d))), dtype=np.float32)

    m64, f64 = mem.astype(np.float64), f.astype(np.float64)
    count = np.bincount(lab, minlength=C)
    kappa = np.full(C, np.nan)
    rbar = np.full(C, np.nan)
    mu = np.zeros((C, d))
    for k in range(C):
        if count[k] == 0:
            continue
        r = m64[lab == k].sum(axis=0)
        rbar[k] = np.linalg.norm(r) / count[k]
        mu[k] = r / np.linalg.norm(r)
        if count[k] >= 2:
            R = rbar[k]
            kappa[k] = 1e5 if R >= 1 else min(1e5, max(1e-3, R * (d - R * R) / (1 - R * R)))
    multi = kappa[count >= 2]
    median = float(np.median(multi)) if len(multi) else 1e5
    kappa[count == 1] = median
    nu = d / 2 - 1
    log_c = np.full(C, np.nan)
    for k in range(C):
        if count[k]:
            log_c[k] = (nu * math.log(kappa[k]) - (d / 2) * math.log(2 * math.pi)
                        - (math.log(ive(nu, kappa[k])) + kappa[k]))
    have = count > 0
    ell = log_c[None, :] + kappa[None, :] * (f64 @ mu.T)
    ell[:, ~have] = -np.inf
    mx = ell.max(axis=1, keepdims=True)
    logp_all = ell - mx - np.log(np.exp(ell - mx).sum(axis=1, keepdims=True))
    logp = np.where(count[y] > 0, logp_all[np.arange(n), y], 0.0)
    p = np.exp(logp)
    print(f"vMF case: kappa {np.round(kappa, 4).tolist()}, P_clean {np.round(p, 4).tolist()}")
    null = lambda v: [None if np.isnan(t) else float(t) for t in v]
    return {"magic": "PRISM-VMF", "version": 1, "dim": d, "num_classes": C,
            "memory": mem.reshape(-1).astype(float).tolist(), "memory_labels": lab.tolist(),
            "batch": f.reshape(-1).astype(float).tolist(), "labels": y.tolist(),
            "mean_resultant_length": null(rbar), "kappa": null(kappa), "log_c": null(log_c),
            "p_clean": p.tolist(), "log_p_clean": logp.tolist()}


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "vmf_golden.json"), "w") as fh:
        json.dump(vmf_case(), fh)
    with open(os.path.join(OUT, "log_bessel_grid.json"), "w") as fh:
        json.dump(bessel_grid(), fh)


if __name__ == "__main__":
    main()
