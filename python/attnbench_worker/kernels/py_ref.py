"""py_ref: attention in pure python from the slices (tiny shapes; tests the worker without torch).

Honours job.debug (tests only): {"sleepS": seconds before the call, "exitCode": exit the process}.
"""

import os
import time

from .. import pyref
from .base import Unsupported

ID = "py_ref"
GROUP = "py"
MAX_WORK = 2_000_000  # batch * headsQ * Sq * Sk * headDim


def available():
    return None


def run(job, bands_per_head):
    """Returns (forward function of the inputs, inputs) for the py runner; raises Unsupported."""
    s = job["shape"]
    if job["direction"] != "fwd":
        raise Unsupported("py_ref computes the forward pass only")
    work = s["batch"] * s["headsQ"] * s["seqlenQ"] * s["seqlenK"] * s["headDim"]
    if work > MAX_WORK:
        raise Unsupported(f"py_ref is for tiny shapes (work {work} > {MAX_WORK})")
    if s["seqlenQ"] != s["seqlenK"]:
        raise Unsupported("py_ref needs seqlenQ == seqlenK")
    debug = job.get("debug") or {}
    if debug.get("exitCode") is not None:
        os._exit(int(debug["exitCode"]))
    if debug.get("sleepS"):
        time.sleep(float(debug["sleepS"]))
    q, k, v = pyref.make_inputs(job["seed"], s["batch"], s["headsQ"], s["headsKv"], s["seqlenQ"], s["headDim"])
    scale = 1.0 / (s["headDim"] ** 0.5)

    def fwd():
        return pyref.attention_rows(q, k, v, bands_per_head, s["headsQ"], s["headsKv"], scale)

    def reference():
        dense = [pyref.dense_from_bands(b, s["seqlenQ"], s["seqlenK"]) for b in bands_per_head]
        return pyref.attention_dense(q, k, v, dense, s["headsQ"], s["headsKv"], scale)

    return fwd, reference
