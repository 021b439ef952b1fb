"""Inputs and correctness of CP cases: the global Q, K, V, dO, every mask as a kernels.base.PartialStep
(its slices and the arrays TypeScript wrote for the kernel), the single-device float32 reference
(kernels/reference.py on the global mask) and the error accumulators."""

import json
import math
import os

import torch

from .. import kernels
from ..arrays import is_array_ref, load_torch
from ..kernels.base import PartialStep
from ..stats import exceeds_tolerance, finite
from .logic import PlanError, default_outputs
from .manifest import SLICE_ARRAYS


def make_globals(case, device, dtype):
    """Global Q, K, V, dO: unit normal, seeded (the same on every rank of a device kind)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(case.get("inputSeed", 0)))
    s, hq, hk, d = case["seqlen"], case["headsQ"], case["headsKv"], case["headDim"]
    out = {}
    for name, h in (("q", hq), ("k", hk), ("v", hk), ("do", hq)):
        out[name] = torch.randn(s, h, d, generator=gen, device=device, dtype=torch.float32).to(dtype)
    return out


class Masks:
    """The case's masks as PartialSteps by index, built on first use (each rank prepares the masks
    of its own steps); `kernel` (a partial.PartialKernel or None) picks the arrays and prepares."""

    def __init__(self, doc, device, kernel=None):
        self.doc = doc
        self.device = device
        self.kernel = kernel
        self.scale = doc["case"].get("scale") or doc["case"]["headDim"] ** -0.5
        self.cache = {}

    def step(self, entry):
        base = self.doc["_base"]
        s = entry["slices"]
        q, k, t = (load_torch(s[n], base, "cpu") for n in SLICE_ARRAYS)
        slices = torch.cat([q.reshape(-1, 2), k.reshape(-1, 2), t.reshape(-1, 1)], 1).to(torch.int32)
        arrays = {}
        if self.kernel is not None:
            for name, v in (entry.get("arrays") or {}).get(self.kernel.name, {}).items():
                arrays[name] = load_torch(v, base, self.device) if is_array_ref(v) else v
        return PartialStep(slices, entry["seqlenQ"], entry["seqlenK"], self.scale, arrays, self.device, entry.get("area"))

    def __getitem__(self, i):
        if i not in self.cache:
            self.cache[i] = self.step(self.doc["masks"][i])
        return self.cache[i]

    def warm(self, programs):
        """Prepare every mask the given programs use (e.g. flex's BlockMask), outside timing."""
        for prog in programs:
            for phase in ("forward", "backward"):
                for st in prog[phase]:
                    if "mask" in st:
                        self.kernel.prepare(self[st["mask"]])


_REF_CACHE = {}


def reference(g, doc, device, need_bwd):
    """Single-device float32 reference: out, lse, and dq, dk, dv for dO. The last one is kept:
    consecutive cases of the same mask and inputs (every scheme of one family) share it."""
    case = doc["case"]
    key = json.dumps([case[k] for k in ("seqlen", "headsQ", "headsKv", "headDim", "dtype", "inputSeed")]
                     + [doc["mask"]["slices"], os.path.abspath(doc["_base"]), need_bwd, str(device)], sort_keys=True)
    if key in _REF_CACHE:
        return _REF_CACHE[key]
    _REF_CACHE.clear()
    ref = _reference(g, doc, device, need_bwd)
    _REF_CACHE[key] = ref
    return ref


def _reference(g, doc, device, need_bwd):
    step = Masks(doc, device).step(doc["mask"])
    ref_mod = kernels.load("reference")
    q, k, v = g["q"].float(), g["k"].float(), g["v"].float()
    if step.empty:
        out = torch.zeros_like(q)
        lse = torch.full(q.shape[:2], -math.inf, dtype=torch.float32, device=q.device)
    else:
        out, lse = ref_mod.partial_forward(q, k, v, step)
    ref = {"o": out, "lse": lse}
    if need_bwd:
        if step.empty:
            dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        else:
            dq, dk, dv = ref_mod.partial_backward(q, k, v, out, lse, g["do"].float(), step)
        ref.update(dq=dq, dk=dk, dv=dv)
    return ref


class ErrAcc:
    """max / sum / count of absolute errors per quantity, and the reference's largest |value|."""

    def __init__(self):
        self.v = {}

    def add(self, name, got, want):
        diff = (got.float() - want.float()).abs()
        finite = torch.isfinite(want)
        # Both -inf (rows without keys) count as exact; a non-finite result elsewhere is infinite error.
        same_inf = (~finite) & (got.float() == want.float())
        diff = torch.where(same_inf, torch.zeros_like(diff), diff)
        diff = torch.nan_to_num(diff, nan=math.inf)
        ref = torch.where(finite, want.float().abs(), torch.zeros_like(diff))
        m, s, c, r = self.v.get(name, (0.0, 0.0, 0, 0.0))
        self.v[name] = (max(m, float(diff.max()) if diff.numel() else 0.0), s + float(diff.sum()), c + diff.numel(),
                        max(r, float(ref.max()) if ref.numel() else 0.0))

    def merged(self, other_lists):
        out = dict(self.v)
        for v in other_lists:
            for name, (m, s, c, r) in v.items():
                m0, s0, c0, r0 = out.get(name, (0.0, 0.0, 0, 0.0))
                out[name] = (max(m0, m), s0 + s, c0 + c, max(r0, r))
        return out


def compare(acc, ex, program, phase, ref, case):
    from .buffers import gather_tokens

    outs = program.get("outputs", {}).get(phase) or default_outputs(program, phase)
    if not outs:
        raise PlanError(f"rank {ex.rank}: declares no {phase} output buffer (o; dq, dkv)")
    for kind, name in outs.items():
        d = ex.desc(name)
        b = ex.get(name)
        h0, h1 = d["heads"]

        def want(t):
            return gather_tokens(t, d["tokens"])[:, h0:h1]

        if kind == "o":
            acc.add("out", b["x"], want(ref["o"]))
            acc.add("lse", b["lse"], want(ref["lse"]))
        elif kind == "dq":
            acc.add("dq", b["x"], want(ref["dq"]))
        elif kind == "dk":
            acc.add("dk", b["x"], want(ref["dk"]))
        elif kind == "dv":
            acc.add("dv", b["x"], want(ref["dv"]))
        elif kind == "dkv":
            acc.add("dk", b["k"], want(ref["dk"]))
            acc.add("dv", b["v"], want(ref["dv"]))


def error_metrics(vals, names, tol):
    out = {"reference": "float32 dense chunked, single device"}
    for n in names:
        if n in vals:
            m, s, c, r = vals[n]
            out[n] = {"maxAbs": finite(m), "meanAbs": finite(s / c if c else 0.0), "refMaxAbs": finite(r)}
    out["exceedsTolerance"] = exceeds_tolerance(tol, out)
    return out
