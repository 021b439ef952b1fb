"""triton_ranges forward kernel (Triton JIT code only; the module triton_ranges.py drives it).

Layout: Q/O [B, S, Hq, D], K/V [B, S, Hkv, D] (tokens, heads, dim: the CP layout). A program owns
one row of the forward work list (a query tile of TQ tokens) for one KV head, with the P = Hq / Hkv
query heads of that KV group stacked along M: tile row r is token qt * TQ + r // P, query head
hg * P + r % P. So K/V are read once per group, and a tile of 128 rows holds 128 / P tokens.
P need not be a power of two (groups of 3, 5, 6...): the tile then has NR = TQ * P rows padded to
BM (the power of two >= NR); rows >= NR load zeros and store nothing.

Work list row x = mask head * NROWS + query tile: full runs of key tiles (no mask, no bounds),
then partial tiles, each with the ids of the bands (q0, q1, k0, k1, lo, hi: row in [q0, q1), key
in [k0, k1), lo <= key - row <= hi) that cut it; only partial tiles evaluate the mask (the band
helpers are shared with the backward: triton_ranges_jit.py). Programs are launched longest row
first (ORDER, LPT); the block scheduler hands them to SMs in that order. PERSIST: a grid of one
program per SM instead, program p looping over its share ORDER[PROGS[p] .. PROGS[p + 1]) (the
TypeScript lists deal the rows to programs LPT-greedily).
LSE is stored in log2 units of the scaled scores, [B, S, Hq]; +inf on rows with no key.
Head dim D: a tile has DP columns (D, or the next power of two for D = 80, 96, 192...), columns
>= D masked off in every load and store (triton_ranges_jit.dmask / load_cols).
"""

import triton
import triton.language as tl

from .triton_ranges_jit import band_keep, dmask, first_step, kv_tile, masked_softmax, part_of, run_of, tile_rows


@triton.jit
def row_start(Q, K, V, x, rep, half, b, sqb, sqs, skb, SQ, NROWS, REP,
              P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, D: tl.constexpr, DP: tl.constexpr):
    """Row x's query tile for its rep-th KV head (the half-th BM rows): its tokens, heads, Q and the
    K/V bases (also the gathered forward's, triton_ranges_gather.py)."""
    hg = (x // NROWS) * REP + rep
    qt = x % NROWS
    tok, head, row_ok = tile_rows(qt, hg, half, SQ, P, TQ, NR, BM)
    offs_d = tl.arange(0, DP)
    q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
    q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=dmask(row_ok, offs_d, D, DP), other=0.0)
    kbase = K + b * skb + hg * D
    vbase = V + b * skb + hg * D
    return tok, head, row_ok, q_off, q, kbase, vbase


@triton.jit
def kv_step(q, keep, kbase, vbase, kk, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, MASKED: tl.constexpr,
            D: tl.constexpr, DP: tl.constexpr):
    """One online-softmax step over keys kk + [0, SUBN).
    MASKED False (a full tile; keep unused): every row has keys, so m stays finite; no mask, no bounds.
    MASKED True (a partial tile): (row, key) pairs outside keep masked; keys >= SK read zeros, and a
    row with no key so far keeps m = -inf (masked_softmax)."""
    k = kv_tile(kbase, kk, offs_s, offs_d, sks, SK, MASKED, D, DP)
    if MASKED:
        s = tl.dot(q, tl.trans(k)) * qk_scale
        p, alpha, m_new, l_i = masked_softmax(s, keep, m_i, l_i)
    else:
        s = tl.dot(q, tl.trans(k))
        m_new = tl.maximum(m_i, tl.max(s, 1) * qk_scale)
        p = tl.exp2(s * qk_scale - m_new[:, None])
        alpha = tl.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
    v = kv_tile(vbase, kk, offs_s, offs_d, sks, SK, MASKED, D, DP)
    acc = acc * alpha[:, None]
    acc = tl.dot(p.to(v.dtype), v, acc)
    return m_new, l_i, acc


@triton.jit
def full_runs(q, kbase, vbase, ROWRUNS, RUNS, x, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale,
              TK: tl.constexpr, SUBN: tl.constexpr, D: tl.constexpr, DP: tl.constexpr):
    """Row x's full runs of key tiles, one software-pipelined loop per run."""
    r0 = tl.load(ROWRUNS + x)
    r1 = tl.load(ROWRUNS + x + 1)
    for ri in range(r0, r1):
        c0, c1 = run_of(RUNS, ri)
        for kk in range(c0 * TK, c1 * TK, SUBN):
            m_i, l_i, acc = kv_step(q, None, kbase, vbase, kk, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, False, D, DP)
    return m_i, l_i, acc


@triton.jit
def band_parts(q, tok, kbase, vbase, BANDS, SIDS, ROWPARTS, PARTS, x, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale,
               BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr, MAXB: tl.constexpr, D: tl.constexpr, DP: tl.constexpr):
    """Row x's partial tiles: the mask from the bands that cut each tile, over the key steps they touch."""
    p0 = tl.load(ROWPARTS + x)
    p1 = tl.load(ROWPARTS + x + 1)
    for pi in range(p0, p1):
        c, s0, sn, klo, khi = part_of(PARTS, pi)
        for kk in range(first_step(klo, c, TK, SUBN), khi, SUBN):
            offs_n = kk + offs_s
            keep = band_keep(BANDS, SIDS, s0, sn, tok[:, None], offs_n[None, :], BM, SUBN, MAXB)
            m_i, l_i, acc = kv_step(q, keep, kbase, vbase, kk, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, True, D, DP)
    return m_i, l_i, acc


