"""Run triton_ranges' @triton.jit kernels on CPU tensors, for tests without a GPU.

`enter()` re-imports the kernel modules so that their kernels run on the CPU and returns the name
of what runs them:
- "interpreter": the real Triton (when importable) through its interpreter (TRITON_INTERPRET=1,
  set before triton and the kernel modules are imported: triton.jit reads it at decoration time,
  also for triton.language's own @jit helpers). Two defects
  of Triton 3.6's interpreter are patched here, for this process only:
  * with numpy >= 2.4, a scalar loaded from memory is a 1-element array that `int()` refuses, so
    `range(tl.load(p), ...)` fails; __index__ takes the single element instead;
  * tl.dot on bfloat16 operands multiplies their raw uint16 bit patterns (the interpreter stores
    bf16 as uint16): garbage; the operands are widened to float32 first (exact, as the MMA's
    products are), the accumulator stays float32.
Without a usable Triton, enter() raises unittest.SkipTest: the kernels are only ever checked by
Triton itself (a hand-written imitation of triton.language drifted from the kernels and was removed).
`leave(state)` drops the re-imported kernel modules and restores what was there before.
"""

import importlib.util
import json
import os
import sys
import unittest

KERNEL_MODULES = "attnbench_worker.kernels.triton_ranges"
_patched = False


def _patch_interpreter():
    global _patched
    if _patched:
        return
    import numpy as np
    import triton.language as tl
    from triton.runtime import interpreter as itp

    orig_patch = itp._patch_lang_tensor

    def patch_lang_tensor(tensor, scope):
        orig_patch(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]) if self.handle.data.size == 1 else int(self.handle.data))

    orig_dot = itp.InterpreterBuilder.create_dot

    def widen(x):
        if x.dtype.scalar == tl.bfloat16:
            return itp.TensorHandle(itp._convert_float(x.data, tl.bfloat16, tl.float32, None).view(np.float32), tl.float32)
        return x

    def create_dot(self, a, b, d, input_precision, max_num_imprecise_acc):
        return orig_dot(self, widen(a), widen(b), d, input_precision, max_num_imprecise_acc)

    itp._patch_lang_tensor = patch_lang_tensor
    itp.InterpreterBuilder.create_dot = create_dot
    _patched = True


def _real_triton():
    """Import triton in interpreter mode; False when it is missing (or was already imported
    compiled by this process: its own @jit helpers, e.g. tl.zeros, would then not interpret)."""
    if importlib.util.find_spec("triton") is None:
        return False
    env = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"  # before triton.language is first imported
    try:
        import triton.language as tl
        from triton.runtime.interpreter import InterpretedFunction
    except Exception:  # noqa: BLE001 - any import failure means: no usable triton here
        ok = False
    else:
        ok = isinstance(tl.zeros, InterpretedFunction)
    if env is None:
        os.environ.pop("TRITON_INTERPRET", None)
    else:
        os.environ["TRITON_INTERPRET"] = env
    return ok


def _drop_kernel_modules():
    """Remove the kernel modules from sys.modules and from their package's attributes (else
    `from attnbench_worker.kernels import triton_ranges` returns a stale module); -> what was there."""
    mods = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith(KERNEL_MODULES)}
    pkg = sys.modules.get(KERNEL_MODULES.rpartition(".")[0])
    attrs = {}
    for k in mods:
        parent, _, child = k.rpartition(".")
        if pkg is not None and parent == pkg.__name__ and hasattr(pkg, child):
            attrs[child] = getattr(pkg, child)
            delattr(pkg, child)
    return mods, attrs


def enter():
    """-> (backend name, state for leave()); unittest.SkipTest where Triton cannot run here."""
    if not _real_triton():
        raise unittest.SkipTest("triton is not installed for this python (its interpreter runs the kernels on CPU)")
    kernels = _drop_kernel_modules()
    env = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    _patch_interpreter()
    return "interpreter", (kernels, env)


def leave(state):
    (kernels, attrs), env = state
    _drop_kernel_modules()
    if env is None:
        os.environ.pop("TRITON_INTERPRET", None)
    else:
        os.environ["TRITON_INTERPRET"] = env
    sys.modules.update(kernels)
    pkg = sys.modules.get(KERNEL_MODULES.rpartition(".")[0])
    for child, mod in attrs.items():
        setattr(pkg, child, mod)


RANGES_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "ranges_cases.json")


def ranges_class_setup(cls):
    """setUpClass of the triton_ranges interpreter tests: enter() for the class (cls.backend,
    cls.state; the class's tearDownClass calls leave(cls.state)), cls.tr = the re-imported
    triton_ranges module. -> the ranges fixture's cases (src/mask/adapters/ranges-fixture.ts)."""
    cls.backend, cls.state = enter()
    from attnbench_worker.kernels import triton_ranges

    cls.tr = triton_ranges
    with open(RANGES_FIXTURE) as f:
        return json.load(f)
