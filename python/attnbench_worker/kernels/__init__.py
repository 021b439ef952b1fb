"""Kernel registry: one module per kernel id, imported lazily (optional packages stay optional).

Ids come from the shared tables (tables.json, generated from src/kernels/registry.ts): every
registered kernel that runs in python ('torch' or 'jax' executor) is the module `kernels/<id>.py`.
Python-only ids: `py_ref` (pure python, tests the worker without torch) and `reference` (the
chunked float32 torch attention: CP's reference and its CPU kernel; partial entry only).
External kernels (--kernel-module, or ATTNBENCH_KERNEL_MODULES) are added by `external.register`.
"""

import importlib

from ..tables import KERNELS
from .base import Call, Unavailable, Unsupported  # noqa: F401

# Kernels of the kernel suite, in registry order (py_ref first).
KERNEL_IDS = ("py_ref",) + tuple(k for k, ex in KERNELS.items() if ex in ("torch", "jax"))
# Kernels with only the partial-attention entry (context parallelism).
CP_ONLY_IDS = ("reference",)

# Which process runs a kernel (known without importing the module, which may import torch).
GROUPS = {k: KERNELS[k] for k in KERNEL_IDS if k in KERNELS}
GROUPS.update({"py_ref": "py", "reference": "torch"})

# id -> module of external kernels (kernels/external.py fills it).
EXTERNAL = {}


def load_external():
    """Registers the modules of ATTNBENCH_KERNEL_MODULES (once; external.py)."""
    from . import external

    external.register_from_env()


def load(kernel_id):
    if kernel_id in EXTERNAL:
        return EXTERNAL[kernel_id]
    if kernel_id not in GROUPS:
        raise KeyError(kernel_id)
    return importlib.import_module(f"{__name__}.{kernel_id}")


def suite_ids():
    """Kernel-suite ids: the registry's, then external modules with a suite entry (build or run)."""
    return KERNEL_IDS + tuple(k for k, m in EXTERNAL.items() if hasattr(m, "build") or hasattr(m, "run"))


def serves(process_group, kernel_id):
    """Whether a worker process of this group runs the kernel ('py' kernels run in any process)."""
    g = GROUPS.get(kernel_id)
    return g == process_group or g == "py"


def availability(process_group):
    """{id: {"available": bool, "reason"?: str}} for the kernels this process group runs."""
    out = {}
    for kid in suite_ids():
        if not serves(process_group, kid):
            continue
        try:
            reason = load(kid).available()
        except Exception as e:  # noqa: BLE001 - a broken optional import is an unavailable kernel
            reason = f"{type(e).__name__}: {e}"
        out[kid] = {"available": True} if reason is None else {"available": False, "reason": reason}
    return out


# External kernels named in the environment (set by TypeScript or by --kernel-module) load with the
# registry, so every worker process and CP rank knows them.
load_external()
