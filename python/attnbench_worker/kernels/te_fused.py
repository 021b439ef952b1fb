"""te_fused: Transformer Engine DotProductAttention (fused attention backends), when installed."""

from .base import Call, Unsupported, module_available
from .flash_common import bshd, from_bshd, from_thd, thd

ID = "te_fused"
GROUP = "torch"


def available():
    return module_available("transformer_engine.pytorch")


def build(ctx):
    import transformer_engine.pytorch as te

    if ctx.format == "window":
        left, right = int(ctx.arg("left")), int(ctx.arg("right"))
        causal = left < 0 and right == 0
        mask_type = "causal_bottom_right" if causal else "no_mask"
        window = None if (causal or (left < 0 and right < 0)) else (left, right)
        attn = te.DotProductAttention(ctx.hq, ctx.d, num_gqa_groups=ctx.hkv, attn_mask_type=mask_type,
                                      qkv_format="bshd", window_size=window, softmax_scale=ctx.scale)

        def fn(q, k, v):
            return attn(q, k, v).view(q.shape)

        return Call(fn, prep=lambda q, k, v: (bshd(q), bshd(k), bshd(v)), post=from_bshd,
                    notes=[f"attn_mask_type={mask_type}, window_size={window}"])
    if ctx.format == "varlen":
        cu = ctx.arg("cuSeqlensQ").int()
        causal = bool(ctx.arg("causal"))
        w = ctx.arg("window", default=None)
        window = (int(w["left"]), int(w["right"])) if w else None
        mask_type = "padding_causal_bottom_right" if causal else "padding"
        attn = te.DotProductAttention(ctx.hq, ctx.d, num_gqa_groups=ctx.hkv, attn_mask_type=mask_type,
                                      qkv_format="thd", window_size=window, softmax_scale=ctx.scale)
        mx = int(ctx.arg("maxSeqlenQ"))

        def fn(q, k, v):
            return attn(q, k, v, cu_seqlens_q=cu, cu_seqlens_kv=cu, max_seqlen_q=mx, max_seqlen_kv=mx).view(q.shape)

        return Call(fn, prep=lambda q, k, v: (thd(q), thd(k), thd(v)), post=from_thd, notes=[f"thd, {mask_type}"])
    raise Unsupported(f"te_fused takes window or varlen masks, not {ctx.format}")
