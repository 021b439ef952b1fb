"""Torch runner: inputs, the prepared call, CUDA-event timing, peak memory, error vs float32.

SPEC 6: warm-up calls, then timed calls with an L2 flush (a buffer several times the L2 size is
written) before each, outside the CUDA events that bracket each call; median / p20 / p80.
Backward: the forward runs once outside the timer and each timed call is the backward alone
(autograd.grad with retain_graph, so nothing accumulates into .grad).
"""

import gc
import time

import torch

from . import arrays, protocol
from .execute import Fatal
from .hostcover import HostCover
from .kernels.base import JobFields, Unsupported
from .slicemask import SliceMask, bands_from_arrays, reference_dense
from .stats import GRADIENTS, exceeds_tolerance, finite, summarize

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
FATAL_PATTERNS = ("illegal memory access", "device-side assert", "unspecified launch failure", "misaligned address",
                  "illegal instruction", "CUDA error: an illegal", "uncorrectable ECC", "CUBLAS_STATUS_EXECUTION_FAILED")
OOM_PATTERNS = ("out of memory", "CUDNN_STATUS_ALLOC_FAILED", "CUBLAS_STATUS_ALLOC_FAILED")
REF_BUDGET_BYTES = 3 << 30


class Ctx(JobFields):
    """Everything a kernel's build() may read: shape (JobFields), ready mask arguments, the slices."""

    def __init__(self, job, base, device):
        super().__init__(job, base, DTYPES)
        self.device = device
        self.per_head = bool(job["mask"].get("perHead", len(job["slices"]) > 1))
        self.gqa = job.get("gqa", "native")
        self._args = {}
        self._bands = None
        self._slice_mask = None

    def arg(self, name, device=True, default=None):
        """A mask argument: scalars as sent, arrays as int32 tensors (on the GPU unless device=False)."""
        v = self.job["mask"].get("args", {}).get(name, default)
        return self._load(v, device, name)

    def _load(self, v, device, key):
        if arrays.is_array_ref(v):
            ck = (key, device)
            if ck not in self._args:
                self._args[ck] = arrays.load_torch(v, self.base, self.device if device else "cpu")
            return self._args[ck]
        if isinstance(v, dict):
            return {k: self._load(x, device, f"{key}.{k}") for k, x in v.items()}
        return v

    @property
    def bands(self):
        """Per mask head: int64 [n, 6] (q0, q1, k0, k1, lo, hi) on the CPU."""
        if self._bands is None:
            self._bands = [
                bands_from_arrays(*(arrays.load_torch(h[k], self.base, "cpu") for k in ("qRanges", "kRanges", "types")))
                for h in self.job["slices"]
            ]
        return self._bands

    @property
    def slice_mask(self):
        if self._slice_mask is None:
            self._slice_mask = SliceMask(self.bands, self.sq, self.sk, self.device)
        return self._slice_mask

    def mask_head_of_query_head(self):
        """Long [Hq]: which mask head each query head uses."""
        h = torch.arange(self.hq, device=self.device)
        return h // self.group if len(self.bands) > 1 else torch.zeros_like(h)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)


def classify(e):
    """(status, message, fatal) for an exception raised by a kernel or the runner."""
    msg = protocol.one_line(f"{type(e).__name__}: {e}")
    text = str(e)
    if isinstance(e, (torch.cuda.OutOfMemoryError, MemoryError)) or any(p in text for p in OOM_PATTERNS):
        return "oom", msg, False
    if any(p in text for p in FATAL_PATTERNS):
        return "error", msg, True
    if "No available kernel" in text:
        return "unsupported", msg, False
    return "error", msg, False


def inputs(ctx, seed):
    g = torch.Generator(device=ctx.device)
    g.manual_seed(seed)
    q = torch.randn((ctx.batch, ctx.hq, ctx.sq, ctx.d), generator=g, device=ctx.device, dtype=ctx.dtype)
    k = torch.randn((ctx.batch, ctx.hkv, ctx.sk, ctx.d), generator=g, device=ctx.device, dtype=ctx.dtype)
    v = torch.randn((ctx.batch, ctx.hkv, ctx.sk, ctx.d), generator=g, device=ctx.device, dtype=ctx.dtype)
    return q, k, v


