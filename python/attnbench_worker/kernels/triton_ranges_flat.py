"""triton_ranges: the forward, the dQ pass and dK/dV as ONE software-pipelined loop per program
(tuning fwdFlat = 1, dqFlat = 1, bwdFlat = 1).

The default forward (triton_ranges_fwd.py) walks a row's full runs and partial tiles as nested
loops: each run is its own pipelined loop (prologue per run), and the partial-tile loop is not
pipelined at all (its nested band loop makes it non-innermost). On document masks a row has one
short run and one or two partial tiles of one or two 64-key steps each, so most steps load K/V
synchronously. Here a row's steps (its runs' key steps, then its partial tiles' steps) are one
flat loop: the next step's key offset comes from loop-carried segment state (scalar loads of the
run / partial-tile headers), so Triton's pipeliner prefetches across runs and tiles. Only partial
steps evaluate the mask (a uniform branch), with at most MAXB bands unrolled per pass; a partial
tile cut by more bands is walked once per group of MAXB bands (the bands of one mask are
disjoint, so each (row, key) pair is kept in exactly one pass and the online softmax adds the
passes exactly).
"""

import triton
import triton.language as tl

from .triton_ranges_jit import band_keep, first_step, packed_rows, tile_rows


@triton.jit
def _segment(RUNS, PARTS, r0, nr, p0, seg, T: tl.constexpr, STEP: tl.constexpr,
             ROWS: tl.constexpr = False, TQ: tl.constexpr = 1, P: tl.constexpr = 1):
    """Segment seg of a row: run r0 + seg (seg < nr) or partial tile p0 + seg - nr ->
    (first column, end column, partial?, first band slot, band count). Columns are keys (forward,
    dQ: T = TK) or, with ROWS, packed query rows of the transposed list (dK/dV: T = NR rows per
    query tile of TQ tokens x P heads; a partial tile's [lo, hi) are query tokens)."""
    is_run = seg < nr
    ri = r0 + seg
    pi = p0 + seg - nr
    c0 = tl.load(RUNS + 2 * ri, mask=is_run, other=0)
    c1 = tl.load(RUNS + 2 * ri + 1, mask=is_run, other=0)
    c = tl.load(PARTS + 5 * pi, mask=not is_run, other=0)
    s0 = tl.load(PARTS + 5 * pi + 1, mask=not is_run, other=0)
    sn = tl.load(PARTS + 5 * pi + 2, mask=not is_run, other=0)
    lo = tl.load(PARTS + 5 * pi + 3, mask=not is_run, other=0)
    hi = tl.load(PARTS + 5 * pi + 4, mask=not is_run, other=0)
    if ROWS:
        lo = c * T + (lo - c * TQ) * P
        hi = c * T + (hi - c * TQ) * P
    k0 = tl.where(is_run, c0 * T, first_step(lo, c, T, STEP))
    k1 = tl.where(is_run, c1 * T, hi)
    return k0, k1, (not is_run), s0, sn


@triton.jit
def _steps(RUNS, PARTS, r0, r1, p0, p1, T: tl.constexpr, STEP: tl.constexpr, MAXB: tl.constexpr,
           ROWS: tl.constexpr = False, TQ: tl.constexpr = 1, P: tl.constexpr = 1):
    """Inner steps of a row: its runs' steps plus each partial tile's steps x band passes."""
    n = 0
    for ri in range(r0, r1):
        n += tl.cdiv((tl.load(RUNS + 2 * ri + 1) - tl.load(RUNS + 2 * ri)) * T, STEP)
    for pi in range(p0, p1):
        c = tl.load(PARTS + 5 * pi)
        sn = tl.load(PARTS + 5 * pi + 2)
        lo = tl.load(PARTS + 5 * pi + 3)
        hi = tl.load(PARTS + 5 * pi + 4)
        if ROWS:
            lo = c * T + (lo - c * TQ) * P
            hi = c * T + (hi - c * TQ) * P
        n += tl.cdiv(hi - first_step(lo, c, T, STEP), STEP) * tl.cdiv(sn, MAXB)
    return n


