"""jax_pallas: the Pallas Mosaic GPU attention for Hopper (jax.experimental.pallas.ops.gpu.attention_mgpu)."""

import dataclasses
import inspect

from .base import Unsupported, module_available
from .jax_cudnn import JaxCall

ID = "jax_pallas"
GROUP = "jax"
MODULE = "jax.experimental.pallas.ops.gpu.attention_mgpu"


def available():
    reason = module_available("jax", MODULE)
    if reason:
        return reason
    import jax

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus:
        return "jax sees no GPU"
    cc = getattr(gpus[0], "compute_capability", "9.0")
    if not str(cc).startswith("9"):
        return f"Mosaic GPU attention needs Hopper (compute capability 9.x), found {cc}"
    return None


def build(ctx):
    import importlib

    mgpu = importlib.import_module(MODULE)
    if ctx.format != "window":
        raise Unsupported(f"jax_pallas takes full or causal (window), not {ctx.format}")
    left, right = int(ctx.arg("left")), int(ctx.arg("right"))
    causal = left < 0 and right == 0
    if not causal and not (left < 0 and right < 0):
        raise Unsupported("jax_pallas takes full or causal, not a sliding window")
    fields = {f.name for f in dataclasses.fields(mgpu.TuningConfig)}
    kw = {k: v for k, v in dict(block_q=64, block_kv=64, max_concurrent_steps=2).items() if k in fields}
    if causal:
        if "causal" not in fields:
            raise Unsupported("this jax's Mosaic GPU attention has no causal mode")
        kw["causal"] = True
    config = mgpu.TuningConfig(**kw)
    sig = inspect.signature(mgpu.attention)

    def fn(q, k, v):
        return mgpu.attention(q, k, v, config) if "config" in sig.parameters else mgpu.attention(q, k, v, config=config)

    return JaxCall(fn, [f"TuningConfig({kw})"])
