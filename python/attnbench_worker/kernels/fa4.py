"""fa4: flash-attn 4 written in the CuTe DSL (module flash_attn.cute), when installed."""

from .base import module_available
from .flash_common import build_flash

ID = "fa4"
GROUP = "torch"


def available():
    return module_available("flash_attn.cute")


def build(ctx):
    from flash_attn.cute import interface as fa4

    def window(w):
        return tuple(None if x < 0 else x for x in w)  # fa4 spells "unbounded" as None

    def dense(q, k, v, causal, w):
        return fa4.flash_attn_func(q, k, v, softmax_scale=ctx.scale, causal=causal, window_size=window(w))

    def varlen(q, k, v, cu_q, cu_k, mq, mk, causal, w):
        return fa4.flash_attn_varlen_func(q, k, v, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k, max_seqlen_q=mq, max_seqlen_k=mk,
                                          softmax_scale=ctx.scale, causal=causal, window_size=window(w))

    return build_flash(ctx, dense, varlen, ID)
