"""triton_blocksparse: our own Triton block-sparse attention, forward and backward, over the block table.

Inputs (ready from the TypeScript adapter): per mask head and query block, the partial and full
key blocks. Full blocks are computed unmasked; partial blocks read a BQ x BK tile of the mask,
evaluated once from the slices (slicemask.SliceMask) for exactly the partial blocks. Per-head
tables (block_sparse families, one per KV head) are indexed by the query head's KV head, so GQA
is native: K/V are never expanded. Backward is FlashAttention-2 style: dK/dV per key block and query head over
the transposed (column) table, float32 shares summed over the query-head group on the host; dQ
per query block over the row table. Online softmax in base 2; LSE saved by the forward.
"""

import math

import torch

from .base import Call, Unsupported, module_available

ID = "triton_blocksparse"
GROUP = "torch"
LOG2E = 1.4426950408889634

_kernels = None


def available():
    reason = module_available("torch", "triton")
    if reason:
        return reason
    return None if torch.cuda.is_available() else "torch sees no CUDA GPU"


def _build_kernels():
    import triton
    import triton.language as tl

    from .triton_ranges_jit import masked_softmax  # the online-softmax update, shared with triton_ranges

    @triton.jit
    def _fwd(Q, K, V, O, LSE, FN, FI, PN, PI, TMAP, TILES,
             sqb, sqh, sqm, skb, skh, skn, sob, soh, som,
             fn_h, fi_h, fi_m, pn_h, pi_h, pi_m, tm_h, tm_m,
             H, G, S, qk_scale,
             PER_HEAD: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, SUB_N: tl.constexpr, D: tl.constexpr):
        qb = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        b = bh // H
        h = bh % H
        kvh = h // G
        mh = kvh * PER_HEAD
        nbq = tl.num_programs(0)
        offs_m = qb.to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_d = tl.arange(0, D)
        offs_s = tl.arange(0, SUB_N)
        row_ok = offs_m < S
        q = tl.load(Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :], mask=row_ok[:, None], other=0.0)
        kbase = K + b * skb + kvh * skh
        vbase = V + b * skb + kvh * skh
        m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
        l_i = tl.zeros([BLOCK_M], tl.float32)
        acc = tl.zeros([BLOCK_M, D], tl.float32)
        for kind in tl.static_range(2):  # 0: full blocks, 1: partial blocks (masked by a tile)
            if kind == 0:
                n = tl.load(FN + mh * fn_h + qb)
            else:
                n = tl.load(PN + mh * pn_h + qb)
            for j in range(n):
                if kind == 0:
                    kb = tl.load(FI + mh * fi_h + qb * fi_m + j).to(tl.int64)
                else:
                    kb = tl.load(PI + mh * pi_h + qb * pi_m + j).to(tl.int64)
                    t = tl.load(TMAP + mh * tm_h + qb * tm_m + kb).to(tl.int64)
                for sub in tl.static_range(BLOCK_N // SUB_N):
                    offs_n = kb * BLOCK_N + sub * SUB_N + offs_s
                    col_ok = offs_n < S
                    k = tl.load(kbase + offs_n[None, :] * skn + offs_d[:, None], mask=col_ok[None, :], other=0.0)
                    s = tl.dot(q, k) * qk_scale
                    keep = col_ok[None, :]
                    if kind == 1:
                        tile = tl.load(TILES + t * (BLOCK_M * BLOCK_N) + tl.arange(0, BLOCK_M)[:, None] * BLOCK_N
                                       + (sub * SUB_N + offs_s)[None, :])
                        keep = keep & (tile != 0)
                    p, alpha, m_new, l_i = masked_softmax(s, keep, m_i, l_i)
                    v = tl.load(vbase + offs_n[:, None] * skn + offs_d[None, :], mask=col_ok[:, None], other=0.0)
                    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
                    m_i = m_new
        l_safe = tl.where(l_i == 0.0, 1.0, l_i)
        o = acc / l_safe[:, None]
        tl.store(O + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :], o.to(O.dtype.element_ty), mask=row_ok[:, None])
        # log2-sum-exp of the scaled scores; +inf for rows with no keys (their p is then 0 in backward)
        lse = tl.where(l_i == 0.0, float("inf"), m_i + tl.log2(l_safe))
        tl.store(LSE + bh * S + offs_m, lse, mask=row_ok)

    @triton.jit
    def _delta(O, DO, DELTA, sob, soh, som, H, S, BLOCK: tl.constexpr, D: tl.constexpr):
        i = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        b = bh // H
        h = bh % H
        offs_m = i.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        offs_d = tl.arange(0, D)
        ok = offs_m < S
        ptr = b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :]
        o = tl.load(O + ptr, mask=ok[:, None], other=0.0).to(tl.float32)
        do = tl.load(DO + ptr, mask=ok[:, None], other=0.0).to(tl.float32)
        tl.store(DELTA + bh * S + offs_m, tl.sum(o * do, 1), mask=ok)

    @triton.jit
    def _dkdv(Q, K, V, DO, LSE, DELTA, DK, DV, FN, FI, PN, PI, TMAP, TILES,
              sqb, sqh, sqm, skb, skh, skn, sob, soh, som, sdb, sdh, sdn,
              fn_h, fi_h, fi_m, pn_h, pi_h, pi_m, tm_h, tm_m,
              H, G, S, qk_scale, sm_scale,
              PER_HEAD: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, SUB_M: tl.constexpr, D: tl.constexpr):
        # One program per (key block, query head): the query blocks of this key block's column
        # (transposed table: FN/FI/PN/PI are per key block). DK/DV hold this query head's share
        # (float32, [B, Hq, S, D]); the host sums the shares of a KV head's query-head group.
        kb = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        b = bh // H
        h = bh % H
        kvh = h // G
        mh = kvh * PER_HEAD
        offs_n = kb.to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
        offs_d = tl.arange(0, D)
        offs_s = tl.arange(0, SUB_M)
        col_ok = offs_n < S
        kptr = b * skb + kvh * skh + offs_n[:, None] * skn + offs_d[None, :]
        k = tl.load(K + kptr, mask=col_ok[:, None], other=0.0)
        v = tl.load(V + kptr, mask=col_ok[:, None], other=0.0)
        dk = tl.zeros([BLOCK_N, D], tl.float32)
        dv = tl.zeros([BLOCK_N, D], tl.float32)
        qbase = Q + b * sqb + h * sqh
        obase = b * sob + h * soh
        rbase = bh * S
        for kind in tl.static_range(2):
            if kind == 0:
                n = tl.load(FN + mh * fn_h + kb)
            else:
                n = tl.load(PN + mh * pn_h + kb)
            for j in range(n):
                if kind == 0:
                    qb = tl.load(FI + mh * fi_h + kb * fi_m + j).to(tl.int64)
                else:
                    qb = tl.load(PI + mh * pi_h + kb * pi_m + j).to(tl.int64)
                    t = tl.load(TMAP + mh * tm_h + qb * tm_m + kb).to(tl.int64)
                for sub in tl.static_range(BLOCK_M // SUB_M):
                    offs_m = qb * BLOCK_M + sub * SUB_M + offs_s
                    row_ok = offs_m < S
                    q = tl.load(qbase + offs_m[:, None] * sqm + offs_d[None, :], mask=row_ok[:, None], other=0.0)
                    do = tl.load(DO + obase + offs_m[:, None] * som + offs_d[None, :], mask=row_ok[:, None], other=0.0)
                    lse = tl.load(LSE + rbase + offs_m, mask=row_ok, other=float("inf"))
                    delta = tl.load(DELTA + rbase + offs_m, mask=row_ok, other=0.0)
                    sT = tl.dot(k, tl.trans(q)) * qk_scale  # [BLOCK_N, SUB_M]
                    pT = tl.exp2(sT - lse[None, :])
                    keep = col_ok[:, None] & row_ok[None, :]
                    if kind == 1:
                        tile = tl.load(TILES + t * (BLOCK_M * BLOCK_N) + (sub * SUB_M + offs_s)[None, :] * BLOCK_N
                                       + tl.arange(0, BLOCK_N)[:, None])
                        keep = keep & (tile != 0)
                    pT = tl.where(keep, pT, 0.0)
                    dv += tl.dot(pT.to(do.dtype), do)
                    dpT = tl.dot(v, tl.trans(do))
                    dsT = pT * (dpT - delta[None, :])
                    dk += tl.dot(dsT.to(q.dtype), q)
        dk = dk * sm_scale
        dptr = b * sdb + h * sdh + offs_n[:, None] * sdn + offs_d[None, :]
        tl.store(DK + dptr, dk.to(DK.dtype.element_ty), mask=col_ok[:, None])
        tl.store(DV + dptr, dv.to(DV.dtype.element_ty), mask=col_ok[:, None])

    @triton.jit
    def _dq(Q, K, V, DO, LSE, DELTA, DQ, FN, FI, PN, PI, TMAP, TILES,
            sqb, sqh, sqm, skb, skh, skn, sob, soh, som,
            fn_h, fi_h, fi_m, pn_h, pi_h, pi_m, tm_h, tm_m,
            H, G, S, qk_scale, sm_scale,
            PER_HEAD: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, SUB_N: tl.constexpr, D: tl.constexpr):
        qb = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        b = bh // H
        h = bh % H
        kvh = h // G
        mh = kvh * PER_HEAD
        offs_m = qb.to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_d = tl.arange(0, D)
        offs_s = tl.arange(0, SUB_N)
        row_ok = offs_m < S
        q = tl.load(Q + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :], mask=row_ok[:, None], other=0.0)
        do = tl.load(DO + b * sob + h * soh + offs_m[:, None] * som + offs_d[None, :], mask=row_ok[:, None], other=0.0)
        lse = tl.load(LSE + bh * S + offs_m, mask=row_ok, other=float("inf"))
        delta = tl.load(DELTA + bh * S + offs_m, mask=row_ok, other=0.0)
        kbase = K + b * skb + kvh * skh
        vbase = V + b * skb + kvh * skh
        dq = tl.zeros([BLOCK_M, D], tl.float32)
        for kind in tl.static_range(2):
            if kind == 0:
                n = tl.load(FN + mh * fn_h + qb)
            else:
                n = tl.load(PN + mh * pn_h + qb)
            for j in range(n):
                if kind == 0:
                    kb = tl.load(FI + mh * fi_h + qb * fi_m + j).to(tl.int64)
                else:
                    kb = tl.load(PI + mh * pi_h + qb * pi_m + j).to(tl.int64)
                    t = tl.load(TMAP + mh * tm_h + qb * tm_m + kb).to(tl.int64)
                for sub in tl.static_range(BLOCK_N // SUB_N):
                    offs_n = kb * BLOCK_N + sub * SUB_N + offs_s
                    col_ok = offs_n < S
                    k = tl.load(kbase + offs_n[:, None] * skn + offs_d[None, :], mask=col_ok[:, None], other=0.0)
                    v = tl.load(vbase + offs_n[:, None] * skn + offs_d[None, :], mask=col_ok[:, None], other=0.0)
                    s = tl.dot(q, tl.trans(k)) * qk_scale
                    p = tl.exp2(s - lse[:, None])
                    keep = row_ok[:, None] & col_ok[None, :]
                    if kind == 1:
                        tile = tl.load(TILES + t * (BLOCK_M * BLOCK_N) + tl.arange(0, BLOCK_M)[:, None] * BLOCK_N
                                       + (sub * SUB_N + offs_s)[None, :])
                        keep = keep & (tile != 0)
                    p = tl.where(keep, p, 0.0)
                    dp = tl.dot(do, tl.trans(v))
                    ds = p * (dp - delta[:, None])
                    dq += tl.dot(ds.to(k.dtype), k)
        dq = dq * sm_scale
        tl.store(DQ + b * sqb + h * sqh + offs_m[:, None] * sqm + offs_d[None, :], dq.to(DQ.dtype.element_ty), mask=row_ok[:, None])

    return _fwd, _delta, _dkdv, _dq


def kernels():
    global _kernels
    if _kernels is None:
        _kernels = _build_kernels()
    return _kernels


class Tables:
    """Row tables (per query block), column tables (per key block), partial-tile map and tiles."""

    def __init__(self, ctx):
        self.bq, self.bk = int(ctx.arg("blockQ")), int(ctx.arg("blockK"))
        if self.bq != self.bk:
            raise Unsupported("triton_blocksparse needs square blocks")
        if self.bq not in (64, 128):
            raise Unsupported(f"triton_blocksparse takes blocks of 64 or 128, not {self.bq}")
        if ctx.sq != ctx.sk:
            raise Unsupported("triton_blocksparse needs seqlenQ == seqlenK")
        dev = ctx.device
        self.nbq = math.ceil(ctx.sq / self.bq)
        self.nbk = math.ceil(ctx.sk / self.bk)
        pn = ctx.arg("kvNumBlocks").to(torch.int32).contiguous()
        pi = ctx.arg("kvIndices").to(torch.int32)
        fn = ctx.arg("fullKvNumBlocks").to(torch.int32).contiguous()
        fi = ctx.arg("fullKvIndices").to(torch.int32)
        self.heads = pn.shape[0]
        self.per_head = 1 if self.heads > 1 else 0
        if self.heads not in (1, ctx.hkv):
            raise Unsupported(f"block table has {self.heads} heads; expected 1 or {ctx.hkv}")
        # The kernels index with row strides; keep at least one column so strides stay valid.
        self.pn, self.pi = pn, _nonempty(pi)
        self.fn, self.fi = fn, _nonempty(fi)
        # Partial tiles: (head, qb, kb) of every partial block -> tile number, and its BQ x BK mask.
        valid = torch.arange(pi.shape[-1], device=dev)[None, None, :] < pn[..., None]
        hh, qq, jj = valid.nonzero(as_tuple=True)
        kk = pi[hh, qq, jj].to(torch.int64)
        self.n_tiles = int(hh.numel())
        self.tmap = torch.full((self.heads, self.nbq, self.nbk), -1, dtype=torch.int32, device=dev)
        self.tmap[hh, qq, kk] = torch.arange(self.n_tiles, dtype=torch.int32, device=dev)
        if self.n_tiles:
            self.tiles = _tiles(ctx, hh, qq, kk, self.bq, self.bk)
        else:
            self.tiles = torch.zeros((1, self.bq, self.bk), dtype=torch.int8, device=dev)
        # Column tables for dK/dV: for each key block, its full and partial query blocks.
        self.cfn, self.cfi = _transpose(fn, fi, self.nbk)
        self.cpn, self.cpi = _transpose(pn, pi, self.nbk)


def _nonempty(ix):
    return ix.contiguous() if ix.shape[-1] > 0 else torch.zeros((*ix.shape[:-1], 1), dtype=ix.dtype, device=ix.device)


def _transpose(num, idx, nbk):
    """Row table (per query block: key blocks) -> column table (per key block: query blocks)."""
    h, nbq = num.shape
    valid = torch.arange(idx.shape[-1], device=num.device)[None, None, :] < num[..., None]
    hh, qq, jj = valid.nonzero(as_tuple=True)
    kk = idx[hh, qq, jj].to(torch.int64)
    key = (hh * nbk + kk) * nbq + qq  # sort by (head, key block, query block)
    order = torch.argsort(key)
    hh, kk, qq = hh[order], kk[order], qq[order]
    counts = torch.bincount(hh * nbk + kk, minlength=h * nbk).view(h, nbk)
    width = max(1, int(counts.max()) if counts.numel() else 1)
    starts = torch.cumsum(counts.view(-1), 0) - counts.view(-1)
    pos = torch.arange(hh.numel(), device=num.device) - starts[hh * nbk + kk]
    out = torch.zeros((h, nbk, width), dtype=torch.int32, device=num.device)
    out[hh, kk, pos] = qq.to(torch.int32)
    return counts.to(torch.int32).contiguous(), out


def _tiles(ctx, hh, qq, kk, bq, bk, chunk=4096):
    """int8 [n_tiles, bq, bk]: the mask inside each partial block, from the slices."""
    sm = ctx.slice_mask
    out = torch.empty((hh.numel(), bq, bk), dtype=torch.int8, device=ctx.device)
    ar_q = torch.arange(bq, device=ctx.device)
    ar_k = torch.arange(bk, device=ctx.device)
    for s in range(0, hh.numel(), chunk):
        e = min(hh.numel(), s + chunk)
        q = qq[s:e, None, None] * bq + ar_q[None, :, None]
        k = kk[s:e, None, None] * bk + ar_k[None, None, :]
        inside = (q < ctx.sq) & (k < ctx.sk)
        h = hh[s:e, None, None] if sm.num_heads > 1 else 0
        m = sm.predicate(h, torch.clamp(q, max=ctx.sq - 1), torch.clamp(k, max=ctx.sk - 1)) & inside
        out[s:e] = m.to(torch.int8)
    return out


def _strides(t):
    return t.stride(0), t.stride(1), t.stride(2)


def _table_strides(fn, fi, pn, pi, tmap):
    """The kernels' table stride arguments (fn_h, fi_h, fi_m, pn_h, pi_h, pi_m, tm_h, tm_m) for a row
    or column table (full and partial counts and indices) and the partial-tile map."""
    return fn.stride(0), fi.stride(0), fi.stride(1), pn.stride(0), pi.stride(0), pi.stride(1), tmap.stride(0), tmap.stride(1)


class _Attn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, q, k, v, tb, scale):
        _fwd, _, _, _ = kernels()
        b, h, s, d = q.shape
        g = h // k.shape[1]
        o = torch.empty_like(q)
        lse = torch.empty((b, h, s), dtype=torch.float32, device=q.device)
        sub_n = 64
        grid = (tb.nbq, b * h)
        _fwd[grid](q, k, v, o, lse, tb.fn, tb.fi, tb.pn, tb.pi, tb.tmap, tb.tiles,
                   *_strides(q), *_strides(k), *_strides(o), *_table_strides(tb.fn, tb.fi, tb.pn, tb.pi, tb.tmap),
                   h, g, s, scale * LOG2E,
                   PER_HEAD=tb.per_head, BLOCK_M=tb.bq, BLOCK_N=tb.bk, SUB_N=sub_n, D=d,
                   num_warps=8 if tb.bq == 128 else 4, num_stages=3)
        fctx.save_for_backward(q, k, v, o, lse)
        fctx.tb, fctx.scale = tb, scale
        return o

    @staticmethod
    def backward(fctx, do):
        _, _delta, _dkdv, _dq = kernels()
        q, k, v, o, lse = fctx.saved_tensors
        tb, scale = fctx.tb, fctx.scale
        do = do.contiguous()
        b, h, s, d = q.shape
        hkv = k.shape[1]
        g = h // hkv
        delta = torch.empty_like(lse)
        _delta[(triton_cdiv(s, 128), b * h)](o, do, delta, *_strides(o), h, s, BLOCK=128, D=d)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        common = dict(PER_HEAD=tb.per_head, BLOCK_M=tb.bq, BLOCK_N=tb.bk, D=d, num_warps=4, num_stages=2)
        # dK/dV per query head (more programs than per KV head: causal columns differ a lot in
        # length), float32 shares summed over each KV head's group afterwards.
        if g == 1:
            dk_h, dv_h = dk, dv
        else:
            dk_h = torch.empty((b, h, s, d), dtype=torch.float32, device=q.device)
            dv_h = torch.empty_like(dk_h)
        _dkdv[(tb.nbk, b * h)](q, k, v, do, lse, delta, dk_h, dv_h, tb.cfn, tb.cfi, tb.cpn, tb.cpi, tb.tmap, tb.tiles,
                              *_strides(q), *_strides(k), *_strides(o), *_strides(dk_h),
                              *_table_strides(tb.cfn, tb.cfi, tb.cpn, tb.cpi, tb.tmap),
                              h, g, s, scale * LOG2E, scale, SUB_M=32, **common)
        if g > 1:
            dk.copy_(dk_h.view(b, hkv, g, s, d).sum(2))
            dv.copy_(dv_h.view(b, hkv, g, s, d).sum(2))
            del dk_h, dv_h
        _dq[(tb.nbq, b * h)](q, k, v, do, lse, delta, dq, tb.fn, tb.fi, tb.pn, tb.pi, tb.tmap, tb.tiles,
                            *_strides(q), *_strides(k), *_strides(o), *_table_strides(tb.fn, tb.fi, tb.pn, tb.pi, tb.tmap),
                            h, g, s, scale * LOG2E, scale, SUB_N=32, **common)
        return dq, dk, dv, None, None


def triton_cdiv(a, b):
    return (a + b - 1) // b


def build(ctx):
    if ctx.format != "block_table":
        raise Unsupported(f"triton_blocksparse takes a block table, not {ctx.format}")
    if ctx.dtype not in (torch.bfloat16, torch.float16):
        raise Unsupported("triton_blocksparse takes bfloat16 or float16")
    if ctx.d not in (64, 128):
        raise Unsupported(f"triton_blocksparse takes head_dim 64 or 128, not {ctx.d}")
    if ctx.batch != 1 and ctx.hq * ctx.batch > 65535:
        raise Unsupported("too many batch x heads for the launch grid")
    tb = Tables(ctx)
    kernels()

    def prep(q, k, v):
        return q.contiguous(), k.contiguous(), v.contiguous()

    def fn(q, k, v):
        return _Attn.apply(q, k, v, tb, ctx.scale)

    notes = [f"block table {tb.bq}x{tb.bk}, {tb.n_tiles} partial tiles masked from the slices"]
    return Call(fn, prep=prep, notes=notes, compiled=True)
