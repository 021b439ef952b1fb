"""Partial attention with log-sum-exp, its exact merge, and the partial backward from the final
out/lse: what the `attn`, `merge` and `attn_bwd` steps of a plan compute.

Tensors are [tokens, heads, dim] (batch 1); lse is [tokens, heads] float32, natural log, -inf on
rows without any unmasked key (their output is 0). Two kernels:

  reference  chunked pure torch in float32 (any device; CPU/gloo runs, small sizes, and the
             single-device reference that every run is checked against). Dense scores of one
             chunk of query rows at a time, mask from per-row key ranges.
  flex       torch FlexAttention, compiled: BlockMask from the step's block table (written by the
             TypeScript adapters) + a mask_mod over the per-row key ranges for partial blocks.
             Backward: autograd through one partial call, with the gradients the merge implies
             (below), so flex's own backward kernel computes the exact contribution; it recomputes
             the partial forward first (noted in results).

Merge (online softmax, e.g. FlashAttention-2 section 3.1): for partials (o_a, l_a), (o_b, l_b)
    l = log(exp l_a + exp l_b),  o = exp(l_a - l) o_a + exp(l_b - l) o_b.

Backward of one block from the final (O, L) (FA2 algorithm 2 with the final statistics):
    P = exp(S - L) on the block's unmasked pairs, D = rowsum(dO * O),
    dV = P^T dO,  dS = P * (dO V^T - D),  dQ = scale dS K,  dK = scale dS^T Q.
Through autograd on the partial call (o_b, l_b) instead: with w_b = exp(l_b - L),
    dL/do_b = w_b dO   and   dL/dl_b = w_b rowsum(dO * (o_b - O)),
which is the same gradient (differentiate O = sum_b w_b o_b with L = logsumexp_b l_b).
"""

import math

import torch

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def row_ranges_t(slices, seqlen_q, seqlen_k, device):
    """Per-row key ranges of a mask: (lo, hi) int32 [Sq, R] (R >= 1; empty slots have lo = hi = 0)
    from slices int tensor [n, 5] (qs, qe, ks, ke, kind). Vectorized version of
    logic.row_ranges; slices are disjoint so ranges of one row never overlap."""
    s = slices.to(device=device, dtype=torch.int64).reshape(-1, 5)
    if s.numel() == 0:
        z = torch.zeros(seqlen_q, 1, dtype=torch.int32, device=device)
        return z, z.clone(), 1
    qs, qe, ks, ke, kind = s.unbind(1)
    h = (qe - qs).clamp(min=0)
    total = int(h.sum())
    sid = torch.repeat_interleave(torch.arange(s.shape[0], device=device), h)
    starts = torch.cumsum(h, 0) - h
    i = torch.arange(total, device=device) - starts[sid]
    sq, sk = h[sid], (ke - ks)[sid]
    lo = ks[sid].clone()
    hi = ke[sid].clone()
    k = kind[sid]
    inv = (k == 2) | (k == 3)
    cau = (k == 1) | (k == 3)
    lo = torch.where(inv, torch.maximum(lo, ks[sid] + i), lo)
    hi = torch.where(cau, torch.minimum(hi, ks[sid] + i + (sk - sq) + 1), hi)
    row = qs[sid] + i
    keep = hi > lo
    row, lo, hi = row[keep], lo[keep], hi[keep]
    if row.numel() == 0:
        z = torch.zeros(seqlen_q, 1, dtype=torch.int32, device=device)
        return z, z.clone(), 1
    order = torch.argsort(row * (seqlen_k + 1) + lo)
    row, lo, hi = row[order], lo[order], hi[order]
    first = torch.searchsorted(row, row)
    slot = torch.arange(row.numel(), device=device) - first
    r = int(slot.max()) + 1
    r = 1 << (r - 1).bit_length()  # a power of two: fewer distinct mask_mods for flex to compile
    lo_t = torch.zeros(seqlen_q, r, dtype=torch.int32, device=device)
    hi_t = torch.zeros(seqlen_q, r, dtype=torch.int32, device=device)
    lo_t[row, slot] = lo.to(torch.int32)
    hi_t[row, slot] = hi.to(torch.int32)
    return lo_t, hi_t, r


