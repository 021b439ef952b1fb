"""magi_ffa: MagiAttention's flexible flash attention (FFA) over the slice list, when installed."""

from .base import Call, Unsupported, module_available
from .flash_common import first, from_thd, thd

ID = "magi_ffa"
GROUP = "torch"


def available():
    return module_available("magi_attention")


def build(ctx):
    import torch
    from magi_attention.functional import flex_flash_attn_func

    if ctx.format != "slices":
        raise Unsupported(f"magi_ffa takes slices, not {ctx.format}")
    if ctx.batch != 1:
        raise Unsupported("magi_ffa adapter packs batch 1")
    q_ranges = ctx.arg("qRanges").to(torch.int32)
    k_ranges = ctx.arg("kRanges").to(torch.int32)
    types = ctx.arg("types").to(torch.int32)  # same codes as AttnMaskType: 0 full 1 causal 2 invcausal 3 bicausal

    def fn(q, k, v):
        return first(flex_flash_attn_func(q, k, v, q_ranges=q_ranges, k_ranges=k_ranges, attn_type_map=types,
                                          max_seqlen_q=ctx.sq, max_seqlen_k=ctx.sk, softmax_scale=ctx.scale))

    return Call(fn, prep=lambda q, k, v: (thd(q), thd(k), thd(v)), post=from_thd, notes=[f"{q_ranges.shape[0]} slices"])
