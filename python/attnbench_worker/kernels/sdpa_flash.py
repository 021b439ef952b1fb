"""sdpa_flash: torch scaled_dot_product_attention pinned to the FLASH_ATTENTION backend (see sdpa_common)."""

from . import sdpa_common

ID = "sdpa_flash"
GROUP = "torch"


def available():
    return sdpa_common.available("FLASH_ATTENTION")


def build(ctx):
    return sdpa_common.build(ctx, "FLASH_ATTENTION")