def dense_rows(lo, hi, q0, q1, seqlen_k):
    """Boolean [q1 - q0, Sk]: unmasked pairs of rows q0..q1."""
    j = torch.arange(seqlen_k, device=lo.device, dtype=torch.int32)
    lo_c, hi_c = lo[q0:q1], hi[q0:q1]
    m = (j[None, :] >= lo_c[:, 0:1]) & (j[None, :] < hi_c[:, 0:1])
    for r in range(1, lo.shape[1]):
        m |= (j[None, :] >= lo_c[:, r:r + 1]) & (j[None, :] < hi_c[:, r:r + 1])
    return m


class PreparedMask:
    """A step's mask in the forms the kernels use, built once per mask (outside timed spans)."""

    def __init__(self, entry, slices, device, block_table=None):
        self.seqlen_q = entry["seqlenQ"]
        self.seqlen_k = entry["seqlenK"]
        self.lo, self.hi, self.r = row_ranges_t(slices, self.seqlen_q, self.seqlen_k, device)
        self.area = int((self.hi - self.lo).clamp(min=0).sum())
        self.table = entry.get("blockTable")
        self.block_table = block_table  # {kvNumBlocks, kvIndices, fullKvNumBlocks, fullKvIndices} on device
        self._block_mask = None

    @property
    def empty(self):
        return self.area == 0 or self.seqlen_q == 0 or self.seqlen_k == 0

    def block_mask(self):
        """FlexAttention BlockMask from the adapter's block table ([1, nbq, maxK] indices, padded
        here to [1, 1, nbq, nbk]) and a mask_mod over the per-row key ranges for partial blocks."""
        if self._block_mask is None:
            from torch.nn.attention.flex_attention import BlockMask

            if self.block_table is None or self.table is None:
                raise RuntimeError("flex needs the mask's block table; the job was written without one")
            bq, bk = self.table["blockQ"], self.table["blockK"]
            nbq = -(-self.seqlen_q // bq)
            nbk = -(-self.seqlen_k // bk)
            t = self.block_table
            lo, hi, r = self.lo, self.hi, self.r

            def mask_mod(bi, h, q_idx, kv_idx):
                m = (kv_idx >= lo[q_idx, 0]) & (kv_idx < hi[q_idx, 0])
                for s in range(1, r):
                    m = m | ((kv_idx >= lo[q_idx, s]) & (kv_idx < hi[q_idx, s]))
                return m

            def pad(ix):  # [1, nbq, maxK] -> [1, 1, nbq, nbk]: from_kv_blocks reads nbk off the last dim
                ix = ix.reshape(1, nbq, -1).to(torch.int32)
                ix = ix[..., :nbk] if ix.shape[-1] >= nbk else torch.nn.functional.pad(ix, (0, nbk - ix.shape[-1]))
                return ix.unsqueeze(0).contiguous()

            self._block_mask = BlockMask.from_kv_blocks(
                t["kvNumBlocks"].reshape(1, 1, nbq).to(torch.int32), pad(t["kvIndices"]),
                t["fullKvNumBlocks"].reshape(1, 1, nbq).to(torch.int32), pad(t["fullKvIndices"]),
                BLOCK_SIZE=(bq, bk), mask_mod=mask_mod, seq_lengths=(self.seqlen_q, self.seqlen_k),
            )
        return self._block_mask


def merge_into(o_a, l_a, o_b, l_b):
    """In-place log-sum-exp merge of (o_b, l_b) into (o_a, l_a); rows with -inf on both stay 0/-inf."""
    l = torch.logaddexp(l_a, l_b)
    safe = torch.where(torch.isinf(l), torch.zeros_like(l), l)
    wa = torch.exp(l_a - safe)
    wb = torch.exp(l_b - safe)
    o_a.copy_((o_a.float() * wa[..., None] + o_b.float() * wb[..., None]).to(o_a.dtype))
    l_a.copy_(l)


def _expand_kv(k, kv_idx):
    """kv heads per q head: [Sk, Hq', D] with Hq' = len(kv_idx) (kv_idx: kv head per q head)."""
    return k.index_select(1, torch.tensor(kv_idx, device=k.device))


class ReferenceKernel:
    """Chunked dense attention in float32. Memory per chunk ~ heads x chunk x Sk x 4 bytes."""

    name = "reference"

    def __init__(self, chunk_bytes=None):
        self.chunk_bytes = chunk_bytes

    def _chunk(self, hq, sk, device):
        budget = self.chunk_bytes or (1 << 32 if device.type == "cuda" else 1 << 27)
        return max(1, min(4096, budget // max(1, hq * sk * 4 * 3)))

    def forward(self, q, k, v, kv_idx, pm, scale):
        """q [Sq, Hq, D], k/v [Sk, Hk, D]; kv_idx[h] = kv head of q head h. -> out (q dtype), lse fp32."""
        sq, hq, d = q.shape
        out = torch.zeros(sq, hq, d, dtype=q.dtype, device=q.device)
        lse = torch.full((sq, hq), -math.inf, dtype=torch.float32, device=q.device)
        if pm.empty:
            return out, lse
        ke = _expand_kv(k, kv_idx).float()
        ve = _expand_kv(v, kv_idx).float()
        c = self._chunk(hq, pm.seqlen_k, q.device)
        for q0 in range(0, sq, c):
            q1 = min(sq, q0 + c)
            s = torch.einsum("qhd,khd->hqk", q[q0:q1].float(), ke) * scale
            allowed = dense_rows(pm.lo, pm.hi, q0, q1, pm.seqlen_k)
            s.masked_fill_(~allowed[None], -math.inf)
            l = torch.logsumexp(s, dim=-1)  # [H, cq]
            safe = torch.where(torch.isinf(l), torch.zeros_like(l), l)
            p = torch.exp(s - safe[..., None])
            out[q0:q1] = torch.einsum("hqk,khd->qhd", p, ve).to(q.dtype)
            lse[q0:q1] = l.transpose(0, 1)
        return out, lse

    def backward(self, q, k, v, o, lse, do, kv_idx, pm, scale):
        """Contributions of this block: dq [Sq, Hq, D] fp32, dk/dv [Sk, Hk_buf, D] fp32 (summed
        over the q heads that share a kv head)."""
        sq, hq, d = q.shape
        dq = torch.zeros(sq, hq, d, dtype=torch.float32, device=q.device)
        dke = torch.zeros(k.shape[0], hq, d, dtype=torch.float32, device=q.device)
        dve = torch.zeros_like(dke)
        if not pm.empty:
            ke = _expand_kv(k, kv_idx).float()
            ve = _expand_kv(v, kv_idx).float()
            c = self._chunk(hq, pm.seqlen_k, q.device)
            for q0 in range(0, sq, c):
                q1 = min(sq, q0 + c)
                qc, doc = q[q0:q1].float(), do[q0:q1].float()
                s = torch.einsum("qhd,khd->hqk", qc, ke) * scale
                allowed = dense_rows(pm.lo, pm.hi, q0, q1, pm.seqlen_k)
                s.masked_fill_(~allowed[None], -math.inf)
                l = lse[q0:q1].transpose(0, 1)
                safe = torch.where(torch.isinf(l), torch.full_like(l, math.inf), l)
                p = torch.exp(s - safe[..., None])  # 0 on masked pairs and on rows without keys
                dd = (doc * o[q0:q1].float()).sum(-1).transpose(0, 1)  # [H, cq]
                dve += torch.einsum("hqk,qhd->khd", p, doc)
                dp = torch.einsum("qhd,khd->hqk", doc, ve)
                ds = p * (dp - dd[..., None])
                dq[q0:q1] = torch.einsum("hqk,khd->qhd", ds, ke) * scale
                dke += torch.einsum("hqk,qhd->khd", ds, qc) * scale
        return dq, _fold_heads(dke, kv_idx, k.shape[1]), _fold_heads(dve, kv_idx, k.shape[1])


def _fold_heads(g, kv_idx, hk):
    """Sum per-q-head gradients [Sk, Hq', D] into the kv buffer's heads [Sk, Hk, D]."""
    out = torch.zeros(g.shape[0], hk, g.shape[2], dtype=g.dtype, device=g.device)
    out.index_add_(1, torch.tensor(kv_idx, device=g.device), g)
    return out


class FlexKernel:
    """torch FlexAttention (compiled) with return of the log-sum-exp."""

    name = "flex"

    def __init__(self):
        import inspect

        from torch.nn.attention import flex_attention as fa

        self._fa = fa
        self._aux = "return_aux" in inspect.signature(fa.flex_attention).parameters and hasattr(fa, "AuxRequest")
        # Plans bring many shapes (Sq, Sk, heads): let dynamo mark them dynamic after the first
        # change instead of compiling every shape; fall back to static shapes if that fails.
        self._compiled = torch.compile(fa.flex_attention)
        self._static = None
        self.notes = []
        # Every step brings a new BlockMask / mask_mod: without a high limit dynamo would stop
        # compiling and fall back to eager (unfused) attention, silently.
        for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
            if hasattr(torch._dynamo.config, name):
                setattr(torch._dynamo.config, name, max(getattr(torch._dynamo.config, name), 100000))

    def _call(self, q, k, v, pm, scale):
        """q [Sq, Hq, D] -> flex layout [1, H, S, D]; returns out [Sq, Hq, D], lse [Sq, Hq] fp32."""
        qf = q.permute(1, 0, 2).unsqueeze(0)
        kf = k.permute(1, 0, 2).unsqueeze(0)
        vf = v.permute(1, 0, 2).unsqueeze(0)
        gqa = qf.shape[1] != kf.shape[1]
        kw = dict(block_mask=pm.block_mask(), scale=scale, enable_gqa=gqa)
        if self._aux:
            kw["return_aux"] = self._fa.AuxRequest(lse=True)
        else:
            kw["return_lse"] = True
        fn = self._static or self._compiled
        try:
            out, lse = fn(qf, kf, vf, **kw)
        except Exception as e:  # noqa: BLE001 - dynamic-shape compile trouble: retry with static shapes
            if self._static is not None:
                raise
            self._static = torch.compile(self._fa.flex_attention, dynamic=False)
            self.notes.append(f"flex: dynamic shapes failed ({type(e).__name__}), compiled per shape")
            out, lse = self._static(qf, kf, vf, **kw)
        if self._aux:
            lse = lse.lse
        return out[0].permute(1, 0, 2), lse[0].transpose(0, 1)

    @staticmethod
    def _kv_for(k, v, kv_idx):
        """GQA-grouped kv heads when the q heads map onto them uniformly, else expanded per q head."""
        from .logic import gqa_grouping

        g = gqa_grouping(kv_idx)
        if g is not None:
            first, n = g
            return k[:, first:first + n], v[:, first:first + n], None
        return _expand_kv(k, kv_idx), _expand_kv(v, kv_idx), kv_idx

    def forward(self, q, k, v, kv_idx, pm, scale):
        sq, hq, d = q.shape
        if pm.empty:
            return (torch.zeros(sq, hq, d, dtype=q.dtype, device=q.device),
                    torch.full((sq, hq), -math.inf, dtype=torch.float32, device=q.device))
        kk, vv, _ = self._kv_for(k, v, kv_idx)
        out, lse = self._call(q, kk, vv, pm, scale)
        return out.contiguous(), lse.float().contiguous()

    def backward(self, q, k, v, o, lse, do, kv_idx, pm, scale):
        sq, hq, d = q.shape
        if pm.empty:
            z = torch.zeros(k.shape[0], k.shape[1], d, dtype=torch.float32, device=q.device)
            return torch.zeros(sq, hq, d, dtype=torch.float32, device=q.device), z, z.clone()
        kk, vv, expanded = self._kv_for(k, v, kv_idx)
        with torch.enable_grad():
            qg = q.detach().requires_grad_(True)
            kg = kk.detach().requires_grad_(True)
            vg = vv.detach().requires_grad_(True)
            out_p, lse_p = self._call(qg, kg, vg, pm, scale)
            lse_p = lse_p.float()
            fin = torch.where(torch.isinf(lse), torch.full_like(lse, math.inf), lse)
            w = torch.exp(lse_p.detach() - fin)  # 0 where the partial or the final row is empty
            g_out = (w[..., None] * do.float()).to(out_p.dtype)
            g_lse = w * (do.float() * (out_p.detach().float() - o.float())).sum(-1)
            torch.autograd.backward([out_p, lse_p], [g_out, g_lse])
        dq = qg.grad.float()
        if expanded is not None:
            return dq, _fold_heads(kg.grad.float(), expanded, k.shape[1]), _fold_heads(vg.grad.float(), expanded, k.shape[1])
        dk = torch.zeros(k.shape[0], k.shape[1], d, dtype=torch.float32, device=q.device)
        dv = torch.zeros_like(dk)
        first = kv_idx[0]
        dk[:, first:first + kg.shape[1]] = kg.grad.float()
        dv[:, first:first + vg.shape[1]] = vg.grad.float()
        return dq, dk, dv


def make_kernel(name, device):
    """'auto': flex on CUDA when importable, else the reference."""
    if name == "reference" or (name == "auto" and device.type != "cuda"):
        return ReferenceKernel()
    try:
        return FlexKernel()
    except Exception as e:  # noqa: BLE001 - reported as the case's status
        if name == "flex":
            raise RuntimeError(f"flex is unavailable: {e}") from None
        return ReferenceKernel()
