"""triton_ranges forward kernel (Triton JIT code only; the module triton_ranges.py drives it).

Layout: Q/O [B, S, Hq, D], K/V [B, S, Hkv, D] (tokens, heads, dim: the CP layout). A program owns
one row of the forward work list (a query tile of TQ tokens) for one KV head, with the P = Hq / Hkv
query heads of that KV group stacked along M: tile row r is token qt * TQ + r // P, query head
hg * P + r % P. So K/V are read once per group, and a tile of 128 rows holds 128 / P tokens.
P need not be a power of two (groups of 3, 5, 6...): the tile then has NR = TQ * P rows padded to
BM (the power of two >= NR); rows >= NR load zeros and store nothing.

Work list row x = mask head * NROWS + query tile: full runs of key tiles (no mask, no bounds),
then partial tiles, each with the ids of the bands (q0, q1, k0, k1, lo, hi: row in [q0, q1), key
in [k0, k1), lo <= key - row <= hi) that cut it; only partial tiles evaluate the mask. Programs are
launched longest row first (ORDER, LPT); the block scheduler hands them to SMs in that order.
LSE is stored in log2 units of the scaled scores, [B, S, Hq]; +inf on rows with no key.
"""

import triton
import triton.language as tl


@triton.jit
def _band_in(BANDS, SIDS, i, tok, key):
    bid = tl.load(SIDS + i).to(tl.int64) * 6
    q0 = tl.load(BANDS + bid)
    q1 = tl.load(BANDS + bid + 1)
    k0 = tl.load(BANDS + bid + 2)
    k1 = tl.load(BANDS + bid + 3)
    lo = tl.load(BANDS + bid + 4)
    hi = tl.load(BANDS + bid + 5)
    dd = key - tok
    return (tok >= q0) & (tok < q1) & (key >= k0) & (key < k1) & (dd >= lo) & (dd <= hi)


@triton.jit
def band_keep(BANDS, SIDS, s0, sn, tok, key, R: tl.constexpr, C: tl.constexpr, MAXB: tl.constexpr):
    """[R, C] bool: the (query token, key) pairs inside one of the listed bands; tok and key are
    [R, 1] / [1, C] (forward, dQ) or [1, C] / [R, 1] (dK/dV, keys along the rows).
    MAXB = 0: a loop over the sn bands (any number; the loop makes the caller's key-step loop a
    non-innermost loop, which Triton does not software-pipeline). MAXB > 0: unrolled over MAXB
    slots, those >= sn masked off (the caller guarantees sn <= MAXB), so the caller's loop can be
    pipelined (the notes' AOT section)."""
    keep = tl.zeros([R, C], tl.int32)
    if MAXB > 0:
        for u in tl.static_range(MAXB):
            inside = _band_in(BANDS, SIDS, s0 + tl.minimum(u, sn - 1), tok, key)
            keep = tl.where(inside & (u < sn), 1, keep)
    else:
        for u in range(sn):
            keep = tl.where(_band_in(BANDS, SIDS, s0 + u, tok, key), 1, keep)
    return keep != 0


