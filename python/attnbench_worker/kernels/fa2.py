"""fa2: flash-attn 2 (flash_attn_func / flash_attn_varlen_func), when the package is installed."""

from .base import module_available
from .flash_common import build_flash

ID = "fa2"
GROUP = "torch"


def available():
    reason = module_available("flash_attn")
    if reason:
        return reason
    import flash_attn

    if not str(getattr(flash_attn, "__version__", "2")).startswith("2"):
        return f"flash_attn {flash_attn.__version__} is not flash-attn 2"
    return None


def build(ctx):
    from flash_attn import flash_attn_func, flash_attn_varlen_func

    def dense(q, k, v, causal, window):
        return flash_attn_func(q, k, v, softmax_scale=ctx.scale, causal=causal, window_size=window)

    def varlen(q, k, v, cu_q, cu_k, mq, mk, causal, window):
        return flash_attn_varlen_func(q, k, v, cu_q, cu_k, mq, mk, softmax_scale=ctx.scale, causal=causal, window_size=window)

    return build_flash(ctx, dense, varlen, ID)