@triton.jit
def _next(RUNS, PARTS, r0, nr, p0, seg, kk, kstart, kend, isp, s0, sn, T: tl.constexpr, STEP: tl.constexpr, MAXB: tl.constexpr,
          ROWS: tl.constexpr = False, TQ: tl.constexpr = 1, P: tl.constexpr = 1):
    """The step after column kk: the same segment, the next band pass of a partial tile (its
    columns again, the next MAXB bands), or the next segment (scalar loads of its header)."""
    kk += STEP
    done = kk >= kend
    again = done & isp & (sn > MAXB)
    nxt = done & (not again)
    seg += nxt.to(tl.int32)
    nk, ne, nisp, ns0, nsn = _segment(RUNS, PARTS, r0, nr, p0, seg, T, STEP, ROWS, TQ, P)
    kk = tl.where(again, kstart, tl.where(nxt, nk, kk))
    kstart = tl.where(nxt, nk, kstart)
    kend = tl.where(nxt, ne, kend)
    s0 = tl.where(again, s0 + MAXB, tl.where(nxt, ns0, s0))
    sn = tl.where(again, sn - MAXB, tl.where(nxt, nsn, sn))
    isp = tl.where(nxt, nisp, isp)
    return seg, kk, kstart, kend, isp, s0, sn


