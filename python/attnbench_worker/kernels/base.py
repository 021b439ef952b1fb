"""What every kernel module provides, and the small helpers they share.

A kernel module `kernels/<id>.py` defines:
  ID       the kernel id (same as the file name, the TS registry and the database)
  GROUP    'torch' (torch worker process), 'jax' (a JAX process of its own) or 'py' (pure python)
  available() -> None, or a one-line reason why the kernel cannot run here ('unavailable')
  build(ctx) -> Call   (torch kernels; raise Unsupported when the job's mask cannot be expressed)
The worker hands build() ready arguments (ctx.args, loaded arrays) and chooses nothing.
"""

import importlib


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
