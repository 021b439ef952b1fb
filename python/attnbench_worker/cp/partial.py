"""What the `attn`, `merge` and `attn_bwd` steps of a plan compute: partial attention through a
kernel module's partial-attention entry (kernels/<id>.py: partial_forward / partial_backward, see
kernels.base.PartialStep), and the exact log-sum-exp merge. Any kernel with that entry runs under
CP; `reference` (kernels/reference.py, chunked float32), `flex` (kernels/flex.py) and
`triton_ranges` (kernels/triton_ranges.py) have it. The id 'auto' is resolve_kernel_name's rule.

Tensors are [tokens, heads, dim] (batch 1); lse is [tokens, heads] float32, natural log, -inf on
rows without any unmasked key (their output is 0). The adapter here owns what the kernels should
not care about: empty masks (zeros / -inf, no call), and GQA head maps that are not the standard
grouping (a plan's q-head range may need kv heads that are not contiguous groups): kv heads are
sliced, or expanded per q head, before the call and gradients folded back after it.

Merge (online softmax, e.g. FlashAttention-2 section 3.1): for partials (o_a, l_a), (o_b, l_b)
    l = log(exp l_a + exp l_b),  o = exp(l_a - l) o_a + exp(l_b - l) o_b.
"""

import math

import torch

from .. import kernels
from ..kernels.base import has_partial
from .logic import auto_kernel, gqa_grouping

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def _merge_eager(o_a, l_a, o_b, l_b):
    l = torch.logaddexp(l_a, l_b)
    safe = torch.where(torch.isinf(l), torch.zeros_like(l), l)
    wa = torch.exp(l_a - safe)
    wb = torch.exp(l_b - safe)
    o_a.copy_((o_a.float() * wa[..., None] + o_b.float() * wb[..., None]).to(o_a.dtype))
    l_a.copy_(l)


# On CUDA the merge runs as one fused kernel (torch.compile of the same function, shapes dynamic):
# eager, its nine elementwise ops read and write about 54 bytes per bf16 output element (float32
# temporaries); the H200 trace of the granule placement (results/h200/cp/traces.tgz, dispatch
# causal_document P = 8 fwd) has one merge of 8k rows x 64 heads at 1.15 ms, where the simulator
# prices a merge at 3 x the buffer's bytes (~0.1 ms). Any failure to compile falls back to eager
# for the rest of the process, and says so in the rows' notes.
_FUSED = {"fn": None, "failed": None}
NOTES = []


def merge_into(o_a, l_a, o_b, l_b):
    """In-place log-sum-exp merge of (o_b, l_b) into (o_a, l_a); rows with -inf on both stay 0/-inf."""
    if o_a.is_cuda and _FUSED["failed"] is None:
        try:
            if _FUSED["fn"] is None:
                _FUSED["fn"] = torch.compile(_merge_eager, dynamic=True)
            _FUSED["fn"](o_a, l_a, o_b, l_b)
            return
        except Exception as e:  # noqa: BLE001 - compile trouble: eager merges from here on
            _FUSED["failed"] = f"{type(e).__name__}: {e}"[:200]
            NOTES.append(f"merge: fused (compiled) merge failed ({type(e).__name__}), eager merges")
    _merge_eager(o_a, l_a, o_b, l_b)


def _fold_heads(g, kv_idx, hk):
    """Sum per-q-head gradients [Sk, Hq', D] into the kv buffer's heads [Sk, Hk, D]."""
    out = torch.zeros(g.shape[0], hk, g.shape[2], dtype=torch.float32, device=g.device)
    out.index_add_(1, torch.tensor(kv_idx, device=g.device), g.float())
    return out


def _kv_for(k, v, kv_idx):
    """(k, v, expanded?) in the standard grouping: the contiguous kv heads the q heads use, or one
    kv head per q head when the map is not uniform."""
    g = gqa_grouping(kv_idx)
    if g is not None:
        first, n = g
        return k[:, first:first + n], v[:, first:first + n], False
    idx = torch.tensor(kv_idx, device=k.device)
    return k.index_select(1, idx), v.index_select(1, idx), True


