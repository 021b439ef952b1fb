"""fa3: flash-attn 3 for Hopper (module flash_attn_interface), when installed."""

from .base import module_available
from .flash_common import build_flash

ID = "fa3"
GROUP = "torch"


def available():
    return module_available("flash_attn_interface")


def build(ctx):
    from flash_attn_interface import flash_attn_func, flash_attn_varlen_func

    def dense(q, k, v, causal, window):
        return flash_attn_func(q, k, v, softmax_scale=ctx.scale, causal=causal, window_size=window)

    def varlen(q, k, v, cu_q, cu_k, mq, mk, causal, window):
        return flash_attn_varlen_func(q, k, v, cu_q, cu_k, mq, mk, softmax_scale=ctx.scale, causal=causal, window_size=window)

    return build_flash(ctx, dense, varlen, ID)
