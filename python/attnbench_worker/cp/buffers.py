"""Rank buffers as tensors: a buffer is a dict {part: tensor} laid out as logic.py documents
(tokens first, then heads). Allocation from descriptors, filling inputs from the global tensors,
and re-layout between buffers (sub-ranges of tokens and heads) for copy and accumulate."""

import math

import torch

from .logic import GRAD_TENSORS, PlanError, coalesced_runs, overlap_runs, part_shape, parts_of, ranges_len


class Dtypes:
    """Element types: model dtype for activations, `grad` for gradient buffers, float32 for lse."""

    def __init__(self, model, grad):
        self.model = model
        self.grad = grad

    def of(self, tensor, part):
        if part == "lse":
            return torch.float32
        return self.grad if tensor in GRAD_TENSORS else self.model


def alloc(desc, dts, head_dim, device, fill=None):
    """New buffer for a descriptor: uninitialized, or filled (0 for data, -inf for lse) when fill."""
    out = {}
    for p in parts_of(desc["tensor"]):
        shape = part_shape(desc, p, head_dim)
        dt = dts.of(desc["tensor"], p)
        if fill is None:
            out[p] = torch.empty(shape, dtype=dt, device=device)
        elif p == "lse":
            out[p] = torch.full(shape, -math.inf, dtype=dt, device=device)
        else:
            out[p] = torch.zeros(shape, dtype=dt, device=device)
    return out


def gather_tokens(t, ranges):
    """Rows of a global [S, ...] tensor at the concatenated ranges."""
    if len(ranges) == 1:
        s, e = ranges[0]
        return t[s:e]
    return torch.cat([t[s:e] for s, e in ranges], 0)


GLOBAL_OF = {"q": "q", "k": "k", "v": "v", "do": "do"}


def from_globals(desc, g, dts):
    """Fill an input buffer (q, k, v, kv, do) from the global tensors g = {q, k, v, do}."""
    tensor = desc["tensor"]
    h0, h1 = desc["heads"]
    if tensor == "kv":
        src = {"k": g["k"], "v": g["v"]}
    elif tensor in GLOBAL_OF:
        src = {"x": g[GLOBAL_OF[tensor]]}
    else:
        raise PlanError(f"a {tensor!r} buffer cannot be an input: only q, k, v, kv and do come from outside")
    return {p: gather_tokens(t, desc["tokens"])[:, h0:h1].to(dts.of(tensor, p)).contiguous() for p, t in src.items()}


PART_MAP = {
    # (from tensor, into tensor) -> [(from part, into part)]
    ("kv", "k"): [("k", "x")],
    ("kv", "v"): [("v", "x")],
    ("dkv", "dk"): [("k", "x")],
    ("dkv", "dv"): [("v", "x")],
    ("o", "lse"): [("lse", "lse")],
}


def part_pairs(from_t, into_t):
    if from_t == into_t:
        return [(p, p) for p in parts_of(from_t)]
    if (from_t, into_t) in PART_MAP:
        return PART_MAP[(from_t, into_t)]
    raise PlanError(f"cannot relayout a {from_t!r} buffer into a {into_t!r} buffer")


def relayout(src, src_desc, dst_desc, dst, add=False):
    """Copy (or add) into dst every (token, head) element of src that dst also holds: the
    coordinate semantics of `copy` and `accumulate` (src/cp/types.ts). Works in place on dst."""
    pairs = part_pairs(src_desc["tensor"], dst_desc["tensor"])
    h0 = max(src_desc["heads"][0], dst_desc["heads"][0])
    h1 = min(src_desc["heads"][1], dst_desc["heads"][1])
    if h1 <= h0:
        return dst
    sh, dh = h0 - src_desc["heads"][0], h0 - dst_desc["heads"][0]
    n_h = h1 - h0
    for do_, so, n in coalesced_runs(dst_desc["tokens"], src_desc["tokens"]):
        for sp, dp in pairs:
            view = dst[dp][do_:do_ + n, dh:dh + n_h]
            val = src[sp][so:so + n, sh:sh + n_h]
            if add:
                view.add_(val.to(view.dtype))
            else:
                view.copy_(val)
    return dst


def covers(src_desc, dst_desc):
    """True when src holds every (token, head) of dst (a copy then overwrites all of dst)."""
    if src_desc["heads"][0] > dst_desc["heads"][0] or src_desc["heads"][1] < dst_desc["heads"][1]:
        return False
    return sum(n for _, _, n in overlap_runs(dst_desc["tokens"], src_desc["tokens"])) == ranges_len(dst_desc["tokens"])


def clone_buf(b):
    return {p: t.clone() for p, t in b.items()}


def nbytes(b):
    return sum(t.numel() * t.element_size() for t in b.values())
