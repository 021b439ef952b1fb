"""Pure-python attention from slices (float64): inputs, the reference, and error metrics.

Used by the `py_ref` kernel and by tests: it needs no torch, so the protocol and both worker modes
run end to end in CI. Tiny shapes only.
"""

import math
import random

from .slicemask import band, bands_from_lists, dense_from_bands, row_ranges  # noqa: F401 - the one slice semantics

slices_to_bands = bands_from_lists  # flat wire arrays -> bands


def make_inputs(seed, batch, hq, hkv, s, d):
    rng = random.Random(seed)

    def t(h):
        return [[[[rng.gauss(0.0, 1.0) for _ in range(d)] for _ in range(s)] for _ in range(h)] for _ in range(batch)]

    return t(hq), t(hkv), t(hkv)


def _each_row(q, per_head, hq, hkv, row):
    """[batch][q head][row] of row(b, kv head, that head's mask, i, q row): query head h reads KV
    head h // (hq / hkv) and its mask (one mask for every head when per_head has one)."""
    group = hq // hkv
    out = []
    for b in range(len(q)):
        ob = []
        for h in range(hq):
            kh = h // group
            mask = per_head[kh if len(per_head) > 1 else 0]
            ob.append([row(b, kh, mask, i, qi) for i, qi in enumerate(q[b][h])])
        out.append(ob)
    return out


def _softmax_mix(scores, values, d):
    """sum_t softmax(scores)_t * values[t] (a [d] list); -inf scores weigh 0; zeros when no score is finite."""
    m = max(scores, default=-math.inf)
    if m == -math.inf:
        return [0.0] * d
    w = [math.exp(x - m) if x != -math.inf else 0.0 for x in scores]
    z = sum(w)
    return [sum(w[t] * values[t][c] for t in range(len(w))) / z for c in range(d)]


def attention_rows(q, k, v, bands_per_head, hq, hkv, scale):
    """The kernel: per row, scores over the row's column ranges only."""

    def row(b, kh, bands, i, qi):
        cols = [j for a, e in row_ranges(bands, i) for j in range(a, e)]
        sc = [scale * sum(x * y for x, y in zip(qi, k[b][kh][j])) for j in cols]
        return _softmax_mix(sc, [v[b][kh][j] for j in cols], len(qi))

    return _each_row(q, bands_per_head, hq, hkv, row)


def attention_dense(q, k, v, dense_per_head, hq, hkv, scale):
    """The reference: full score rows with the dense mask, as an independent check of the slice semantics."""

    def row(b, kh, mask, i, qi):
        sc = [scale * sum(x * y for x, y in zip(qi, kj)) if mask[i][j] else -math.inf for j, kj in enumerate(k[b][kh])]
        return _softmax_mix(sc, v[b][kh], len(qi))

    return _each_row(q, dense_per_head, hq, hkv, row)


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
