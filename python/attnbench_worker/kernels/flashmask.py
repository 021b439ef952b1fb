"""flashmask: PaddlePaddle's flashmask_attention (per-column row bounds), when paddle is installed.

Tensors cross from torch to paddle through DLPack (no copy); the timed call is the paddle op.
"""

from .base import Call, Unsupported, module_available
from .flash_common import bshd, from_bshd

ID = "flashmask"
GROUP = "torch"


def available():
    reason = module_available("paddle")
    if reason:
        return reason
    import paddle

    if not hasattr(paddle.nn.functional, "flashmask_attention"):
        return "this paddle has no paddle.nn.functional.flashmask_attention"
    return None


def build(ctx):
    import paddle
    import torch

    if ctx.format != "flashmask":
        raise Unsupported(f"flashmask takes flashmask row bounds, not {ctx.format}")
    if ctx.direction == "bwd":
        raise Unsupported("flashmask adapter: backward through paddle is not wired to torch autograd")
    rows = ctx.arg("startRowIndices")  # [Sk, 4]
    causal = bool(ctx.arg("causal"))
    idx = rows[:, :2] if causal else rows  # causal mode reads (LTS, LTE) only
    idx = paddle.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(idx.contiguous()[None, None]))

    def to_pd(x):
        return paddle.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(x))

    def fn(q, k, v):
        o = paddle.nn.functional.flashmask_attention(to_pd(q), to_pd(k), to_pd(v), startend_row_indices=idx, causal=causal)
        return torch.utils.dlpack.from_dlpack(paddle.utils.dlpack.to_dlpack(o))

    return Call(fn, prep=lambda q, k, v: (bshd(q), bshd(k), bshd(v)), post=from_bshd, bwd=False, notes=[f"causal={causal}"])
