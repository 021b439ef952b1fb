"""sdpa_efficient: torch scaled_dot_product_attention pinned to the EFFICIENT_ATTENTION backend (see sdpa_common)."""

from . import sdpa_common

ID = "sdpa_efficient"
GROUP = "torch"


def available():
    return sdpa_common.available("EFFICIENT_ATTENTION")


def build(ctx):
    return sdpa_common.build(ctx, "EFFICIENT_ATTENTION")
