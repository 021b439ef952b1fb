"""JAX runner (a process of its own: XLA_PYTHON_CLIENT_PREALLOCATE=false, never next to torch).

Same job, same statuses as the torch runner. Timing: JAX has no per-call CUDA events here, so each
call is timed on the host around block_until_ready (noted); L2 is flushed by writing a buffer
larger than L2 outside the timed span. The float32 reference runs on the GPU in row chunks, with
a dense mask from the slices per chunk.
"""

import os
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from . import arrays, protocol, pyref  # noqa: E402
from .kernels.base import JobFields, Unavailable  # noqa: E402
from .stats import GRADIENTS, exceeds_tolerance, finite, summarize  # noqa: E402

DTYPES = {"bfloat16": jnp.bfloat16, "float16": jnp.float16, "float32": jnp.float32}


class JaxCtx(JobFields):
    def __init__(self, job, base):
        super().__init__(job, base, DTYPES)
        self._bands = None

    def arg(self, name, default=None):
        v = self.job["mask"].get("args", {}).get(name, default)
        if arrays.is_array_ref(v):
            return np.frombuffer(arrays.read_bytes(v, self.base), dtype="<i4").reshape(v["shape"])
        return v

    @property
    def bands(self):
        if self._bands is None:
            self._bands = []
            for h in self.job["slices"]:
                lists = [arrays.load_list(h[k], self.base) for k in ("qRanges", "kRanges", "types")]
                self._bands.append(pyref.slices_to_bands(*lists))
        return self._bands

    def dense_rows(self, h, r0, r1):
        """numpy bool [r1 - r0, Sk] of mask head h (band test per slice, vectorised per slice)."""
        out = np.zeros((r1 - r0, self.sk), dtype=bool)
        for q0, q1, k0, k1, lo, hi in self.bands[h]:
            a, b = max(q0, r0), min(q1, r1)
            if b <= a or k1 <= k0:
                continue
            i = np.arange(a, b)[:, None]
            j = np.arange(k0, k1)[None, :]
            d = j - i
            keep = np.ones_like(d, dtype=bool)
            if lo is not None:
                keep &= d >= lo
            if hi is not None:
                keep &= d <= hi
            out[a - r0:b - r0, k0:k1] |= keep
        return out

    def dense(self):
        return np.stack([self.dense_rows(h, 0, self.sq) for h in range(len(self.bands))])


