"""Issue 15: do features of a varlen launch explain the nested-tensor (SDPA '@varlen') rows?

For sdpa_flash / sdpa_efficient, forward and backward, fits t = c0 + sum(a_i x_i) (non-negative
least squares on relative error) with x from: the documents' causal/full work (TFLOP, 'real'),
that work with every document padded to whole 128 x 128 tiles ('pad'), the launched grid of a varlen
kernel (ceil(longest document / 128) x documents x heads, mostly empty programs: 'grid') and a
per-token preprocessing term (S x heads: 'tok'); prints the in-sample and the leave-one-group-out
(S range, heads, family) |error| and the coefficients. Usage: python3 features.py rows.json
"""

import json
import math
import sys

import numpy as np
from scipy.optimize import nnls

RANGES = [("<=2k", 2048), ("4k-8k", 8192), ("12k-32k", 32768), ("40k-64k", 65536), ("128k-256k", 262144)]


def srange(s):
    return next((n for n, hi in RANGES if s <= hi), ">256k")


def features(r, tile=128):
    fpp = (2.5 if r["dir"] == "bwd" else 1) * 4 * 128 * r["hq"] / 1e12
    real = pad = 0.0
    for d in r["docs"]:
        n = math.ceil(d / tile)
        if r["causal"]:
            real += d * (d + 1) / 2
            pad += sum(math.ceil(min(d, (i + 1) * tile) / tile) for i in range(n)) * tile * tile
        else:
            real += d * d
            pad += n * n * tile * tile
    return {"real": real * fpp, "pad": pad * fpp, "grid": math.ceil(max(r["docs"]) / tile) * len(r["docs"]) * r["hq"],
            "tok": r["S"] * r["hq"] * 1e-6}


def fit(X, y):
    beta, _ = nnls(X / y[:, None], np.ones(len(y)))
    return beta


def report(rows, kernel, direction, cols):
    rs = [r for r in rows if r["kernel"] == kernel and r["dir"] == direction]
    F = [features(r) for r in rs]
    X = np.array([[1.0] + [f[c] for c in cols] for f in F])
    y = np.array([r["ms"] for r in rs])
    beta = fit(X, y)
    ins = np.abs(X @ beta / y - 1) * 100
    groups = {}
    for i, r in enumerate(rs):
        for g in (("S", srange(r["S"])), ("heads", f"{r['hq']}:{r['hkv']}"), ("family", r["family"])):
            groups.setdefault(g, []).append(i)
    held = []
    for idx in groups.values():
        train = [i for i in range(len(rs)) if i not in idx]
        if len(train) < 4 or len(idx) == len(rs):
            continue
        held += list(np.abs(X[idx] @ fit(X[train], y[train]) / y[idx] - 1) * 100)
    held = np.array(held)
    print(f"{kernel:15s} {direction} {'+'.join(cols):10s} n={len(rs):3d} in-sample median {np.median(ins):5.1f}% max {ins.max():5.1f}%"
          f" | held out n={len(held)} median {np.median(held):5.1f}% p90 {np.percentile(held, 90):5.1f}% max {held.max():5.1f}%"
          f" | c0, a = {np.array2string(beta, precision=4)}")


def main():
    rows = json.load(open(sys.argv[1]))
    for kernel in ("sdpa_efficient", "sdpa_flash"):
        for direction in ("fwd", "bwd"):
            for cols in (["real"], ["pad"], ["real", "grid"], ["real", "tok"], ["pad", "grid"]):
                report(rows, kernel, direction, cols)


if __name__ == "__main__":
    main()
