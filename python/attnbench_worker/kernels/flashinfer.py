"""flashinfer: FlashInfer prefill kernels (forward only), when installed."""

from .base import Call, Unsupported, module_available
from .flash_common import from_thd, thd

ID = "flashinfer"
GROUP = "torch"


def available():
    return module_available("flashinfer")


def build(ctx):
    import torch
    import flashinfer

    if ctx.batch != 1:
        raise Unsupported("flashinfer adapter packs batch 1")
    if ctx.format == "window":
        left, right = int(ctx.arg("left")), int(ctx.arg("right"))
        causal = left < 0 and right == 0
        if right > 0 or (right < 0 and left >= 0):
            raise Unsupported("flashinfer's window is left-only (window_left)")
        wl = left if left >= 0 else -1

        def fn(q, k, v):
            return flashinfer.single_prefill_with_kv_cache(q, k, v, causal=causal or right == 0, window_left=wl, sm_scale=ctx.scale)

        return Call(fn, prep=lambda q, k, v: (thd(q), thd(k), thd(v)), post=from_thd, bwd=False,
                    notes=[f"single_prefill causal={causal}, window_left={wl}"])
    if ctx.format == "varlen":
        cu = ctx.arg("cuSeqlensQ").int()
        causal = bool(ctx.arg("causal"))
        ws = torch.empty(256 << 20, dtype=torch.uint8, device=ctx.device)
        w = flashinfer.BatchPrefillWithRaggedKVCacheWrapper(ws, "NHD")
        w.plan(cu, cu, ctx.hq, ctx.hkv, ctx.d, causal=causal, sm_scale=ctx.scale, q_data_type=ctx.dtype)

        def fn(q, k, v):
            return w.run(q, k, v)

        return Call(fn, prep=lambda q, k, v: (thd(q), thd(k), thd(v)), post=from_thd, bwd=False,
                    notes=[f"ragged batch prefill, causal={causal}"])
    raise Unsupported(f"flashinfer takes window or varlen masks, not {ctx.format}")
