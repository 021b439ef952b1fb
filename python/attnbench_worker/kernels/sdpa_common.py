"""Shared body of the four torch SDPA backends (sdpa_math, sdpa_efficient, sdpa_flash, sdpa_cudnn).

Mask inputs, as sent by the TypeScript adapters:
  window  full or causal only (is_causal); SDPA has no sliding-window argument
  varlen  documents as nested (jagged) tensors, causal or full within each document
  dense   boolean attn_mask [1, 1 or Hq, S, S] built from the slices
Each call is pinned to its backend with sdpa_kernel([backend]); a backend that refuses the
inputs raises "No available kernel", which the runner records as `unsupported`.
"""

import torch
import torch.nn.functional as F

from .base import Call, Unsupported, expand_kv, full_or_causal, module_available


def available(backend_name):
    reason = module_available("torch")
    if reason:
        return reason
    if not torch.cuda.is_available():
        return "torch sees no CUDA GPU"
    try:
        from torch.nn.attention import SDPBackend  # noqa: F401
    except ImportError:
        return "this torch has no torch.nn.attention.SDPBackend"
    if backend_name == "CUDNN_ATTENTION" and not torch.backends.cudnn.is_available():
        return "cuDNN is not available to torch"
    return None


def build(ctx, backend_name):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = getattr(SDPBackend, backend_name)
    notes = []
    expand = ctx.gqa == "expand" and ctx.group > 1
    enable_gqa = ctx.gqa == "native" and ctx.group > 1
    if expand:
        notes.append("expanded GQA K/V")
    gkw = {"enable_gqa": True} if enable_gqa else {}

    def prep_std(q, k, v):
        return (q, expand_kv(k, ctx.group), expand_kv(v, ctx.group)) if expand else (q, k, v)

    if ctx.format == "window":
        kind = full_or_causal(ctx)
        if kind is None:
            raise Unsupported("SDPA has no sliding-window argument (is_causal only)")
        causal = kind == "causal"

        def fn(q, k, v):
            with sdpa_kernel([backend]):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=ctx.scale, **gkw)

        return Call(fn, prep=prep_std, notes=notes + [f"is_causal={causal}"])

    if ctx.format == "dense":
        dense = ctx.slice_mask.dense()  # [Hm, Sq, Sk]
        if dense.shape[0] > 1:
            hidx = ctx.mask_head_of_query_head()
            dense = dense[hidx]  # per-head mask over query heads (a copy: Hq x S x S booleans)
        mask = dense[None]
        notes.append("dense boolean attn_mask")

        def fn(q, k, v):
            with sdpa_kernel([backend]):
                return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=ctx.scale, **gkw)

        return Call(fn, prep=prep_std, notes=notes)

    if ctx.format == "varlen":
        return _nested(ctx, backend, sdpa_kernel, notes, expand, gkw)

    raise Unsupported(f"SDPA takes window (full/causal), varlen or dense masks, not {ctx.format}")


def _nested(ctx, backend, sdpa_kernel, notes, expand, gkw):
    if ctx.batch != 1:
        raise Unsupported("varlen documents are packed into batch 1")
    cu_q = ctx.arg("cuSeqlensQ")
    cu_k = ctx.arg("cuSeqlensK")
    window = ctx.arg("window", default=None)
    if window and (int(window.get("left", -1)) >= 0 or int(window.get("right", -1)) >= 0):
        raise Unsupported("nested-tensor SDPA has no sliding window")
    if cu_q.shape != cu_k.shape or not torch.equal(cu_q, cu_k):
        raise Unsupported("nested-tensor SDPA needs the same document boundaries for queries and keys")
    causal = bool(ctx.arg("causal"))
    offsets = cu_q.to(torch.int64)
    max_len = int(ctx.arg("maxSeqlenQ"))
    # Both extremes given: without min_seqlen SDPA on jagged tensors reads it back from the GPU in
    # every call (a host sync inside the timed span; issue 15, docs/simulator-record.md).
    min_len = int(ctx.arg("minSeqlenQ"))
    notes.append("via nested (jagged) tensors")
    if ctx.group > 1 and not expand:
        # No SDPA backend takes enable_gqa with jagged tensors ("No viable backend"): expand K/V.
        expand, gkw = True, {}
        notes.append("expanded GQA K/V (nested tensors take no enable_gqa)")

    def to_values(x):  # [1, H, S, D] -> [S, H, D] (packed tokens)
        return x[0].transpose(0, 1).contiguous()

    def prep(q, k, v):
        if expand:
            k, v = expand_kv(k, ctx.group), expand_kv(v, ctx.group)
        return to_values(q), to_values(k), to_values(v)

    def njt(x):
        return torch.nested.nested_tensor_from_jagged(x, offsets, min_seqlen=min_len, max_seqlen=max_len).transpose(1, 2)

    def fn(q, k, v):
        with sdpa_kernel([backend]):
            o = F.scaled_dot_product_attention(njt(q), njt(k), njt(v), is_causal=causal, scale=ctx.scale, **gkw)
        return o.transpose(1, 2).values()

    def post(o):
        return o.transpose(0, 1)[None]

    return Call(fn, prep=prep, post=post, notes=notes + [f"is_causal={causal}"])
