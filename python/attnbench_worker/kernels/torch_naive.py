"""torch_naive: eager matmul + softmax with a dense boolean mask from the slices.

Materialises S x S scores per head, so it runs out of memory early: that is a finding (SPEC 5).
GQA is native here: query heads are grouped per KV head and broadcast in the matmul.
"""

import torch

from .base import Call, Unsupported, module_available

ID = "torch_naive"
GROUP = "torch"


def available():
    reason = module_available("torch")
    if reason:
        return reason
    return None if torch.cuda.is_available() else "torch sees no CUDA GPU"


def build(ctx):
    if ctx.format != "dense":
        raise Unsupported(f"torch_naive takes a dense mask, not {ctx.format}")
    dense = ctx.slice_mask.dense()  # [Hm, Sq, Sk], Hm in {1, Hkv}
    mask = dense[None, :, None]  # [1, Hm, 1, Sq, Sk] broadcast over batch and the query-head group
    b, hq, hkv, g = ctx.batch, ctx.hq, ctx.hkv, ctx.group

    def fn(q, k, v):
        qg = q.view(b, hkv, g, ctx.sq, ctx.d)
        s = torch.matmul(qg, k.unsqueeze(2).transpose(-1, -2)) * ctx.scale
        s = s.masked_fill(~mask, float("-inf"))
        p = torch.softmax(s.float(), dim=-1).to(q.dtype)
        o = torch.matmul(p, v.unsqueeze(2))
        return o.reshape(b, hq, ctx.sq, ctx.d)

    return Call(fn, notes=["dense boolean mask, scores materialised"])