class PartialKernel:
    """A kernel module's partial entry, as the executor calls it (kv_idx[h]: the kv head, inside the
    kv buffer, of q head h)."""

    def __init__(self, kernel_id, mod):
        self.name = kernel_id
        self.mod = mod

    @property
    def notes(self):
        return list(getattr(self.mod, "NOTES", [])) + NOTES

    @property
    def bwd_note(self):
        return getattr(self.mod, "PARTIAL_BWD_NOTE", None)

    def prepare(self, step):
        """Once per mask, outside timing: the slices' predicate (reference, mask_mods) and the
        kernel's own state (e.g. flex's BlockMask)."""
        if step.empty:
            return
        step.slice_mask()
        if hasattr(self.mod, "partial_prepare"):
            self.mod.partial_prepare(step)

    def forward(self, q, k, v, kv_idx, step):
        sq, hq, d = q.shape
        if step.empty:
            return (torch.zeros(sq, hq, d, dtype=q.dtype, device=q.device),
                    torch.full((sq, hq), -math.inf, dtype=torch.float32, device=q.device))
        kk, vv, _ = _kv_for(k, v, kv_idx)
        out, lse = self.mod.partial_forward(q.contiguous(), kk.contiguous(), vv.contiguous(), step)
        return out.to(q.dtype), lse.float()

    def backward(self, q, k, v, o, lse, do, kv_idx, step):
        """Contributions of this block: dq [Sq, Hq, D], dk/dv [Sk, Hk_buf, D] (float32)."""
        sq, hq, d = q.shape
        if step.empty:
            z = torch.zeros(k.shape[0], k.shape[1], d, dtype=torch.float32, device=q.device)
            return torch.zeros(sq, hq, d, dtype=torch.float32, device=q.device), z, z.clone()
        kk, vv, expanded = _kv_for(k, v, kv_idx)
        dq, dk, dv = self.mod.partial_backward(q.contiguous(), kk.contiguous(), vv.contiguous(), o.contiguous(),
                                               lse.contiguous(), do.contiguous(), step)
        if expanded:
            return dq.float(), _fold_heads(dk, kv_idx, k.shape[1]), _fold_heads(dv, kv_idx, k.shape[1])
        first = kv_idx[0]
        dk_full = torch.zeros(k.shape[0], k.shape[1], d, dtype=torch.float32, device=q.device)
        dv_full = torch.zeros_like(dk_full)
        dk_full[:, first:first + dk.shape[1]] = dk.float()
        dv_full[:, first:first + dv.shape[1]] = dv.float()
        return dq.float(), dk_full, dv_full


def kernel_problem(kernel_id, device):
    """None, or why kernels/<id>.py cannot be CP's partial kernel on this device."""
    try:
        mod = kernels.load(kernel_id)
    except KeyError:
        return f"unknown kernel {kernel_id!r} (built-in kernels and --kernel-module ones)"
    except Exception as e:  # noqa: BLE001 - its imports fail here
        return f"kernel {kernel_id} cannot be loaded: {type(e).__name__}: {e}"
    if not has_partial(mod):
        return f"kernel {kernel_id} has no partial-attention entry (partial_forward / partial_backward), so it cannot run under CP"
    check = getattr(mod, "partial_available", None)
    return check(device) if check else mod.available()


def resolve_kernel_name(name, device, shape=None):
    """The kernel id 'auto' (or none) stands for on this device (logic.auto_kernel: the shared tables'
    cpAuto rule, src/kernels/cp-auto.ts): on CUDA triton_ranges where its limits take `shape`
    (logic.case_shape) and kernel_problem finds none, else flex likewise, else the reference. The
    name records and --resume keys carry."""
    if name not in (None, "auto"):
        return name
    return auto_kernel(device.type, shape, lambda k: kernel_problem(k, device) is None)


def make_kernel(name, device, shape=None):
    """The CP kernel: a kernel id with the partial entry, or 'auto' (resolve_kernel_name).
    RuntimeError says why an explicitly named kernel cannot run."""
    name = resolve_kernel_name(name, device, shape)
    problem = kernel_problem(name, device)
    if problem:
        raise RuntimeError(problem)
    return PartialKernel(name, kernels.load(name))
