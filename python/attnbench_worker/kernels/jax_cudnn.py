"""jax_cudnn: jax.nn.dot_product_attention with implementation='cudnn' (its own JAX process)."""

from .base import Unsupported, module_available

ID = "jax_cudnn"
GROUP = "jax"


class JaxCall:
    def __init__(self, fn, notes=()):
        self.fn, self.notes = fn, list(notes)


def available():
    reason = module_available("jax")
    if reason:
        return reason
    import jax

    if not any(d.platform == "gpu" for d in jax.devices()):
        return "jax sees no GPU"
    return None


def build(ctx):
    import jax
    import jax.numpy as jnp

    if ctx.format == "window":
        left, right = int(ctx.arg("left")), int(ctx.arg("right"))
        causal = left < 0 and right == 0
        kw = {"is_causal": causal}
        if not causal and (left >= 0 or right >= 0):
            big = max(ctx.sq, ctx.sk)
            kw["local_window_size"] = (left if left >= 0 else big, right if right >= 0 else big)

        def fn(q, k, v):
            return jax.nn.dot_product_attention(q, k, v, scale=ctx.scale, implementation="cudnn", **kw)

        return JaxCall(fn, [f"{kw}"])
    if ctx.format == "dense":
        m = ctx.dense()  # [Hm, Sq, Sk]
        if m.shape[0] > 1:
            import numpy as np

            m = m[np.arange(ctx.hq) // ctx.group]
        mask = jnp.asarray(m[None])

        def fn(q, k, v):
            return jax.nn.dot_product_attention(q, k, v, mask=mask, scale=ctx.scale, implementation="cudnn")

        return JaxCall(fn, ["dense boolean mask"])
    raise Unsupported(f"jax_cudnn takes window or dense masks, not {ctx.format}")
