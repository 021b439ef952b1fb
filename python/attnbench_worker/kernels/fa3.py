"""fa3: flash-attn 3 for Hopper (module flash_attn_interface), when installed."""

from .base import module_available
from .flash_common import build_flash_module

ID = "fa3"
GROUP = "torch"


def available():
    return module_available("flash_attn_interface")


def build(ctx):
    return build_flash_module(ctx, "flash_attn_interface", ID)
