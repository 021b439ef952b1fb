"""Builds tiny jobs with binary arrays, the way the TypeScript job builder does (tests only)."""

import os
import unittest

from attnbench_worker.arrays import write_array


def causal_slices(s):
    return [(0, s, 0, s, 1)]


def document_slices(lens, causal=True):
    out, pos = [], 0
    for n in lens:
        out.append((pos, pos + n, pos, pos + n, 1 if causal else 0))
        pos += n
    return out


def make_job(dirname, job_id, slices, seqlen, kernel="py_ref", heads=(2, 1), head_dim=4, direction="fwd",
             check_up_to=1 << 20, timeout_s=60.0, debug=None, relative=True, **extra):
    """Writes the job's slices to <dirname>/arrays.bin and returns the job object."""
    path = os.path.join(dirname, "arrays.bin")
    base = dirname if relative else None
    q = write_array(path, [x for s in slices for x in (s[0], s[1])], [len(slices), 2], base)
    k = write_array(path, [x for s in slices for x in (s[2], s[3])], [len(slices), 2], base)
    t = write_array(path, [s[4] for s in slices], [len(slices)], base)
    job = {
        "id": job_id,
        "kernel": kernel,
        "direction": direction,
        "shape": {"batch": 1, "seqlenQ": seqlen, "seqlenK": seqlen, "headsQ": heads[0], "headsKv": heads[1],
                  "headDim": head_dim, "dtype": "float32"},
        "gqa": "native",
        "mask": {"format": "slices", "perHead": False, "args": {"qRanges": q, "kRanges": k, "types": t}},
        "slices": [{"qRanges": q, "kRanges": k, "types": t}],
        "timing": {"warmup": 5, "iters": 20, "flushL2": True},
        "check": {"upTo": check_up_to, "tolerance": 1e-9},
        "seed": 3,
        "timeoutS": timeout_s,
    }
    if debug:
        job["debug"] = debug
    job.update(extra)
    return job


# torch where this python has it: the CI python does not, and the tests that need it are skipped there
# (reported as skipped, never passed silently)
try:
    import torch
except ImportError:
    torch = None

needs_torch = unittest.skipIf(torch is None, "torch is not installed for this python")
