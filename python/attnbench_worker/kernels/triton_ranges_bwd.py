"""triton_ranges backward kernels (Triton JIT code only; triton_ranges.py drives them).

FlashAttention-2 algorithm 2 from the forward's LSE and DELTA = rowsum(dO * O):
  _dkdv  key-tile outer over the transposed work list: one program per (key tile, KV head, key
         split of KB keys); the query tiles that see it stack the P query heads of the group along
         the rows, so dK/dV of the KV head are complete in registers (no per-query-head shares).
         Rows are walked in steps of SUBM packed rows (token * P + head) over NR = TQ * P rows per
         query tile; when SUBM does not divide NR (P not a power of two) the steps are bounded.
         With ATOMIC, dQ is added in fp32 atomics from the same dS (fast, not deterministic).
  _dq    the deterministic alternative: query-tile outer over the forward work list.
Only partial tiles evaluate the bands (triton_ranges_jit.band_keep, shared with the forward).
PERSIST (all three launchers): one program per SM looping over its LPT share of the list's rows
(ORDER[PROGS[p] .. PROGS[p + 1]), built by the TypeScript lists), every KV head (and key split)
of each row; otherwise one program per (row, KV head, split) in LPT launch order. Every output
element is written by one program either way, so dK, dV and the dQ pass are deterministic.
Head dim D: tiles of DP columns (the next power of two of D), columns >= D masked off (read as
zeros: they add nothing to S or dP, and their dQ/dK/dV columns are never stored).
"""

import triton
import triton.language as tl

from .triton_ranges_jit import band_keep, dmask, first_step, kv_tile, load_cols, packed_rows, part_of, run_of, tile_rows


@triton.jit
def _dkdv_step(q, do, lse, delta, k, v, dk, dv, keep, qk_scale, MASKED: tl.constexpr, OUT: tl.constexpr = 3):
    """OUT (tuning.bwdOut): 3 dK and dV; 1 dV only (no dP); 2 dK only (wide head dims: one
    accumulator per program, two launches; dsT is only meaningful with dK)."""
    sT = tl.dot(k, tl.trans(q)) * qk_scale  # [KB, SUBM]
    pT = tl.exp2(sT - lse[None, :])
    if MASKED:
        pT = tl.where(keep, pT, 0.0)
    if OUT & 1:
        dv = tl.dot(pT.to(do.dtype), do, dv)
    if OUT & 2:
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - delta[None, :])
        dk = tl.dot(dsT.to(q.dtype), q, dk)
    else:
        dsT = pT
    return dk, dv, dsT


@triton.jit
def _dq_step(q, do, lse, delta, k, v, dq, keep, qk_scale, MASKED: tl.constexpr):
    p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse[:, None])
    if MASKED:
        p = tl.where(keep, p, 0.0)
    dp = tl.dot(do, tl.trans(v))
    ds = p * (dp - delta[:, None])
    return tl.dot(ds.to(k.dtype), k, dq)


