"""sdpa_math: torch scaled_dot_product_attention pinned to the MATH backend (see sdpa_common)."""

from . import sdpa_common

ID = "sdpa_math"
GROUP = "torch"


def available():
    return sdpa_common.available("MATH")


def build(ctx):
    return sdpa_common.build(ctx, "MATH")
