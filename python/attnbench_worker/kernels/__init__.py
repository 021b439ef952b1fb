"""Kernel registry: one module per kernel id, imported lazily (optional packages stay optional)."""

import importlib

from .base import Call, Unavailable, Unsupported  # noqa: F401

KERNEL_IDS = (
    "py_ref",
    "torch_naive",
    "sdpa_math",
    "sdpa_efficient",
    "sdpa_flash",
    "sdpa_cudnn",
    "flex",
    "triton_blocksparse",
    "fa2",
    "fa3",
    "fa4",
    "te_fused",
    "flashinfer",
    "magi_ffa",
    "flashmask",
    "jax_cudnn",
    "jax_pallas",
)

# Which process runs a kernel (known without importing the module, which may import torch).
GROUPS = {k: "torch" for k in KERNEL_IDS}
GROUPS.update({"py_ref": "py", "jax_cudnn": "jax", "jax_pallas": "jax"})


def load(kernel_id):
    if kernel_id not in GROUPS:
        raise KeyError(kernel_id)
    return importlib.import_module(f"{__name__}.{kernel_id}")


def serves(process_group, kernel_id):
    """Whether a worker process of this group runs the kernel ('py' kernels run in any process)."""
    g = GROUPS.get(kernel_id)
    return g == process_group or g == "py"


def availability(process_group):
    """{id: {"available": bool, "reason"?: str}} for the kernels this process group runs."""
    out = {}
    for kid in KERNEL_IDS:
        if not serves(process_group, kid):
            continue
        try:
            reason = load(kid).available()
        except Exception as e:  # noqa: BLE001 - a broken optional import is an unavailable kernel
            reason = f"{type(e).__name__}: {e}"
        out[kid] = {"available": True} if reason is None else {"available": False, "reason": reason}
    return out