class Prepared:
    """The timed operation of a job: `timed()` is one forward, or one backward of a fixed forward."""

    def __init__(self, ctx, call, q0, k0, v0):
        self.ctx, self.call = ctx, call
        need_grad = ctx.direction == "bwd"
        with torch.no_grad():
            qp, kp, vp = call.prep(q0, k0, v0)
        self.leaves = [x.detach().requires_grad_(need_grad) for x in (qp, kp, vp)]
        self.out = None
        self.grad = None

    def forward(self):
        return self.call.fn(*self.leaves)

    def setup(self):
        """First call (compilation, autotuning): returns its wall time in ms."""
        t = time.perf_counter()
        if self.ctx.direction == "fwd":
            with torch.no_grad():
                self.forward()
        else:
            self.out = self.forward()
            if not torch.is_tensor(self.out) or not self.out.requires_grad:
                raise Unsupported("the kernel's output carries no autograd graph (no backward)")
            g = torch.Generator(device=self.ctx.device)
            g.manual_seed(self.ctx.job["seed"] + 7)
            self.grad = torch.randn(self.out.shape, generator=g, device=self.out.device, dtype=self.out.dtype)
            torch.cuda.synchronize()
            t = time.perf_counter()
            self.timed()
        torch.cuda.synchronize()
        return (time.perf_counter() - t) * 1e3

    def timed(self):
        if self.ctx.direction == "fwd":
            with torch.no_grad():
                return self.forward()
        return torch.autograd.grad(self.out, self.leaves, self.grad, retain_graph=True)


def flush_buffer(device):
    l2 = int(getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or (50 << 20))
    return torch.empty(max(4 * l2, 256 << 20), dtype=torch.uint8, device=device)


