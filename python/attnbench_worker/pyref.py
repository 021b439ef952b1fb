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
