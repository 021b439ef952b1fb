"""Shared plumbing of the FlashAttention-style optional packages (fa2, fa3, fa4, te_fused, flashinfer).

They take [batch, seq, heads, dim] tensors (window format: window_size=(left, right), -1 unbounded,
causal when (-1, 0)) or packed [tokens, heads, dim] with cu_seqlens (varlen format). GQA is native
in all of them. These adapters call the package with the arrays the TypeScript adapters made; when
the package is missing the kernel reports `unavailable`.
"""

import importlib

import torch

from .base import Call, Unsupported


def bshd(x):  # [B, H, S, D] -> [B, S, H, D]
    return x.transpose(1, 2).contiguous()


def thd(x):  # [1, H, S, D] -> [S, H, D]
    return x[0].transpose(0, 1).contiguous()


def from_bshd(o):
    return o.transpose(1, 2)


def from_thd(o):
    return o.transpose(0, 1)[None]


def first(o):
    """Some versions return (out, lse) or (out, lse, ...): keep the output."""
    return o[0] if isinstance(o, (tuple, list)) else o


def window_call(ctx, call_dense, notes):
    """call_dense(q, k, v, causal, window) on [B, S, H, D]; window = (left, right) with -1 unbounded."""
    left, right = int(ctx.arg("left")), int(ctx.arg("right"))
    causal = left < 0 and right == 0
    window = (-1, -1) if causal else (left, right)

    def prep(q, k, v):
        return bshd(q), bshd(k), bshd(v)

    def fn(q, k, v):
        return first(call_dense(q, k, v, causal, window))

    return Call(fn, prep=prep, post=from_bshd, notes=notes + [f"window_size={window}, causal={causal}"])


def varlen_call(ctx, call_varlen, notes):
    """call_varlen(q, k, v, cu_q, cu_k, max_q, max_k, causal, window) on packed [T, H, D]."""
    if ctx.batch != 1:
        raise Unsupported("varlen documents are packed into batch 1")
    cu_q = ctx.arg("cuSeqlensQ").to(torch.int32)
    cu_k = ctx.arg("cuSeqlensK").to(torch.int32)
    max_q, max_k = int(ctx.arg("maxSeqlenQ")), int(ctx.arg("maxSeqlenK"))
    causal = bool(ctx.arg("causal"))
    w = ctx.arg("window", default=None)
    window = (int(w.get("left", -1)), int(w.get("right", -1))) if w else (-1, -1)

    def prep(q, k, v):
        return thd(q), thd(k), thd(v)

    def fn(q, k, v):
        return first(call_varlen(q, k, v, cu_q, cu_k, max_q, max_k, causal, window))

    return Call(fn, prep=prep, post=from_thd, notes=notes + ["cu_seqlens (varlen)", f"causal={causal}, window_size={window}"])


def build_flash(ctx, dense_fn, varlen_fn, name):
    if ctx.format == "window":
        return window_call(ctx, dense_fn, [])
    if ctx.format == "varlen":
        return varlen_call(ctx, varlen_fn, [])
    raise Unsupported(f"{name} takes window or varlen masks, not {ctx.format}")


def build_flash_module(ctx, module, name):
    """build_flash over a module with flash-attn 2's flash_attn_func / flash_attn_varlen_func
    signatures (flash_attn for fa2, flash_attn_interface for fa3)."""
    mod = importlib.import_module(module)

    def dense(q, k, v, causal, window):
        return mod.flash_attn_func(q, k, v, softmax_scale=ctx.scale, causal=causal, window_size=window)

    def varlen(q, k, v, cu_q, cu_k, mq, mk, causal, window):
        return mod.flash_attn_varlen_func(q, k, v, cu_q, cu_k, mq, mk, softmax_scale=ctx.scale, causal=causal, window_size=window)

    return build_flash(ctx, dense, varlen, name)
