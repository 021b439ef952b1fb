"""What every kernel module provides, and the small helpers they share.

A kernel module `kernels/<id>.py` defines:
  ID       the kernel id (same as the file name, the TS registry and the database)
  GROUP    'torch' (torch worker process), 'jax' (a JAX process of its own) or 'py' (pure python)
  available() -> None, or a one-line reason why the kernel cannot run here ('unavailable')
  build(ctx) -> Call   (torch kernels; raise Unsupported when the job's mask cannot be expressed)
  run(job, bands_per_head) -> (forward, reference)   ('py' kernels instead of build; see py_ref.py)
  partial_forward / partial_backward (optional): the partial-attention entry; the kernel then
           runs under context parallelism (PartialStep below, ../PROTOCOL.md)
The worker hands build() ready arguments (ctx.args, loaded arrays) and chooses nothing. Built-in
kernels declare their formats and capabilities in their TypeScript descriptor
(src/kernels/registry.ts); an external module (--kernel-module, external.py) declares them in CAPS.
"""

import importlib
import math


class JobFields:
    """The job's fields every runner's context gives build() (torch_exec.Ctx, jax_exec.JaxCtx):
    job, base (folder of its array files), batch, sq, sk, hq, hkv, d, group (= hq // hkv), dtype
    (the runner's dtype object from `dtypes`), direction, format (mask format), scale (1/sqrt(d)),
    notes (lines the runner reports with the row)."""

    def __init__(self, job, base, dtypes):
        s = job["shape"]
        self.job, self.base = job, base
        self.batch, self.sq, self.sk = s["batch"], s["seqlenQ"], s["seqlenK"]
        self.hq, self.hkv, self.d = s["headsQ"], s["headsKv"], s["headDim"]
        self.group = self.hq // self.hkv
        self.dtype = dtypes[s["dtype"]]
        self.direction = job["direction"]
        self.format = job["mask"]["format"]
        self.scale = 1.0 / math.sqrt(self.d)
        self.notes = []


class Unsupported(Exception):
    """The kernel cannot express this mask / shape / direction: status `unsupported`."""


class Unavailable(Exception):
    """A package or device the kernel needs is missing: status `unavailable`."""


class Call:
    """A prepared kernel call.

    prep(q, k, v) -> tensors the kernel takes (layout changes, GQA expansion); runs outside timing
                     and is differentiable, so errors can be measured against the standard inputs.
    fn(q, k, v)   -> output; the timed call (it may build cheap views, e.g. nested tensors).
    post(out)     -> output in the standard layout [B, Hq, S, D] (for the error check only).
    """

    def __init__(self, fn, prep=None, post=None, notes=(), compiled=False, bwd=True):
        self.fn = fn
        self.prep = prep or (lambda q, k, v: (q, k, v))
        self.post = post or (lambda o: o)
        self.notes = list(notes)
        self.compiled = compiled
        self.bwd = bwd


def module_available(*names):
    """None if every module imports, else a one-line reason naming the first missing one."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - any failure to import means unavailable
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            return f"python package '{name}' is not importable: {detail}"
    return None


def expand_kv(x, group):
    """[B, Hkv, S, D] -> [B, Hkv * group, S, D]: query head h reads KV head h // group."""
    return x if group == 1 else x.repeat_interleave(group, dim=1)


def window_of(ctx):
    """(left, right) of a 'window' job, -1 meaning unbounded; and whether it is full or causal."""
    return int(ctx.arg("left", default=-1)), int(ctx.arg("right", default=-1))


def full_or_causal(ctx):
    """'full', 'causal' or None for a 'window' format job."""
    left, right = window_of(ctx)
    if left < 0 and right < 0:
        return "full"
    if left < 0 and right == 0:
        return "causal"
    return None


class PartialStep:
    """What a kernel's partial-attention entry gets besides tensors (context parallelism, ../PROTOCOL.md).

    A kernel module may define, next to build():
      partial_forward(q, k, v, step) -> (o, lse)
          q [Tq, Hq, D], k/v [Tk, Hkv, D] (tokens, heads, dim; Hq a multiple of Hkv, query head h
          reads KV head h // (Hq // Hkv)); o like q; lse [Tq, Hq] float32, natural log, -inf on rows
          without any unmasked key (their o = 0).
      partial_backward(q, k, v, o, lse, do, step) -> (dq, dk, dv)
          the block's gradients from the FINAL merged (o, lse) of these rows (FA2 algorithm 2 with
          the final statistics); any float dtype, shapes of q, k, v.
      partial_prepare(step)      optional: called once per mask outside timing (build cached state)
      partial_available(device)  optional: None or why the entry cannot run on this torch.device
    The executor never calls the entry on an empty mask (it writes zeros / -inf itself).

    Fields: slices  int32 [n, 5] CPU tensor (qStart, qEnd, kStart, kEnd, kind) in the block's local
                    coordinates (kinds as in the shared tables: 0 full, 1 causal, 2 invcausal, 3 bicausal)
            seqlen_q, seqlen_k, area (unmasked pairs), scale (softmax scale)
            arrays  the ready arguments TypeScript wrote for this kernel and mask
                    (src/cp/torch/partial-arrays.ts): name -> int32 tensor on the device, or a number
            device  where the tensors live
            cache   a dict kept with the mask for the whole case (e.g. flex keeps its BlockMask here)
    """

    def __init__(self, slices, seqlen_q, seqlen_k, scale, arrays=None, device=None, area=None):
        self.slices = slices
        self.seqlen_q = seqlen_q
        self.seqlen_k = seqlen_k
        self.scale = scale
        self.arrays = dict(arrays or {})
        self.device = device
        self.area = area
        self.cache = {}

    @property
    def empty(self):
        return not self.area or self.seqlen_q == 0 or self.seqlen_k == 0

    def slice_mask(self):
        """The slices as a slicemask.SliceMask on the step's device (built once, cached)."""
        if "slice_mask" not in self.cache:
            from ..slicemask import SliceMask

            self.cache["slice_mask"] = SliceMask.from_slices(self.slices, self.seqlen_q, self.seqlen_k, self.device)
        return self.cache["slice_mask"]


def has_partial(mod):
    """Whether a kernel module has the partial-attention entry (so it can run under CP)."""
    return callable(getattr(mod, "partial_forward", None)) and callable(getattr(mod, "partial_backward", None))
