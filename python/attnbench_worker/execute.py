"""Runs one validated job and returns its result; every failure becomes a status, never a crash.

Statuses (SPEC 6): ok, unsupported (the kernel cannot express the mask), unavailable (package or
device missing), oom, error (one-line message), timeout (set by the supervisor that kills a worker).
"""

import time

from . import arrays, kernels, protocol, pyref
from .kernels.base import Unavailable, Unsupported
from .stats import finite, summarize


class Fatal(Exception):
    """The process is no longer usable (e.g. a CUDA context error): report, then exit."""


def run_job(job, process_group, base_dir=None):
    """One job -> one result dict. Sets result['fatal'] when the worker must restart."""
    t0 = time.perf_counter()
    try:
        protocol.validate_job(job)
    except protocol.JobError as e:
        return protocol.result_for(job, "error", f"invalid job: {e}")
    kid = job["kernel"]
    if kid not in kernels.GROUPS:
        return protocol.result_for(job, "error", f"unknown kernel id '{kid}'")
    if not kernels.serves(process_group, kid):
        return protocol.result_for(job, "error", f"kernel {kid} runs in the {kernels.GROUPS[kid]} process, not in this {process_group} process")
    base = job.get("baseDir") or base_dir
    try:
        mod = kernels.load(kid)
    except Exception as e:  # noqa: BLE001 - a kernel whose imports fail cannot run here
        return protocol.result_for(job, "unavailable", protocol.one_line(f"kernel {kid} cannot be loaded: {type(e).__name__}: {e}"))
    try:
        reason = mod.available()
        if reason is not None:
            return protocol.result_for(job, "unavailable", protocol.one_line(reason))
        if mod.GROUP == "py":
            r = _run_py(job, mod, base)
        elif mod.GROUP == "torch":
            from . import torch_exec

            r = torch_exec.run(job, mod, base)
        else:
            from . import jax_exec

            r = jax_exec.run(job, mod, base)
    except Unsupported as e:
        r = protocol.result_for(job, "unsupported", protocol.one_line(e))
    except Unavailable as e:
        r = protocol.result_for(job, "unavailable", protocol.one_line(e))
    except arrays.ArrayError as e:
        r = protocol.result_for(job, "error", protocol.one_line(e))
    except Fatal as e:
        r = protocol.result_for(job, "error", protocol.one_line(e), fatal=True)
    except MemoryError as e:  # host memory (a device OOM is classified by the torch / jax runners)
        r = protocol.result_for(job, "oom", protocol.one_line(f"MemoryError: {e}"))
    except Exception as e:  # noqa: BLE001 - any other failure is this case's error
        r = protocol.result_for(job, "error", protocol.one_line(f"{type(e).__name__}: {e}"))
    r["wallMs"] = (time.perf_counter() - t0) * 1e3
    return r


def load_slices_lists(job, base):
    """Per mask head: (qRanges flat, kRanges flat, types) as python int arrays."""
    return [
        (arrays.load_list(h["qRanges"], base), arrays.load_list(h["kRanges"], base), arrays.load_list(h["types"], base))
        for h in job["slices"]
    ]


def _run_py(job, mod, base):
    bands = [pyref.slices_to_bands(*h) for h in load_slices_lists(job, base)]
    fwd, reference = mod.run(job, bands)
    timing = job["timing"]
    t = time.perf_counter()
    out = fwd()
    first_ms = (time.perf_counter() - t) * 1e3
    err = None
    s = job["shape"]
    if max(s["seqlenQ"], s["seqlenK"]) <= job["check"]["upTo"]:
        mx, mean = pyref.abs_errors(out, reference())
        tol = job["check"]["tolerance"]
        err = {"reference": "float64 pure python (dense mask from slices)", "out": {"maxAbs": finite(mx), "meanAbs": finite(mean)},
               "exceedsTolerance": not (mx <= tol)}
    for _ in range(timing["warmup"]):
        fwd()
    samples = []
    for _ in range(timing["iters"]):
        t = time.perf_counter()
        fwd()
        samples.append((time.perf_counter() - t) * 1e3)
    return protocol.result(job["id"], job["kernel"], job["direction"], "ok", None,
                           times=summarize(samples, first_ms, False, clock="host"), memory=None, error=err,
                           notes=["pure python, host clock"])
