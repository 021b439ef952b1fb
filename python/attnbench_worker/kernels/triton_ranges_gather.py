"""triton_ranges forward over gathered step lists (tuning fwdGather = G > 0; issue 13, ninth pass).

The default forward (triton_ranges_fwd.py) walks a row's full runs, one software-pipelined loop per
run, then its partial tiles, each an unpipelined loop (the nested band loop blocks Triton's
pipeliner). Here a row is two loops, each ONE pipelined loop over a flat list, as flex iterates its
kv-index lists:
- full steps: FT holds the row's full key tiles (runs expanded into tile indices, FULL = 1; with
  FULL = 0 the runs loop of the default); step i loads tile FT[i // NSUB], a plain load indexed by
  the loop counter (no loop-carried chain: the one-loop kernel of the eighth pass carried its key
  offset from step to step and lost);
- partial steps: PS holds one record per 64-key step of the row's partial tiles cut by <= G bands:
  [key offset, G x (q0, q1, k0, k1, lo, hi)] (unused slots q0 = q1 = 0); the mask is evaluated
  unconditionally from the G slots as per-row key intervals ([max(k0, t + lo), min(k1, t + hi + 1))
  on rows t in [q0, q1)), so the loop has no inner loop and no branch;
- partial tiles cut by more than G bands keep the default's per-tile band loop (PARTS2).
The lists are derived from the forward work list (gather_lists, once per mask, outside timing).
"""

import torch
import triton
import triton.language as tl

from .triton_ranges_fwd import band_parts, full_runs, kv_step, row_end, row_start



@triton.jit
def _slot_keep(REC, u: tl.constexpr, tok, key):
    """[BM, SUBN] bool: (row token, key) inside slot u's band of a step record."""
    q0 = tl.load(REC + 6 * u)
    q1 = tl.load(REC + 6 * u + 1)
    k0 = tl.load(REC + 6 * u + 2)
    k1 = tl.load(REC + 6 * u + 3)
    lo = tl.load(REC + 6 * u + 4)
    hi = tl.load(REC + 6 * u + 5)
    a = tl.where((tok >= q0) & (tok < q1), tl.maximum(tok + lo, k0), 1610612736)  # no key: past any (keys < 2^30)
    e = tl.minimum(tok + hi + 1, k1)
    return (key >= a[:, None]) & (key < e[:, None])


