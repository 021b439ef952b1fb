"""Environment metadata (SPEC 6): host, GPU, driver, CUDA and library versions."""

import datetime
import importlib
import os
import platform
import socket
import subprocess


def _version(mod):
    try:
        m = importlib.import_module(mod)
    except Exception:  # noqa: BLE001 - any import failure means "not there"
        return None
    return str(getattr(m, "__version__", "unknown"))


def _nvidia_smi():
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    parts = [p.strip() for p in out.stdout.strip().splitlines()[0].split(",")]
    return {"name": parts[0], "driver": parts[1] if len(parts) > 1 else None, "memory": parts[2] if len(parts) > 2 else None}


def environment(group):
    """What the worker can see. Imports torch (torch group) or jax (jax group) if installed."""
    libs = {"python": platform.python_version()}
    env = {"host": socket.gethostname(), "gpu": None, "driver": None, "cuda": None, "libs": libs,
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "gpuCount": 0, "gpuMemoryBytes": None, "l2Bytes": None, "problems": []}
    smi = _nvidia_smi()
    if smi:
        env["gpu"], env["driver"] = smi["name"], smi["driver"]
    if group in ("torch", "py"):
        tv = _version("torch")
        if tv is None:
            env["problems"].append("torch is not installed")
        else:
            libs["torch"] = tv
            import torch

            env["cuda"] = torch.version.cuda
            if torch.backends.cudnn.is_available():
                libs["cudnn"] = str(torch.backends.cudnn.version())
            if torch.cuda.is_available():
                p = torch.cuda.get_device_properties(0)
                env["gpu"] = p.name
                env["gpuCount"] = torch.cuda.device_count()
                env["gpuMemoryBytes"] = int(p.total_memory)
                env["l2Bytes"] = int(getattr(p, "L2_cache_size", 0)) or None
                env["capability"] = f"{p.major}.{p.minor}"
            else:
                env["problems"].append("torch sees no CUDA GPU")
            trv = _version("triton")
            if trv:
                libs["triton"] = trv
    if group == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        jv = _version("jax")
        if jv is None:
            env["problems"].append("jax is not installed")
        else:
            libs["jax"] = jv
            jl = _version("jaxlib")
            if jl:
                libs["jaxlib"] = jl
            try:
                import jax

                gpus = [d for d in jax.devices() if d.platform == "gpu"]
                env["gpuCount"] = len(gpus)
                if gpus:
                    env["gpu"] = env["gpu"] or gpus[0].device_kind
                else:
                    env["problems"].append("jax sees no GPU")
            except Exception as e:  # noqa: BLE001
                env["problems"].append(f"jax failed to initialise: {e}")
    return env