def _reference(ctx, q, k, v, go=None, budget=2 << 30):
    """Float32 attention (and dq, dk, dv with go) in row chunks; inputs [B, S, H, D]."""
    hi = jax.lax.Precision.HIGHEST
    qf, kf, vf = (x.astype(jnp.float32) for x in (q, k, v))
    kf = jnp.repeat(kf, ctx.group, axis=2)
    vf = jnp.repeat(vf, ctx.group, axis=2)
    hm = len(ctx.bands)
    hidx = np.arange(ctx.hq) // ctx.group if hm > 1 else np.zeros(ctx.hq, dtype=int)
    rows = max(1, min(ctx.sq, budget // (ctx.batch * ctx.hq * ctx.sk * 4 * 5)))
    outs, dqs = [], []
    dk = jnp.zeros_like(kf)
    dv = jnp.zeros_like(vf)
    for r0 in range(0, ctx.sq, rows):
        r1 = min(ctx.sq, r0 + rows)
        m = np.stack([ctx.dense_rows(h, r0, r1) for h in range(hm)])[hidx][None]  # [1, H, C, Sk]
        s = jnp.einsum("bqhd,bkhd->bhqk", qf[:, r0:r1], kf, precision=hi) * ctx.scale
        s = jnp.where(m, s, -jnp.inf)
        p = jnp.nan_to_num(jax.nn.softmax(s, axis=-1), nan=0.0)
        o = jnp.einsum("bhqk,bkhd->bqhd", p, vf, precision=hi)
        outs.append(o)
        if go is not None:
            g = go[:, r0:r1].astype(jnp.float32)
            dp = jnp.einsum("bqhd,bkhd->bhqk", g, vf, precision=hi)
            delta = jnp.einsum("bqhd,bqhd->bhq", g, o, precision=hi)[..., None]
            ds = p * (dp - delta)
            dqs.append(jnp.einsum("bhqk,bkhd->bqhd", ds, kf, precision=hi) * ctx.scale)
            dk = dk + jnp.einsum("bhqk,bqhd->bkhd", ds, qf[:, r0:r1], precision=hi) * ctx.scale
            dv = dv + jnp.einsum("bhqk,bqhd->bkhd", p, g, precision=hi)
    out = jnp.concatenate(outs, axis=1)
    if go is None:
        return out, None
    shape = (ctx.batch, ctx.sk, ctx.hkv, ctx.group, ctx.d)
    return out, (jnp.concatenate(dqs, axis=1), dk.reshape(shape).sum(3), dv.reshape(shape).sum(3))


def _err(x, r):
    d = jnp.abs(x.astype(jnp.float32) - r)
    mx = float(jnp.max(d))
    return {"maxAbs": finite(mx), "meanAbs": finite(float(jnp.mean(d))), "refMaxAbs": finite(float(jnp.max(jnp.abs(r))))}


def _classify(e):
    msg = protocol.one_line(f"{type(e).__name__}: {e}")
    text = str(e)
    if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in text or "out of memory" in text.lower():
        return "oom", msg
    return "error", msg


def run(job, mod, base):
    if not any(d.platform == "gpu" for d in jax.devices()):
        raise Unavailable("jax sees no GPU")
    ctx = JaxCtx(job, base)
    try:
        return _run(ctx, mod)
    except Exception as e:  # noqa: BLE001 - classified into a status
        from .kernels.base import Unsupported

        if isinstance(e, (Unsupported, Unavailable)):
            raise
        status, msg = _classify(e)
        return protocol.result(job["id"], job["kernel"], job["direction"], status, msg, notes=ctx.notes)
    finally:
        jax.clear_caches()


def _run(ctx, mod):
    job = ctx.job
    key = jax.random.PRNGKey(job["seed"])
    kq, kk, kv, kg = jax.random.split(key, 4)
    q = jax.random.normal(kq, (ctx.batch, ctx.sq, ctx.hq, ctx.d), ctx.dtype)
    k = jax.random.normal(kk, (ctx.batch, ctx.sk, ctx.hkv, ctx.d), ctx.dtype)
    v = jax.random.normal(kv, (ctx.batch, ctx.sk, ctx.hkv, ctx.d), ctx.dtype)
    call = mod.build(ctx)
    fwd = jax.jit(call.fn)
    t = time.perf_counter()
    out = jax.block_until_ready(fwd(q, k, v))
    first_ms = (time.perf_counter() - t) * 1e3
    if ctx.direction == "fwd":
        def timed():
            return jax.block_until_ready(fwd(q, k, v))
    else:
        out, vjp_fn = jax.vjp(fwd, q, k, v)
        g = jax.random.normal(kg, out.shape, out.dtype)
        bwd = jax.jit(lambda f, g_: f(g_))
        t = time.perf_counter()
        grads = jax.block_until_ready(bwd(vjp_fn, g))
        first_ms = (time.perf_counter() - t) * 1e3

        def timed():
            return jax.block_until_ready(bwd(vjp_fn, g))
    err = None
    if max(ctx.sq, ctx.sk) <= job["check"]["upTo"]:
        tol = job["check"]["tolerance"]
        if ctx.direction == "fwd":
            ref, _ = _reference(ctx, q, k, v)
        else:
            ref, rgrads = _reference(ctx, q, k, v, g)
        err = {"reference": "float32 chunked on GPU, jax (dense mask from slices)"}
        err["out"] = _err(out, ref)
        if ctx.direction == "bwd":
            for name, x, r in zip(GRADIENTS, grads, rgrads):
                err[name] = _err(x, r)
        err["exceedsTolerance"] = exceeds_tolerance(tol, err)
    timing = job["timing"]
    flush = jnp.zeros((64 << 20,), jnp.float32) if timing.get("flushL2", True) else None
    touch = jax.jit(lambda x: x + 1.0)
    for _ in range(timing["warmup"]):
        timed()
    samples = []
    for _ in range(timing["iters"]):
        if flush is not None:
            flush = jax.block_until_ready(touch(flush))
        t = time.perf_counter()
        timed()
        samples.append((time.perf_counter() - t) * 1e3)
    notes = ctx.notes + call.notes + ["host-timed around block_until_ready (JAX)", "memory not measured (JAX keeps no resettable peak)"]
    return protocol.result(job["id"], job["kernel"], job["direction"], "ok", None,
                           times=summarize(samples, first_ms, True, clock="host_block_until_ready"), memory=None, error=err, notes=notes)
