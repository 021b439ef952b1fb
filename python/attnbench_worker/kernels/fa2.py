"""fa2: flash-attn 2 (flash_attn_func / flash_attn_varlen_func), when the package is installed."""

from .base import module_available
from .flash_common import build_flash_module

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
    return build_flash_module(ctx, "flash_attn", ID)
