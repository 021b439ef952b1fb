"""Bring your own kernel: load an external python module as a kernel, declared the way ours are.

An external kernel module (a dotted module name importable from PYTHONPATH, or a .py file path)
defines, like kernels/<id>.py:

  ID           the kernel id (letters, digits, underscores; not a built-in id)
  GROUP        'torch' (runs in the torch worker), 'jax' (a JAX worker) or 'py' (pure python,
               runs in any worker; no torch needed)
  DESCRIPTION  one line for doctor and the report (optional)
  CAPS         what it can do, the fields of a TypeScript KernelDescriptor (src/kernels/types.ts):
               {"formats": ["slices", ...], "backward": bool, "gqa": "native" | "expand",
                "dtypes": ["bfloat16", ...], "perHeadMask": bool}
  available()  None, or a one-line reason why it cannot run here
and at least one entry:
  build(ctx) -> Call                    torch / jax kernels (kernels/base.py Call; ctx: torch_exec.Ctx)
  run(job, bands_per_head) -> (fwd, reference)   'py' kernels (kernels/py_ref.py shows the form)
  partial_forward / partial_backward    the partial-attention entry: the kernel runs under CP
                                        (kernels/base.py PartialStep, ../PROTOCOL.md)

The worker learns the modules from `--kernel-module` flags or ATTNBENCH_KERNEL_MODULES (specs
separated by os.pathsep); TypeScript sets the variable for every worker it starts
(src/kernels/external.ts) after `python -m attnbench_worker describe` told it the declarations.
"""

import importlib
import importlib.util
import os
import re
import sys

from ..tables import DTYPES, FORMATS, GQA_MODES
from .base import has_partial

ENV = "ATTNBENCH_KERNEL_MODULES"
GROUPS = ("torch", "jax", "py")
CAPS_KEYS = ("formats", "backward", "gqa", "dtypes", "perHeadMask")


class KernelModuleError(ValueError):
    """A module that cannot be a kernel: one line naming the module and what is wrong."""


def _import(spec):
    if spec.endswith(".py") or os.sep in spec:
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise KernelModuleError(f"kernel module {spec}: no such file")
        name = "attnbench_external_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        if name in sys.modules:
            return sys.modules[name]
        loader = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(loader)
        sys.modules[name] = mod
        try:
            loader.loader.exec_module(mod)
        except Exception as e:  # noqa: BLE001 - reported as one line
            del sys.modules[name]
            raise KernelModuleError(f"kernel module {spec}: import failed: {type(e).__name__}: {e}") from None
        return mod
    try:
        return importlib.import_module(spec)
    except Exception as e:  # noqa: BLE001
        raise KernelModuleError(f"kernel module {spec}: import failed: {type(e).__name__}: {e}") from None


def check(mod, spec, builtin_ids=()):
    """Validates the declaration; returns the TypeScript descriptor of the kernel (describe())."""
    where = f"kernel module {spec}"
    kid = getattr(mod, "ID", None)
    if not isinstance(kid, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", kid):
        raise KernelModuleError(f"{where}: ID must be an identifier string, got {kid!r}")
    if kid in builtin_ids:
        raise KernelModuleError(f"{where}: ID {kid!r} is a built-in kernel id")
    group = getattr(mod, "GROUP", None)
    if group not in GROUPS:
        raise KernelModuleError(f"{where}: GROUP must be one of {', '.join(GROUPS)}, got {group!r}")
    if not callable(getattr(mod, "available", None)):
        raise KernelModuleError(f"{where}: available() is missing")
    suite = callable(getattr(mod, "run" if group == "py" else "build", None))
    partial = has_partial(mod)
    if not suite and not partial:
        want = "run(job, bands_per_head)" if group == "py" else "build(ctx)"
        raise KernelModuleError(f"{where}: defines neither {want} nor partial_forward/partial_backward")
    caps = getattr(mod, "CAPS", None)
    if not isinstance(caps, dict) or any(k not in caps for k in CAPS_KEYS):
        raise KernelModuleError(f"{where}: CAPS must be a dict with {', '.join(CAPS_KEYS)}")
    bad = [f for f in caps["formats"] if f not in FORMATS]
    if not caps["formats"] or bad:
        raise KernelModuleError(f"{where}: CAPS formats must be a non-empty list of {', '.join(FORMATS)} (got {bad or 'none'})")
    if caps["gqa"] not in GQA_MODES or any(d not in DTYPES for d in caps["dtypes"]):
        raise KernelModuleError(f"{where}: CAPS gqa must be one of {', '.join(GQA_MODES)} and dtypes from {', '.join(DTYPES)}")
    return {
        "id": kid,
        "executor": "jax" if group == "jax" else "torch",  # 'py' kernels run in the torch worker process
        "group": group,
        "description": str(getattr(mod, "DESCRIPTION", "") or f"external kernel ({spec})"),
        "formats": list(caps["formats"]),
        "caps": {"backward": bool(caps["backward"]), "gqa": caps["gqa"], "dtypes": list(caps["dtypes"]),
                 "perHeadMask": bool(caps["perHeadMask"])},
        "module": spec,
        "suite": suite,
        "partial": partial,
    }


def register(spec):
    """Imports and checks the module, adds it to the kernel registry; returns its descriptor."""
    from . import EXTERNAL, GROUPS as KERNEL_GROUPS, KERNEL_IDS, CP_ONLY_IDS

    mod = _import(spec)
    builtin = set(KERNEL_IDS) | set(CP_ONLY_IDS)
    desc = check(mod, spec, builtin)
    other = EXTERNAL.get(desc["id"])
    if other is not None and other is not mod:
        raise KernelModuleError(f"kernel module {spec}: ID {desc['id']!r} is already taken by another --kernel-module")
    EXTERNAL[desc["id"]] = mod
    KERNEL_GROUPS[desc["id"]] = mod.GROUP
    return desc


def specs_from_env():
    return [s for s in os.environ.get(ENV, "").split(os.pathsep) if s]


def use(specs):
    """Registers the modules and records them in the environment, so worker children load them too."""
    descs = [register(s) for s in specs]
    have = specs_from_env()
    new = [os.path.abspath(s) if s.endswith(".py") or os.sep in s else s for s in specs]
    os.environ[ENV] = os.pathsep.join(have + [s for s in new if s not in have])
    return descs


def register_from_env():
    for s in specs_from_env():
        register(s)