def time_cuda(fn, warmup, iters, flush, cover=None):
    """Per-call CUDA events after `warmup` calls, L2 flushed before each (outside the span). With a
    HostCover that is on, a GPU sleep as long as the previous call's host time goes before each
    call, so that a host-bound call's span is its GPU time (one untimed call sizes the first)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    covered = cover is not None and cover.on
    if covered:
        t0 = time.perf_counter()
        fn()
        cover.after("call", (time.perf_counter() - t0) * 1e3)
        torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    for i in range(iters):
        if flush is not None:
            flush.zero_()
        if covered:
            cover.before("call")
            t0 = time.perf_counter()
        starts[i].record()
        fn()
        ends[i].record()
        if covered:
            cover.after("call", (time.perf_counter() - t0) * 1e3)
    torch.cuda.synchronize()
    return [s.elapsed_time(e) for s, e in zip(starts, ends)]


def peak_memory(fn):
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    r = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del r
    return {"peakDeltaBytes": int(peak - before), "peakTotalBytes": int(peak)}


def reference(ctx, q, k, v, go=None):
    """Float32 attention from the slices, in query-row chunks on the GPU; with go, also dq, dk, dv."""
    mask = reference_dense(ctx.bands, ctx.sq, ctx.sk, ctx.device)
    hidx = ctx.mask_head_of_query_head()
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        qf = q.float()
        kf = k.float().repeat_interleave(ctx.group, dim=1)
        vf = v.float().repeat_interleave(ctx.group, dim=1)
        out = torch.empty_like(qf)
        grads = None
        if go is not None:
            gof = go.float()
            dq, dk, dv = torch.empty_like(qf), torch.zeros_like(kf), torch.zeros_like(vf)
        per_row = ctx.batch * ctx.hq * ctx.sk * 4 * (5 if go is not None else 3)
        rows = max(1, min(ctx.sq, REF_BUDGET_BYTES // per_row))
        for r0 in range(0, ctx.sq, rows):
            r1 = min(ctx.sq, r0 + rows)
            s = torch.matmul(qf[:, :, r0:r1], kf.transpose(-1, -2)) * ctx.scale
            m = mask[:, r0:r1][hidx][None]
            s = s.masked_fill(~m, float("-inf"))
            p = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
            del s
            o = torch.matmul(p, vf)
            out[:, :, r0:r1] = o
            if go is not None:
                gc_ = gof[:, :, r0:r1]
                dp = torch.matmul(gc_, vf.transpose(-1, -2))
                ds = p * (dp - (gc_ * o).sum(-1, keepdim=True))
                del dp
                dq[:, :, r0:r1] = torch.matmul(ds, kf) * ctx.scale
                dk += torch.matmul(ds.transpose(-1, -2), qf[:, :, r0:r1]) * ctx.scale
                dv += torch.matmul(p.transpose(-1, -2), gc_)
                del ds
            del p, o
        if go is not None:
            shape = (ctx.batch, ctx.hkv, ctx.group, ctx.sk, ctx.d)
            grads = (dq, dk.view(shape).sum(2), dv.view(shape).sum(2))
        return out, grads
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


def _err(x, ref):
    d = (x.float() - ref).abs()
    mx = float(d.max()) if d.numel() else 0.0
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    return {"maxAbs": finite(mx), "meanAbs": finite(float(d.mean()) if d.numel() else 0.0), "refMaxAbs": finite(scale)}


def check_errors(ctx, call, q0, k0, v0):
    """Run the kernel once on the standard inputs (through prep/post) and compare with float32."""
    tol = ctx.job["check"]["tolerance"]
    bwd = ctx.direction == "bwd"
    leaves = [x.detach().clone().requires_grad_(bwd) for x in (q0, k0, v0)]
    with torch.set_grad_enabled(bwd):
        out = call.post(call.fn(*call.prep(*leaves)))
        out = out.reshape(ctx.batch, ctx.hq, ctx.sq, ctx.d) if out.dim() != 4 else out
        go = None
        grads = None
        if bwd:
            g = torch.Generator(device=ctx.device)
            g.manual_seed(ctx.job["seed"] + 11)
            go = torch.randn(out.shape, generator=g, device=out.device, dtype=out.dtype)
            grads = torch.autograd.grad(out, leaves, go)
    out = out.detach()
    try:
        ref_out, ref_grads = reference(ctx, q0, k0, v0, go)
    except torch.cuda.OutOfMemoryError:
        ctx.note("no error check: the float32 reference did not fit")
        return None
    e = {"reference": "float32 chunked on GPU (dense mask from slices)"}
    e["out"] = _err(out, ref_out)
    if bwd:
        for name, x, r in zip(GRADIENTS, grads, ref_grads):
            e[name] = _err(x, r)
    e["exceedsTolerance"] = exceeds_tolerance(tol, e)
    if torch.isnan(out).any():
        ctx.note("NaN in output")
    return e


def run(job, mod, base):
    if not torch.cuda.is_available():
        from .kernels.base import Unavailable

        raise Unavailable("torch sees no CUDA GPU")
    device = torch.device("cuda", torch.cuda.current_device())
    ctx = Ctx(job, base, device)
    result = None
    broken = None
    try:
        result = _run(ctx, mod)
    except Unsupported:
        raise
    except Exception as e:  # noqa: BLE001 - classified into a status
        status, msg, fatal = classify(e)
        if fatal:
            raise Fatal(msg) from None
        result = protocol.result(job["id"], job["kernel"], job["direction"], status, msg, notes=ctx.notes)
    finally:
        ctx._args.clear()
        ctx._slice_mask = None
        gc.collect()
        try:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001 - judged below, once no other exception is on its way
            broken = e
    return _checked(result, broken)


def _checked(result, broken):
    """The job's result, unless the CUDA context broke under it: an error a call raised as a plain
    status (cuDNN's nested-tensor backward: "mha_graph.execute ... is_good()") can leave an illegal
    access pending, which the next job would otherwise report as its own error. Then this job is the
    error and the worker restarts (Fatal), so the next job gets a clean context."""
    if broken is None or not classify(broken)[2]:
        return result
    first = result.get("message") if result and result.get("status") != "ok" else None
    what = f"{first}; then" if first else "after the call"
    raise Fatal(protocol.one_line(f"{what} the CUDA context broke: {type(broken).__name__}: {broken}"))


def prepare(ctx, mod):
    """(call, prepared, q0, k0, v0): what run() times and what `bare` times the same way."""
    q0, k0, v0 = inputs(ctx, ctx.job["seed"])
    call = mod.build(ctx)
    if ctx.direction == "bwd" and not call.bwd:
        raise Unsupported(f"{ctx.job['kernel']} has no backward pass")
    return call, Prepared(ctx, call, q0, k0, v0), q0, k0, v0


def _run(ctx, mod):
    job = ctx.job
    call, prep, q0, k0, v0 = prepare(ctx, mod)
    first_ms = prep.setup()
    err = None
    if max(ctx.sq, ctx.sk) <= job["check"]["upTo"]:
        err = check_errors(ctx, call, q0, k0, v0)
    timing = job["timing"]
    if timing.get("allowShort") and (timing["warmup"] < 5 or timing["iters"] < 20):
        ctx.note(f"short timing policy: {timing['warmup']} warm-up, {timing['iters']} timed calls")
    flush = flush_buffer(ctx.device) if timing.get("flushL2", True) else None
    cover = HostCover(ctx.device, env="ATTNBENCH_KERNEL_HOST_COVER", default="0", label="timing")
    samples = time_cuda(prep.timed, timing["warmup"], timing["iters"], flush, cover)
    del flush
    memory = peak_memory(prep.timed)
    notes = ctx.notes + [n for n in call.notes if n not in ctx.notes] + cover.notes()
    return protocol.result(job["id"], job["kernel"], job["direction"], "ok", None,
                           times=summarize(samples, first_ms, call.compiled), memory=memory, error=err, notes=notes)