@triton.jit
def row_end(O, LSE, q_off, offs_d, tok, head, row_ok, b, SQ, HQ, m_i, l_i, acc, D: tl.constexpr, DP: tl.constexpr):
    """Normalizes and stores the row's out, and its LSE (+inf on rows with no key)."""
    l_safe = tl.where(l_i == 0.0, 1.0, l_i)
    o = acc / l_safe[:, None]
    tl.store(O + q_off[:, None] + offs_d[None, :], o.to(O.dtype.element_ty), mask=dmask(row_ok, offs_d, D, DP))
    lse = tl.where(l_i == 0.0, float("inf"), m_i + tl.log2(l_safe))
    tl.store(LSE + b * SQ * HQ + tok.to(tl.int64) * HQ + head, lse, mask=row_ok)


@triton.jit
def _fwd_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, rep, half, b,
             sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale,
             P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
             D: tl.constexpr, MAXB: tl.constexpr, DP: tl.constexpr):
    """Row x of the forward list (mask head x // NROWS, query tile x % NROWS) for its rep-th KV head,
    the half-th BM rows of the tile: its full runs, then its partial tiles."""
    tok, head, row_ok, q_off, q, kbase, vbase = row_start(Q, K, V, x, rep, half, b, sqb, sqs, skb, SQ, NROWS, REP, P, TQ, NR, BM, D, DP)
    offs_d = tl.arange(0, DP)
    offs_s = tl.arange(0, SUBN)
    m_i = tl.full([BM], float("-inf"), tl.float32)
    l_i = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, DP], tl.float32)
    m_i, l_i, acc = full_runs(q, kbase, vbase, ROWRUNS, RUNS, x, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, TK, SUBN, D, DP)
    m_i, l_i, acc = band_parts(q, tok, kbase, vbase, BANDS, SIDS, ROWPARTS, PARTS, x, offs_s, offs_d, sks, SK, m_i, l_i, acc,
                               qk_scale, BM, TK, SUBN, MAXB, D, DP)
    row_end(O, LSE, q_off, offs_d, tok, head, row_ok, b, SQ, HQ, m_i, l_i, acc, D, DP)


@triton.jit
def _fwd(Q, K, V, O, LSE, BANDS, ORDER, PROGS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
         sqb, sqs, skb, sks,
         HQ, SQ, SK, NROWS, REP, qk_scale,
         P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
         D: tl.constexpr, MAXB: tl.constexpr, PERSIST: tl.constexpr, SPLIT: tl.constexpr, DP: tl.constexpr):
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    if PERSIST:  # program pid loops over its LPT share of rows, every KV head of each (SPLIT = 1)
        for j in tl.range(tl.load(PROGS + pid) * REP, tl.load(PROGS + pid + 1) * REP, num_stages=1):
            x = tl.load(ORDER + j // REP)
            _fwd_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, j % REP, 0, b,
                     sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, P, TQ, NR, BM, TK, SUBN, D, MAXB, DP)
    else:  # one program per (row, KV head, SPLIT-th of the tile's rows), launched in LPT order
        x = tl.load(ORDER + pid // (REP * SPLIT))
        r = pid % (REP * SPLIT)
        _fwd_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, r // SPLIT, r % SPLIT, b,
                 sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, P, TQ, NR, BM, TK, SUBN, D, MAXB, DP)


@triton.jit
def _delta(O, DO, DELTA, N, LSE, LSEP, DELTAP, S, HQ, BLOCK: tl.constexpr, D: tl.constexpr, P: tl.constexpr, PACK: tl.constexpr,
           DP: tl.constexpr):
    """DELTA[row] = sum_d O[row, d] * dO[row, d] over the flat rows of [B, S, Hq] (FA2 preprocess).
    PACK (tuning.bwdPackLse): also DELTA and LSE copied to LSEP / DELTAP [B, Hq / P, S, P] (the rows of
    one KV group token-major), in this launch instead of two torch copies."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < N
    offs_d = tl.arange(0, DP)
    ptr = offs[:, None] * D + offs_d[None, :]
    o = tl.load(O + ptr, mask=dmask(ok, offs_d, D, DP), other=0.0).to(tl.float32)
    do = tl.load(DO + ptr, mask=dmask(ok, offs_d, D, DP), other=0.0).to(tl.float32)
    delta = tl.sum(o * do, 1)
    tl.store(DELTA + offs, delta, mask=ok)
    if PACK:  # flat row (b * S + s) * HQ + h -> ((b * HQ / P + h / P) * S + s) * P + h % P
        h = offs % HQ
        t = offs // HQ
        dst = ((t // S) * (HQ // P) + h // P) * S * P + (t % S) * P + h % P
        tl.store(DELTAP + dst, delta, mask=ok)
        tl.store(LSEP + dst, tl.load(LSE + offs, mask=ok), mask=ok)