@triton.jit
def _fwd(Q, K, V, O, LSE, BANDS, ORDER, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
         sqb, sqs, skb, sks,
         HQ, SQ, SK, NROWS, REP, qk_scale,
         P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
         D: tl.constexpr, MAXB: tl.constexpr):
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    x = tl.load(ORDER + pid // REP)
    hg = (x // NROWS) * REP + pid % REP
    qt = x % NROWS
    rows = tl.arange(0, BM)
    tok = qt * TQ + rows // P
    head = hg * P + rows % P
    row_ok = tok < SQ
    if NR < BM:  # padded tile (P not a power of two)
        row_ok = row_ok & (rows < NR)
    offs_d = tl.arange(0, D)
    q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
    q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=row_ok[:, None], other=0.0)
    kbase = K + b * skb + hg * D
    vbase = V + b * skb + hg * D
    m_i = tl.full([BM], float("-inf"), tl.float32)
    l_i = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, D], tl.float32)
    offs_s = tl.arange(0, SUBN)
    # Full runs: every row has keys here, so m stays finite; no mask, no bounds.
    r0 = tl.load(ROWRUNS + x)
    r1 = tl.load(ROWRUNS + x + 1)
    for ri in range(r0, r1):
        c0 = tl.load(RUNS + 2 * ri)
        c1 = tl.load(RUNS + 2 * ri + 1)
        for kk in range(c0 * TK, c1 * TK, SUBN):
            offs_n = (kk + offs_s).to(tl.int64)
            k = tl.load(kbase + offs_n[:, None] * sks + offs_d[None, :])
            s = tl.dot(q, tl.trans(k))
            m_new = tl.maximum(m_i, tl.max(s, 1) * qk_scale)
            p = tl.exp2(s * qk_scale - m_new[:, None])
            alpha = tl.exp2(m_i - m_new)
            l_i = l_i * alpha + tl.sum(p, 1)
            v = tl.load(vbase + offs_n[:, None] * sks + offs_d[None, :])
            acc = acc * alpha[:, None]
            acc = tl.dot(p.to(v.dtype), v, acc)
            m_i = m_new
    # Partial tiles: the mask from the bands that cut the tile.
    p0 = tl.load(ROWPARTS + x)
    p1 = tl.load(ROWPARTS + x + 1)
    for pi in range(p0, p1):
        c = tl.load(PARTS + 5 * pi)
        s0 = tl.load(PARTS + 5 * pi + 1)
        sn = tl.load(PARTS + 5 * pi + 2)
        klo = tl.load(PARTS + 5 * pi + 3)  # keys the bands touch in this tile: skip the steps outside
        khi = tl.load(PARTS + 5 * pi + 4)
        for kk in range(klo - (klo - c * TK) % SUBN, khi, SUBN):
            offs_n = kk + offs_s
            col_ok = offs_n < SK
            keep = band_keep(BANDS, SIDS, s0, sn, tok[:, None], offs_n[None, :], BM, SUBN, MAXB)
            k = tl.load(kbase + offs_n.to(tl.int64)[:, None] * sks + offs_d[None, :], mask=col_ok[:, None], other=0.0)
            s = tl.dot(q, tl.trans(k)) * qk_scale
            s = tl.where(keep, s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, 1))
            m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
            p = tl.exp2(s - m_safe[:, None])
            alpha = tl.exp2(m_i - m_safe)
            l_i = l_i * alpha + tl.sum(p, 1)
            v = tl.load(vbase + offs_n.to(tl.int64)[:, None] * sks + offs_d[None, :], mask=col_ok[:, None], other=0.0)
            acc = acc * alpha[:, None]
            acc = tl.dot(p.to(v.dtype), v, acc)
            m_i = m_new
    l_safe = tl.where(l_i == 0.0, 1.0, l_i)
    o = acc / l_safe[:, None]
    tl.store(O + q_off[:, None] + offs_d[None, :], o.to(O.dtype.element_ty), mask=row_ok[:, None])
    lse = tl.where(l_i == 0.0, float("inf"), m_i + tl.log2(l_safe))
    tl.store(LSE + b * SQ * HQ + tok.to(tl.int64) * HQ + head, lse, mask=row_ok)


@triton.jit
def _delta(O, DO, DELTA, N, BLOCK: tl.constexpr, D: tl.constexpr):
    """DELTA[row] = sum_d O[row, d] * dO[row, d] over the flat rows of [B, S, Hq] (FA2 preprocess)."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < N
    offs_d = tl.arange(0, D)
    ptr = offs[:, None] * D + offs_d[None, :]
    o = tl.load(O + ptr, mask=ok[:, None], other=0.0).to(tl.float32)
    do = tl.load(DO + ptr, mask=ok[:, None], other=0.0).to(tl.float32)
    tl.store(DELTA + offs, tl.sum(o * do, 1), mask=ok)