@triton.jit
def _gather_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWF, FT, ROWPS, PS, ROWPARTS, PARTS, SIDS, x, rep, half, b,
                sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale,
                P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
                D: tl.constexpr, G: tl.constexpr, FULL: tl.constexpr, DP: tl.constexpr):
    tok, head, row_ok, q_off, q, kbase, vbase = row_start(Q, K, V, x, rep, half, b, sqb, sqs, skb, SQ, NROWS, REP, P, TQ, NR, BM, D, DP)
    offs_d = tl.arange(0, DP)
    offs_s = tl.arange(0, SUBN)
    m_i = tl.full([BM], float("-inf"), tl.float32)
    l_i = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, DP], tl.float32)
    NSUB: tl.constexpr = TK // SUBN
    if FULL:  # full steps: one pipelined loop over the row's key tiles (an index list)
        f0 = tl.load(ROWF + x) * NSUB
        f1 = tl.load(ROWF + x + 1) * NSUB
        for i in range(f0, f1):
            kk = tl.load(FT + i // NSUB) * TK + (i % NSUB) * SUBN
            m_i, l_i, acc = kv_step(q, None, kbase, vbase, kk, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, False, D, DP)
    else:  # the default's runs (one pipelined loop per run)
        m_i, l_i, acc = full_runs(q, kbase, vbase, ROWRUNS, RUNS, x, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, TK, SUBN, D, DP)
    # partial steps of tiles cut by <= G bands: one pipelined loop over the row's step records
    s0 = tl.load(ROWPS + x)
    s1 = tl.load(ROWPS + x + 1)
    for i in range(s0, s1):
        rec = PS + i * (1 + 6 * G)
        kk = tl.load(rec)
        offs_n = kk + offs_s
        keep = _slot_keep(rec + 1, 0, tok, offs_n[None, :])
        for u in tl.static_range(1, G):
            keep = keep | _slot_keep(rec + 1, u, tok, offs_n[None, :])
        m_i, l_i, acc = kv_step(q, keep, kbase, vbase, kk, offs_s, offs_d, sks, SK, m_i, l_i, acc, qk_scale, True, D, DP)
    # partial tiles cut by more bands: the default's per-tile band loop
    m_i, l_i, acc = band_parts(q, tok, kbase, vbase, BANDS, SIDS, ROWPARTS, PARTS, x, offs_s, offs_d, sks, SK, m_i, l_i, acc,
                               qk_scale, BM, TK, SUBN, 0, D, DP)
    row_end(O, LSE, q_off, offs_d, tok, head, row_ok, b, SQ, HQ, m_i, l_i, acc, D, DP)


@triton.jit
def _fwd_gather(Q, K, V, O, LSE, BANDS, ORDER, ROWRUNS, RUNS, ROWF, FT, ROWPS, PS, ROWPARTS, PARTS, SIDS,
                sqb, sqs, skb, sks,
                HQ, SQ, SK, NROWS, REP, qk_scale,
                P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr, TK: tl.constexpr, SUBN: tl.constexpr,
                D: tl.constexpr, G: tl.constexpr, FULL: tl.constexpr, SPLIT: tl.constexpr, DP: tl.constexpr):
    """One program per (row, KV head, SPLIT-th of the tile's rows), launched in LPT order (as _fwd)."""
    pid = tl.program_id(0)
    b = tl.program_id(1).to(tl.int64)
    x = tl.load(ORDER + pid // (REP * SPLIT))
    r = pid % (REP * SPLIT)
    _gather_row(Q, K, V, O, LSE, BANDS, ROWRUNS, RUNS, ROWF, FT, ROWPS, PS, ROWPARTS, PARTS, SIDS, x, r // SPLIT, r % SPLIT, b,
                sqb, sqs, skb, sks, HQ, SQ, SK, NROWS, REP, qk_scale, P, TQ, NR, BM, TK, SUBN, D, G, FULL, DP)


# ---- the lists (torch, once per mask) -------------------------------------------------------------

def _offsets(counts, starts):
    """Exclusive prefix sums of per-item counts, read at the rows' item starts: [rows + 1]."""
    cs = torch.zeros(counts.numel() + 1, dtype=torch.int64)
    cs[1:] = torch.cumsum(counts, 0)
    return cs[starts.long()].to(torch.int32)


def gather_lists(row_runs, runs, row_parts, parts, sids, bands, g, tk, subn, full=True):
    """(ROWF, FT, ROWPS, PS, ROWPARTS2, PARTS2) of one forward list (int32 CPU tensors of the
    TileList's layout): full tiles as indices (full = False: none, the kernel walks the runs; the
    index list is O(full tiles): 134M entries at causal 1M), partial tiles cut by <= g bands as step
    records, the others as a partial list of the default's layout. Every array has >= one record."""
    row_runs, runs, row_parts, parts, sids, bands = (t.cpu().long() for t in (row_runs, runs, row_parts, parts, sids, bands))
    nrun = int(row_runs[-1])
    c0, c1 = runs[0:2 * nrun:2], runs[1:2 * nrun:2]
    n = c1 - c0
    if not full:
        n = torch.zeros_like(n)
    total = int(n.sum())
    first = torch.repeat_interleave(torch.cumsum(n, 0) - n, n)
    ft = torch.repeat_interleave(c0, n) + torch.arange(total) - first
    rowf = _offsets(n, row_runs)
    npart = int(row_parts[-1])
    pv = parts[:5 * npart].view(-1, 5)
    c, b0, bn, lo, hi = pv.unbind(1)
    gathered = bn <= g
    fs = lo - torch.remainder(lo - c * tk, subn)  # first_step
    steps = torch.where(gathered & (hi > fs), torch.div(hi - fs + subn - 1, subn, rounding_mode="floor"), 0)
    rowps = _offsets(steps, row_parts)
    nst = int(steps.sum())
    sp = torch.repeat_interleave(torch.arange(npart), steps)  # the part of each step
    cs = torch.cumsum(steps, 0) - steps
    kk = fs[sp] + (torch.arange(nst) - cs[sp]) * subn
    bt = bands.view(-1, 6)
    cols = [kk[:, None]]
    for u in range(g):
        ok = (u < bn[sp])[:, None]
        at = b0[sp] + torch.clamp(bn[sp] - 1, max=u).clamp(min=0)
        bid = sids[at.clamp(max=max(sids.numel() - 1, 0))] if sids.numel() else torch.zeros_like(at)
        cols.append(torch.where(ok, bt[bid], torch.zeros(1, 6, dtype=torch.long)))
    ps = torch.cat(cols, 1).reshape(-1)
    rowparts2 = _offsets((~gathered).long(), row_parts)
    parts2 = pv[~gathered].reshape(-1)
    one = lambda t, w: (t if t.numel() else torch.zeros(w, dtype=torch.long)).to(torch.int32).contiguous()  # noqa: E731
    return rowf, one(ft, 1), rowps, one(ps, 1 + 6 * g), rowparts2, one(parts2, 5)


def forward_gather(q, k, v, o, lse, ls, scale_log2, g_lists):
    """Launch _fwd_gather over ls's forward list (python triton_ranges.forward's arguments)."""
    b, sq, hq, d = q.shape
    t = ls.tuning
    sp = ls.split("fwdSplit")
    rowf, ft, rowps, ps, rowparts2, parts2 = g_lists
    _fwd_gather[ls.fwd.grid(ls.rep * sp, b)](
        q, k, v, o, lse, ls.bands, ls.fwd.order, ls.fwd.row_runs, ls.fwd.runs, rowf, ft, rowps, ps, rowparts2, parts2, ls.fwd.sids,
        q.stride(0), q.stride(1), k.stride(0), k.stride(1),
        hq, sq, k.shape[1], ls.fwd.nrows, ls.rep, scale_log2,
        P=ls.pack, TQ=ls.tq, NR=ls.nr, BM=ls.bm // sp, TK=ls.tk, SUBN=t["fwdSubN"], D=d, DP=ls.dp, G=t["fwdGather"], FULL=bool(t["fwdGatherFull"]),
        SPLIT=sp, num_warps=t["fwdWarps"], num_stages=t["fwdStages"], **({"maxnreg": int(t["fwdMaxRegs"])} if t["fwdMaxRegs"] else {}))