@triton.jit
def _dkdv_tile(Q, K, V, DO, LSE, DELTA, DK, DV, DQA, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, rep, split, b,
               sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
               P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, TK: tl.constexpr, KB: tl.constexpr,
               SUBM: tl.constexpr, SUBMP: tl.constexpr, D: tl.constexpr, DP: tl.constexpr, ATOMIC: tl.constexpr, MAXB: tl.constexpr,
               ITEMSP, item, DKP, DVP, NSLOTS, ITEMS: tl.constexpr, PLSE: tl.constexpr = False, OUT: tl.constexpr = 3):
    """Keys [split * KB, (split + 1) * KB) of row x of the backward list (mask head x // NROWS, key
    tile x % NROWS) for its rep-th KV head: dK and dV complete, written once. Full runs step SUBM
    packed rows at a time, partial tiles SUBMP (their band test holds a [KB, SUBMP] mask as well).
    ITEMS (a split list): only item `item` (x, run0, run1, part0, part1, slot) of the row, its runs
    in RUNS = the list's itemRuns (already clipped to the item); a chunk (slot >= 0) writes float32
    partials to slot `slot` of DKP / DVP [B, NSLOTS, REP, TK, D], summed by _dkdv_reduce.
    PLSE: LSE and DELTA come packed as [B, KV heads, S, P] (tuning.bwdPackLse), so the rows of a
    step are contiguous there: one scalar base + the row index, where [B, S, Hq] needs a 64-bit
    address per row (scripts/kernel-aot.py: 14-17% fewer instructions in the full-run loop)."""
    hg = (x // NROWS) * REP + rep
    kt = x % NROWS
    offs_n = kt * TK + split * KB + tl.arange(0, KB)
    col_ok = offs_n < SK
    offs_d = tl.arange(0, DP)
    kv_off = b * skb + offs_n.to(tl.int64)[:, None] * sks + hg * D + offs_d[None, :]
    kv_ok = dmask(col_ok, offs_d, D, DP)
    k = tl.load(K + kv_off, mask=kv_ok, other=0.0)
    v = tl.load(V + kv_off, mask=kv_ok, other=0.0)
    dk = tl.zeros([KB, DP], tl.float32)
    dv = tl.zeros([KB, DP], tl.float32)
    rows = tl.arange(0, SUBM)
    rbase = (b * (HQ // P) + hg) * SQ * P  # PLSE: packed row m = token * P + head of the group at rbase + m
    if ITEMS:  # item (x, run0, run1, part0, part1, slot)
        r0 = tl.load(ITEMSP + 6 * item + 1)
        r1 = tl.load(ITEMSP + 6 * item + 2)
    else:
        r0 = tl.load(ROWRUNS + x)
        r1 = tl.load(ROWRUNS + x + 1)
    for ri in range(r0, r1):
        # run_of(RUNS, ri) inline here: the call moves dkdv d64 pack3's registers by one (scripts/kernel-aot.py)
        c0 = tl.load(RUNS + 2 * ri)
        c1 = tl.load(RUNS + 2 * ri + 1)
        for m0 in range(c0 * NR, c1 * NR, SUBM):  # packed rows of whole query tiles
            tok, head = packed_rows(m0, rows, hg, P, SUBM)
            q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
            r_off = b * SQ * HQ + tok.to(tl.int64) * HQ + head
            if NR % SUBM == 0:  # steps never leave the run: no bounds
                q = load_cols(Q + q_off[:, None] + offs_d[None, :], offs_d, D, DP)
                do = load_cols(DO + q_off[:, None] + offs_d[None, :], offs_d, D, DP)
                if PLSE:
                    lse = tl.load((LSE + (rbase + m0)) + rows)
                    delta = tl.load((DELTA + (rbase + m0)) + rows)
                else:
                    lse = tl.load(LSE + r_off)
                    delta = tl.load(DELTA + r_off)
            else:  # padded tiles (P not a power of two): the last step of a run stops at its end
                row_ok = m0 + rows < c1 * NR
                q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=dmask(row_ok, offs_d, D, DP), other=0.0)
                do = tl.load(DO + q_off[:, None] + offs_d[None, :], mask=dmask(row_ok, offs_d, D, DP), other=0.0)
                if PLSE:
                    lse = tl.load((LSE + (rbase + m0)) + rows, mask=row_ok, other=float("inf"))
                    delta = tl.load((DELTA + (rbase + m0)) + rows, mask=row_ok, other=0.0)
                else:
                    lse = tl.load(LSE + r_off, mask=row_ok, other=float("inf"))
                    delta = tl.load(DELTA + r_off, mask=row_ok, other=0.0)
            dk, dv, dsT = _dkdv_step(q, do, lse, delta, k, v, dk, dv, col_ok[:, None], qk_scale, False, OUT)
            if ATOMIC:
                dq = tl.dot(tl.trans(dsT).to(k.dtype), k) * sm_scale
                if NR % SUBM == 0 and D == DP:
                    tl.atomic_add(DQA + q_off[:, None] + offs_d[None, :], dq, sem="relaxed")
                elif NR % SUBM == 0:
                    tl.atomic_add(DQA + q_off[:, None] + offs_d[None, :], dq, mask=(offs_d < D)[None, :], sem="relaxed")
                else:
                    tl.atomic_add(DQA + q_off[:, None] + offs_d[None, :], dq, mask=dmask(row_ok, offs_d, D, DP), sem="relaxed")
    rowsp = tl.arange(0, SUBMP)
    if ITEMS:
        p0 = tl.load(ITEMSP + 6 * item + 3)
        p1 = tl.load(ITEMSP + 6 * item + 4)
    else:
        p0 = tl.load(ROWPARTS + x)
        p1 = tl.load(ROWPARTS + x + 1)
    for pi in range(p0, p1):
        c, s0, sn, qlo, qhi = part_of(PARTS, pi)  # [qlo, qhi): the query tokens its bands touch
        rq0 = (qlo - c * TQ) * P
        pend = c * NR + (qhi - c * TQ) * P
        for m0 in range(first_step(c * NR + rq0, c, NR, SUBMP), pend, SUBMP):
            tok, head = packed_rows(m0, rowsp, hg, P, SUBMP)
            row_ok = tok < SQ
            if NR % SUBMP != 0:  # a step may reach into the next query tile: not this part's
                row_ok = row_ok & (m0 + rowsp < pend)
            q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
            q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=dmask(row_ok, offs_d, D, DP), other=0.0)
            do = tl.load(DO + q_off[:, None] + offs_d[None, :], mask=dmask(row_ok, offs_d, D, DP), other=0.0)
            if PLSE:
                lse = tl.load((LSE + (rbase + m0)) + rowsp, mask=row_ok, other=float("inf"))
                delta = tl.load((DELTA + (rbase + m0)) + rowsp, mask=row_ok, other=0.0)
            else:
                r_off = b * SQ * HQ + tok.to(tl.int64) * HQ + head
                lse = tl.load(LSE + r_off, mask=row_ok, other=float("inf"))
                delta = tl.load(DELTA + r_off, mask=row_ok, other=0.0)
            keepT = band_keep(BANDS, SIDS, s0, sn, tok[None, :], offs_n[:, None], KB, SUBMP, MAXB)  # [KB, SUBMP]
            dk, dv, dsT = _dkdv_step(q, do, lse, delta, k, v, dk, dv, keepT, qk_scale, True, OUT)
            if ATOMIC:
                dq = tl.dot(tl.trans(dsT).to(k.dtype), k) * sm_scale
                tl.atomic_add(DQA + q_off[:, None] + offs_d[None, :], dq, mask=dmask(row_ok, offs_d, D, DP), sem="relaxed")
    dk = dk * sm_scale
    if ITEMS:
        slot = tl.load(ITEMSP + 6 * item + 5)
        if slot >= 0:  # a chunk of a split row: float32 partials, summed in slot order by _dkdv_reduce
            p_off = (((b * NSLOTS + slot) * REP + rep) * TK + split * KB + tl.arange(0, KB))[:, None] * D + offs_d[None, :]
            if OUT & 2:
                tl.store(DKP + p_off, dk, mask=kv_ok)
            if OUT & 1:
                tl.store(DVP + p_off, dv, mask=kv_ok)
        else:
            if OUT & 2:
                tl.store(DK + kv_off, dk.to(DK.dtype.element_ty), mask=kv_ok)
            if OUT & 1:
                tl.store(DV + kv_off, dv.to(DV.dtype.element_ty), mask=kv_ok)
    else:
        if OUT & 2:
            tl.store(DK + kv_off, dk.to(DK.dtype.element_ty), mask=kv_ok)
        if OUT & 1:
            tl.store(DV + kv_off, dv.to(DV.dtype.element_ty), mask=kv_ok)


@triton.jit
def _dkdv(Q, K, V, DO, LSE, DELTA, DK, DV, DQA, BANDS, ORDER, PROGS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
          sqb, sqs, skb, sks,
          HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
          P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, TK: tl.constexpr, KB: tl.constexpr, NSPLIT: tl.constexpr,
          SUBM: tl.constexpr, SUBMP: tl.constexpr, D: tl.constexpr, ATOMIC: tl.constexpr, MAXB: tl.constexpr, PERSIST: tl.constexpr,
          ITEMSP, DKP, DVP, NSLOTS, ITEMS: tl.constexpr, PLSE: tl.constexpr = False, DP: tl.constexpr = 0, OUT: tl.constexpr = 3):
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    if PERSIST:  # program pid loops over its LPT share of key tiles, every KV head and key split of each (never a split list)
        for j in tl.range(tl.load(PROGS + pid) * (REP * NSPLIT), tl.load(PROGS + pid + 1) * (REP * NSPLIT), num_stages=1):
            x = tl.load(ORDER + j // (REP * NSPLIT))
            rs = j % (REP * NSPLIT)
            _dkdv_tile(Q, K, V, DO, LSE, DELTA, DK, DV, DQA, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
                       x, rs // NSPLIT, rs % NSPLIT, b, sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                       P, TQ, NR, TK, KB, SUBM, SUBMP, D, DP, ATOMIC, MAXB, ITEMSP, 0, DKP, DVP, NSLOTS, False, PLSE, OUT)
    elif ITEMS:  # a split list: one program per (item, KV head, key split), items in LPT order
        rem = pid % (REP * NSPLIT)
        item = pid // (REP * NSPLIT)
        x = tl.load(ITEMSP + 6 * item)
        _dkdv_tile(Q, K, V, DO, LSE, DELTA, DK, DV, DQA, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
                   x, rem // NSPLIT, rem % NSPLIT, b, sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                   P, TQ, NR, TK, KB, SUBM, SUBMP, D, DP, ATOMIC, MAXB, ITEMSP, item, DKP, DVP, NSLOTS, True, PLSE, OUT)
    else:  # one program per (row, KV head, key split), launched in LPT order
        rem = pid % (REP * NSPLIT)
        x = tl.load(ORDER + pid // (REP * NSPLIT))
        _dkdv_tile(Q, K, V, DO, LSE, DELTA, DK, DV, DQA, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
                   x, rem // NSPLIT, rem % NSPLIT, b, sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                   P, TQ, NR, TK, KB, SUBM, SUBMP, D, DP, ATOMIC, MAXB, ITEMSP, 0, DKP, DVP, NSLOTS, False, PLSE, OUT)


@triton.jit
def _dkdv_reduce(DKP, DVP, DK, DV, SPLITROWS, skb, sks, SK, NROWS, REP, NSLOTS,
                 TK: tl.constexpr, RB: tl.constexpr, D: tl.constexpr, DP: tl.constexpr):
    """dK, dV of the split rows: rows (x, slot0, n) of SPLITROWS, the float32 partials of slots
    slot0 .. slot0 + n - 1 summed in slot order (deterministic), per (split row, KV head, RB keys)."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    nb: tl.constexpr = TK // RB
    s = pid // (REP * nb)
    rem = pid % (REP * nb)
    rep = rem // nb
    keys = (rem % nb) * RB + tl.arange(0, RB)
    x = tl.load(SPLITROWS + 3 * s)
    slot0 = tl.load(SPLITROWS + 3 * s + 1)
    n = tl.load(SPLITROWS + 3 * s + 2)
    offs_n = (x % NROWS) * TK + keys
    offs_d = tl.arange(0, DP)
    ok = dmask(offs_n < SK, offs_d, D, DP)
    dk = tl.zeros([RB, DP], tl.float32)
    dv = tl.zeros([RB, DP], tl.float32)
    for j in range(0, n):
        p_off = (((b * NSLOTS + slot0 + j) * REP + rep) * TK + keys)[:, None] * D + offs_d[None, :]
        dk += tl.load(DKP + p_off, mask=ok, other=0.0)
        dv += tl.load(DVP + p_off, mask=ok, other=0.0)
    kv_off = b * skb + offs_n.to(tl.int64)[:, None] * sks + ((x // NROWS) * REP + rep) * D + offs_d[None, :]
    tl.store(DK + kv_off, dk.to(DK.dtype.element_ty), mask=ok)
    tl.store(DV + kv_off, dv.to(DV.dtype.element_ty), mask=ok)


@triton.jit
def _dq_row(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, rep, half, b,
            sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
            P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
            D: tl.constexpr, MAXB: tl.constexpr, DP: tl.constexpr):
    """dQ of row x of the forward list for its rep-th KV head (the query heads of the group), written once."""
    hg = (x // NROWS) * REP + rep
    qt = x % NROWS
    tok, head, row_ok = tile_rows(qt, hg, half, SQ, P, TQ, NR, BM)
    offs_d = tl.arange(0, DP)
    q_off = b * sqb + tok.to(tl.int64) * sqs + head * D
    qd_ok = dmask(row_ok, offs_d, D, DP)
    q = tl.load(Q + q_off[:, None] + offs_d[None, :], mask=qd_ok, other=0.0)
    do = tl.load(DO + q_off[:, None] + offs_d[None, :], mask=qd_ok, other=0.0)
    r_off = b * SQ * HQ + tok.to(tl.int64) * HQ + head
    lse = tl.load(LSE + r_off, mask=row_ok, other=float("inf"))
    delta = tl.load(DELTA + r_off, mask=row_ok, other=0.0)
    kbase = K + b * skb + hg * D
    vbase = V + b * skb + hg * D
    dq = tl.zeros([BM, DP], tl.float32)
    offs_s = tl.arange(0, SUBN)
    r0 = tl.load(ROWRUNS + x)
    r1 = tl.load(ROWRUNS + x + 1)
    for ri in range(r0, r1):
        c0, c1 = run_of(RUNS, ri)
        for kk in range(c0 * TK, c1 * TK, SUBN):
            k = kv_tile(kbase, kk, offs_s, offs_d, sks, SK, False, D, DP)
            v = kv_tile(vbase, kk, offs_s, offs_d, sks, SK, False, D, DP)
            dq = _dq_step(q, do, lse, delta, k, v, dq, None, qk_scale, False)
    p0 = tl.load(ROWPARTS + x)
    p1 = tl.load(ROWPARTS + x + 1)
    for pi in range(p0, p1):
        c, s0, sn, klo, khi = part_of(PARTS, pi)  # [klo, khi): the keys its bands touch
        for kk in range(first_step(klo, c, TK, SUBN), khi, SUBN):
            offs_n = kk + offs_s
            keep = band_keep(BANDS, SIDS, s0, sn, tok[:, None], offs_n[None, :], BM, SUBN, MAXB)
            k = kv_tile(kbase, kk, offs_s, offs_d, sks, SK, True, D, DP)
            v = kv_tile(vbase, kk, offs_s, offs_d, sks, SK, True, D, DP)
            dq = _dq_step(q, do, lse, delta, k, v, dq, keep, qk_scale, True)
    dq = dq * sm_scale
    tl.store(DQ + q_off[:, None] + offs_d[None, :], dq.to(DQ.dtype.element_ty), mask=qd_ok)


@triton.jit
def _dq(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ORDER, PROGS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
        sqb, sqs, skb, sks,
        HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
        P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
        D: tl.constexpr, MAXB: tl.constexpr, PERSIST: tl.constexpr, SPLIT: tl.constexpr, DP: tl.constexpr):
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    if PERSIST:  # the forward list's LPT shares (SPLIT = 1)
        for j in tl.range(tl.load(PROGS + pid) * REP, tl.load(PROGS + pid + 1) * REP, num_stages=1):
            x = tl.load(ORDER + j // REP)
            _dq_row(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, j % REP, 0, b,
                    sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale, P, TQ, NR, BM, TK, SUBN, D, MAXB, DP)
    else:  # one program per (row, KV head, SPLIT-th of the tile's rows)
        x = tl.load(ORDER + pid // (REP * SPLIT))
        r = pid % (REP * SPLIT)
        _dq_row(Q, K, V, DO, LSE, DELTA, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, x, r // SPLIT, r % SPLIT, b,
                sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale, P, TQ, NR, BM, TK, SUBN, D, MAXB, DP)


@triton.jit
def _bwd(Q, K, V, DO, LSE, DELTA, DK, DV, DQ, BANDS,
         ORDER, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS, FORDER, FROWRUNS, FRUNS, FROWPARTS, FPARTS, FSIDS,
         sqb, sqs, skb, sks,
         HQ, SQ, SK, NROWS, FNROWS, REP, NDKDV, qk_scale, sm_scale,
         P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, KB: tl.constexpr,
         NSPLIT: tl.constexpr, SUBM: tl.constexpr, SUBMP: tl.constexpr, SUBN: tl.constexpr, D: tl.constexpr, MAXB: tl.constexpr,
         FMAXB: tl.constexpr, SPLIT: tl.constexpr, ITEMSP, DKP, DVP, NSLOTS, ITEMS: tl.constexpr,
         LSEP=None, DELTAP=None, PLSE: tl.constexpr = False, DP: tl.constexpr = 0):
    """dK/dV and dQ in one launch (flex's backward does this): programs [0, NDKDV) are _dkdv's (the
    backward list, LPT order), the rest _dq's (the forward list, F*, LPT order), so dQ programs fill
    the SMs that the dK/dV tail leaves idle and neither pass waits for the other's launch. ITEMS: the
    dK/dV programs are a split list's items (RUNS = its itemRuns), chunks summed by _dkdv_reduce after.
    PLSE: the dK/dV programs read LSEP / DELTAP (packed [B, KV heads, S, P]), the dQ programs LSE / DELTA."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    if ITEMS and pid < NDKDV:
        item = pid // (REP * NSPLIT)
        rem = pid % (REP * NSPLIT)
        x = tl.load(ITEMSP + 6 * item)
        _dkdv_tile(Q, K, V, DO, LSEP if PLSE else LSE, DELTAP if PLSE else DELTA, DK, DV, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
                   x, rem // NSPLIT, rem % NSPLIT, b, sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                   P, TQ, NR, TK, KB, SUBM, SUBMP, D, DP, False, MAXB, ITEMSP, item, DKP, DVP, NSLOTS, True, PLSE)
    elif pid < NDKDV:
        rem = pid % (REP * NSPLIT)
        x = tl.load(ORDER + pid // (REP * NSPLIT))
        _dkdv_tile(Q, K, V, DO, LSEP if PLSE else LSE, DELTAP if PLSE else DELTA, DK, DV, DQ, BANDS, ROWRUNS, RUNS, ROWPARTS, PARTS, SIDS,
                   x, rem // NSPLIT, rem % NSPLIT, b, sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, sm_scale,
                   P, TQ, NR, TK, KB, SUBM, SUBMP, D, DP, False, MAXB, ORDER, 0, DK, DV, 0, False, PLSE)  # whole rows
    else:
        j = pid - NDKDV
        x = tl.load(FORDER + j // (REP * SPLIT))
        r = j % (REP * SPLIT)
        _dq_row(Q, K, V, DO, LSE, DELTA, DQ, BANDS, FROWRUNS, FRUNS, FROWPARTS, FPARTS, FSIDS, x, r // SPLIT, r % SPLIT, b,
                sqb, sqs, skb, sks, HQ, SQ, SK, FNROWS, REP, qk_scale, sm_scale, P, TQ, NR, BM, TK, SUBN, D, FMAXB, DP)
