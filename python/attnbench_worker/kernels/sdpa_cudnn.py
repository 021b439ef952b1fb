"""sdpa_cudnn: torch scaled_dot_product_attention pinned to the CUDNN_ATTENTION backend (see sdpa_common)."""

from . import sdpa_common

ID = "sdpa_cudnn"
GROUP = "torch"


def available():
    return sdpa_common.available("CUDNN_ATTENTION")


def build(ctx):
    return sdpa_common.build(ctx, "CUDNN_ATTENTION")
