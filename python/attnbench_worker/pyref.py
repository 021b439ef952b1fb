"""Pure-python attention from slices (float64): inputs, the reference, and error metrics.

Used by the `py_ref` kernel and by tests: it needs no torch, so the protocol and both worker modes
run end to end in CI. Tiny shapes only.
"""

import math
import random

# Slice types as sent on the wire: 0 full, 1 causal, 2 invcausal, 3 bicausal.


def band(q0, q1, k0, k1, t):
    """(q0, q1, k0, k1, lo, hi) with lo <= j - i <= hi; None for unbounded (SPEC 2, src/mask/band.ts)."""
    d = (k1 - k0) - (q1 - q0)
    base = k0 - q0
    lo = base if t in (2, 3) else None
    hi = base + d if t in (1, 3) else None
    return (q0, q1, k0, k1, lo, hi)


def slices_to_bands(q_ranges, k_ranges, types):
    n = len(types)
    return [band(q_ranges[2 * s], q_ranges[2 * s + 1], k_ranges[2 * s], k_ranges[2 * s + 1], types[s]) for s in range(n)]


def dense_from_bands(bands, sq, sk):
    """Row-major list of lists of booleans, by testing every cell against every band."""
    m = [[False] * sk for _ in range(sq)]
    for q0, q1, k0, k1, lo, hi in bands:
        for i in range(max(0, q0), min(sq, q1)):
            row = m[i]
            for j in range(max(0, k0), min(sk, k1)):
                d = j - i
                if (lo is None or d >= lo) and (hi is None or d <= hi):
                    row[j] = True
    return m


def row_ranges(bands, i):
    """Unmasked column ranges of row i (each band gives one contiguous range)."""
    out = []
    for q0, q1, k0, k1, lo, hi in bands:
        if q0 <= i < q1:
            a = k0 if lo is None else max(k0, i + lo)
            b = k1 if hi is None else min(k1, i + hi + 1)
            if b > a:
                out.append((a, b))
    return out


def make_inputs(seed, batch, hq, hkv, s, d):
    rng = random.Random(seed)

    def t(h):
        return [[[[rng.gauss(0.0, 1.0) for _ in range(d)] for _ in range(s)] for _ in range(h)] for _ in range(batch)]

    return t(hq), t(hkv), t(hkv)


def attention_rows(q, k, v, bands_per_head, hq, hkv, scale):
    """The kernel: per row, scores over the row's column ranges, two-pass softmax."""
    group = hq // hkv
    out = []
    for b in range(len(q)):
        ob = []
        for h in range(hq):
            kh = h // group
            bands = bands_per_head[kh if len(bands_per_head) > 1 else 0]
            oh = []
            for i, qi in enumerate(q[b][h]):
                cols = [j for a, e in row_ranges(bands, i) for j in range(a, e)]
                if not cols:
                    oh.append([0.0] * len(qi))
                    continue
                sc = [scale * sum(x * y for x, y in zip(qi, k[b][kh][j])) for j in cols]
                m = max(sc)
                w = [math.exp(x - m) for x in sc]
                z = sum(w)
                oh.append([sum(w[t] * v[b][kh][j][c] for t, j in enumerate(cols)) / z for c in range(len(qi))])
            ob.append(oh)
        out.append(ob)
    return out


def attention_dense(q, k, v, dense_per_head, hq, hkv, scale):
    """The reference: full score rows with the dense mask, as an independent check."""
    group = hq // hkv
    out = []
    for b in range(len(q)):
        ob = []
        for h in range(hq):
            kh = h // group
            mask = dense_per_head[kh if len(dense_per_head) > 1 else 0]
            oh = []
            for i, qi in enumerate(q[b][h]):
                sc = [scale * sum(x * y for x, y in zip(qi, kj)) if mask[i][j] else -math.inf for j, kj in enumerate(k[b][kh])]
                m = max(sc)
                if m == -math.inf:
                    oh.append([0.0] * len(qi))
                    continue
                w = [math.exp(x - m) if x != -math.inf else 0.0 for x in sc]
                z = sum(w)
                oh.append([sum(w[j] * v[b][kh][j][c] for j in range(len(w))) / z for c in range(len(qi))])
            ob.append(oh)
        out.append(ob)
    return out


def abs_errors(a, b):
    """(max abs, mean abs) over two nested lists of equal shape."""
    mx, total, n = 0.0, 0.0, 0
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, list):
            stack.extend(zip(x, y))
        else:
            e = abs(x - y)
            mx = max(mx, e) if not math.isnan(e) else math.inf
            total += e
            n += 1
    return mx, (total / n if n else 0.0)