@triton.jit
def _fwd_flat_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, rep, half, b,
                  sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale,
                  P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
                  D: tl.constexpr, MAXB: tl.constexpr, STAGES: tl.constexpr):
    hg = (x // NROWS) * REP + rep
    qt = x % NROWS
    tok, head, row_ok = tile_rows(qt, hg, half, SQ, P, TQ, NR, BM)
    offs_d = tl.arange(0, D)
    q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
    q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=row_ok[:, None], other=0.0)
    kbase = K + b * skb + hg * D
    vbase = V + b * skb + hg * D
    m_i = tl.full([BM], float("-inf"), tl.float32)
    l_i = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, D], tl.float32)
    offs_s = tl.arange(0, SUBN)
    r0 = tl.load(ROWRUNS + x)
    r1 = tl.load(ROWRUNS + x + 1)
    p0 = tl.load(ROWPARTS + x)
    p1 = tl.load(ROWPARTS + x + 1)
    nr = r1 - r0
    n = _steps(RUNS, PARTS, r0, r1, p0, p1, TK, SUBN, MAXB)
    seg = 0
    kk, kend, isp, s0, sn = _segment(RUNS, PARTS, r0, nr, p0, seg, TK, SUBN)
    kstart = kk
    for _j in tl.range(0, n, num_stages=STAGES):
        offs_n = kk + offs_s
        kv_ok = offs_n < SK
        kp = offs_n.to(tl.int64)[:, None] * sks + offs_d[None, :]
        k = tl.load(kbase + kp, mask=kv_ok[:, None], other=0.0)
        v = tl.load(vbase + kp, mask=kv_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale
        if isp:
            keep = band_keep(BANDS, SIDS, s0, tl.minimum(sn, MAXB), tok[:, None], offs_n[None, :], BM, SUBN, MAXB)
            s = tl.where(keep, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.exp2(s - m_safe[:, None])
        alpha = tl.exp2(m_i - m_safe)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(v.dtype), v, acc)
        m_i = m_new
        seg, kk, kstart, kend, isp, s0, sn = _next(RUNS, PARTS, r0, nr, p0, seg, kk, kstart, kend, isp, s0, sn, TK, SUBN, MAXB)
    l_safe = tl.where(l_i == 0.0, 1.0, l_i)
    o = acc / l_safe[:, None]
    tl.store(O + q_off[:, None] + offs_d[None, :], o.to(O.dtype.element_ty), mask=row_ok[:, None])
    lse = tl.where(l_i == 0.0, float("inf"), m_i + tl.log2(l_safe))
    tl.store(LSE + b * SQ * HQ + tok.to(tl.int64) * HQ + head, lse, mask=row_ok)


@triton.jit
def _fwd_flat(Q, K, V, O, LSE, BANDS, ORDER, PROGS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
              sqb, sqs, skb, sks,
              HQ, SQ, SK, NROWS, REP, qk_scale,
              P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
              D: tl.constexpr, MAXB: tl.constexpr, PERSIST: tl.constexpr, SPLIT: tl.constexpr, STAGES: tl.constexpr):
    """One program per (row, KV head, SPLIT-th of the tile's rows), launched in LPT order (PERSIST unsupported)."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    x = tl.load(ORDER + pid // (REP * SPLIT))
    r = pid % (REP * SPLIT)
    _fwd_flat_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, r // SPLIT, r % SPLIT, b,
                  sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, P, TQ, NR, BM, TK, SUBN, D, MAXB, STAGES)


@triton.jit
def _dq_flat_row(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, rep, half, b,
                 sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                 P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
                 D: tl.constexpr, MAXB: tl.constexpr, STAGES: tl.constexpr):
    """dQ of row x of the forward list for its rep-th KV head, in one pipelined loop (as _fwd_flat_row)."""
    hg = (x // NROWS) * REP + rep
    qt = x % NROWS
    tok, head, row_ok = tile_rows(qt, hg, half, SQ, P, TQ, NR, BM)
    offs_d = tl.arange(0, D)
    q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
    q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=row_ok[:, None], other=0.0)
    do = tl.load(DO + q_off[:, None] + offs_d[None, :], mask=row_ok[:, None], other=0.0)
    r_off = b * SQ * HQ + tok.to(tl.int64) * HQ + head
    lse = tl.load(LSE + r_off, mask=row_ok, other=float("inf"))
    delta = tl.load(DELTA + r_off, mask=row_ok, other=0.0)
    kbase = K + b * skb + hg * D
    vbase = V + b * skb + hg * D
    dq = tl.zeros([BM, D], tl.float32)
    offs_s = tl.arange(0, SUBN)
    r0 = tl.load(ROWRUNS + x)
    r1 = tl.load(ROWRUNS + x + 1)
    p0 = tl.load(ROWPARTS + x)
    p1 = tl.load(ROWPARTS + x + 1)
    nr = r1 - r0
    n = _steps(RUNS, PARTS, r0, r1, p0, p1, TK, SUBN, MAXB)
    seg = 0
    kk, kend, isp, s0, sn = _segment(RUNS, PARTS, r0, nr, p0, seg, TK, SUBN)
    kstart = kk
    for _j in tl.range(0, n, num_stages=STAGES):
        offs_n = kk + offs_s
        kv_ok = offs_n < SK
        kp = offs_n.to(tl.int64)[:, None] * sks + offs_d[None, :]
        k = tl.load(kbase + kp, mask=kv_ok[:, None], other=0.0)
        v = tl.load(vbase + kp, mask=kv_ok[:, None], other=0.0)
        p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse[:, None])
        if isp:
            keep = band_keep(BANDS, SIDS, s0, tl.minimum(sn, MAXB), tok[:, None], offs_n[None, :], BM, SUBN, MAXB)
            p = tl.where(keep, p, 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - delta[:, None])
        dq = tl.dot(ds.to(k.dtype), k, dq)
        seg, kk, kstart, kend, isp, s0, sn = _next(RUNS, PARTS, r0, nr, p0, seg, kk, kstart, kend, isp, s0, sn, TK, SUBN, MAXB)
    dq = dq * sm_scale
    tl.store(DQ + q_off[:, None] + offs_d[None, :], dq.to(DQ.dtype.element_ty), mask=row_ok[:, None])


@triton.jit
def _dq_flat(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ORDER, PROGS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
             sqb, sqs, skb, sks,
             HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
             P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
             D: tl.constexpr, MAXB: tl.constexpr, PERSIST: tl.constexpr, SPLIT: tl.constexpr, STAGES: tl.constexpr):
    """The dQ pass in one pipelined loop per program (tuning dqFlat = 1; PERSIST unsupported)."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    x = tl.load(ORDER + pid // (REP * SPLIT))
    r = pid % (REP * SPLIT)
    _dq_flat_row(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, r // SPLIT, r % SPLIT, b,
                 sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale, P, TQ, NR, BM, TK, SUBN, D, MAXB, STAGES)


@triton.jit
def _dkdv_flat_tile(Q, K, V, DO, LSE, DELTA, DK, DV, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, rep, split, b,
                    sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                    P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, TK: tl.constexpr, KB: tl.constexpr,
                    SUBM: tl.constexpr, D: tl.constexpr, MAXB: tl.constexpr, STAGES: tl.constexpr):
    """Keys [split * KB, (split + 1) * KB) of row x of the backward list for its rep-th KV head, its
    packed query rows (runs of whole query tiles, then partial tiles) in one pipelined loop; dK and
    dV complete, written once (no dQ atomics here: the dQ pass computes dQ)."""
    hg = (x // NROWS) * REP + rep
    kt = x % NROWS
    offs_n = kt * TK + split * KB + tl.arange(0, KB)
    col_ok = offs_n < SK
    offs_d = tl.arange(0, D)
    kv_off = b * skb + offs_n.to(tl.int64)[:, None] * sks + hg * D + offs_d[None, :]
    k = tl.load(K + kv_off, mask=col_ok[:, None], other=0.0)
    v = tl.load(V + kv_off, mask=col_ok[:, None], other=0.0)
    dk = tl.zeros([KB, D], tl.float32)
    dv = tl.zeros([KB, D], tl.float32)
    rows = tl.arange(0, SUBM)
    r0 = tl.load(ROWRUNS + x)
    r1 = tl.load(ROWRUNS + x + 1)
    p0 = tl.load(ROWPARTS + x)
    p1 = tl.load(ROWPARTS + x + 1)
    nr = r1 - r0
    n = _steps(RUNS, PARTS, r0, r1, p0, p1, NR, SUBM, MAXB, True, TQ, P)
    seg = 0
    m0, mend, isp, s0, sn = _segment(RUNS, PARTS, r0, nr, p0, seg, NR, SUBM, True, TQ, P)
    mstart = m0
    for _j in tl.range(0, n, num_stages=STAGES):
        tok, head = packed_rows(m0, rows, hg, P, SUBM)
        row_ok = (m0 + rows < mend) & (tok < SQ)
        q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
        r_off = b * SQ * HQ + tok.to(tl.int64) * HQ + head
        q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=row_ok[:, None], other=0.0)
        do = tl.load(DO + q_off[:, None] + offs_d[None, :], mask=row_ok[:, None], other=0.0)
        lse = tl.load(LSE + r_off, mask=row_ok, other=float("inf"))
        delta = tl.load(DELTA + r_off, mask=row_ok, other=0.0)
        sT = tl.dot(k, tl.trans(q)) * qk_scale  # [KB, SUBM]
        pT = tl.exp2(sT - lse[None, :])
        if isp:
            keepT = band_keep(BANDS, SIDS, s0, tl.minimum(sn, MAXB), tok[None, :], offs_n[:, None], KB, SUBM, MAXB)
            pT = tl.where(keepT, pT, 0.0)
        dv = tl.dot(pT.to(do.dtype), do, dv)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - delta[None, :])
        dk = tl.dot(dsT.to(q.dtype), q, dk)
        seg, m0, mstart, mend, isp, s0, sn = _next(RUNS, PARTS, r0, nr, p0, seg, m0, mstart, mend, isp, s0, sn, NR, SUBM, MAXB, True, TQ, P)
    dk = dk * sm_scale
    tl.store(DK + kv_off, dk.to(DK.dtype.element_ty), mask=col_ok[:, None])
    tl.store(DV + kv_off, dv.to(DV.dtype.element_ty), mask=col_ok[:, None])


@triton.jit
def _dkdv_flat(Q, K, V, DO, LSE, DELTA, DK, DV, BANDS, ORDER, PROGS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
               sqb, sqs, skb, sks,
               HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
               P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, TK: tl.constexpr, KB: tl.constexpr, NSPLIT: tl.constexpr,
               SUBM: tl.constexpr, D: tl.constexpr, MAXB: tl.constexpr, STAGES: tl.constexpr):
    """dK/dV in one pipelined loop per program (tuning bwdFlat = 1): one program per (row, KV head, key split)."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    rem = pid % (REP * NSPLIT)
    x = tl.load(ORDER + pid // (REP * NSPLIT))
    _dkdv_flat_tile(Q, K, V, DO, LSE, DELTA, DK, DV, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
                    x, rem // NSPLIT, rem % NSPLIT, b, sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                    P, TQ, NR, TK, KB, SUBM, D, MAXB, STAGES)
