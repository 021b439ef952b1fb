"""Protocol v1 messages and job validation (standard library only). See ../PROTOCOL.md."""

import json

from . import PROTOCOL_VERSION
from .arrays import ArrayError, is_array_ref, validate_ref

# Shared with TypeScript (tables.json, generated from src/contract/tables.ts). SPEC 6 timing
# minimums: a job may go below them only with timing.allowShort (recorded in notes).
from .tables import DIRECTIONS, DTYPES, FORMATS, GQA_MODES, MIN_ITERS, MIN_WARMUP, STATUSES  # noqa: F401


class JobError(ValueError):
    """A job that does not follow the protocol: answered with an `error` message, never run."""


def _int(obj, key, where, lo=0):
    v = obj.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise JobError(f"{where}.{key} must be an integer >= {lo}, got {v!r}")
    return v


def _num(obj, key, where, lo=0.0):
    v = obj.get(key)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < lo:
        raise JobError(f"{where}.{key} must be a number >= {lo}, got {v!r}")
    return v


def _str(obj, key, where, choices=None):
    v = obj.get(key)
    if not isinstance(v, str) or not v:
        raise JobError(f"{where}.{key} must be a non-empty string, got {v!r}")
    if choices is not None and v not in choices:
        raise JobError(f"{where}.{key} must be one of {', '.join(choices)}, got {v!r}")
    return v


def _obj(obj, key, where):
    v = obj.get(key)
    if not isinstance(v, dict):
        raise JobError(f"{where}.{key} must be an object")
    return v


def _check_value(v, where):
    """Mask args: numbers, booleans, null, strings, array refs, and objects/lists of those."""
    if is_array_ref(v):
        try:
            validate_ref(v, where)
        except ArrayError as e:
            raise JobError(str(e)) from None
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_value(x, f"{where}.{k}")
    elif isinstance(v, list):
        if len(v) > 64:
            raise JobError(f"{where}: lists longer than 64 must travel as binary arrays")
        for i, x in enumerate(v):
            _check_value(x, f"{where}[{i}]")
    elif not (v is None or isinstance(v, (bool, int, float, str))):
        raise JobError(f"{where}: unsupported value {v!r}")


def validate_job(job):
    """Checks a job's structure; returns it unchanged or raises JobError with a one-line reason."""
    if not isinstance(job, dict):
        raise JobError("job must be an object")
    _str(job, "id", "job")
    _str(job, "kernel", "job")
    _str(job, "direction", "job", DIRECTIONS)
    shape = _obj(job, "shape", "job")
    for k in ("batch", "seqlenQ", "seqlenK", "headsQ", "headsKv", "headDim"):
        _int(shape, k, "job.shape", 1)
    _str(shape, "dtype", "job.shape", DTYPES)
    if shape["headsQ"] % shape["headsKv"]:
        raise JobError(f"job.shape: headsQ {shape['headsQ']} is not a multiple of headsKv {shape['headsKv']}")
    gqa = job.get("gqa", "native")
    if gqa not in GQA_MODES:
        raise JobError(f"job.gqa must be one of {', '.join(GQA_MODES)}, got {gqa!r}")
    mask = _obj(job, "mask", "job")
    _str(mask, "format", "job.mask", FORMATS)
    args = mask.get("args", {})
    if not isinstance(args, dict):
        raise JobError("job.mask.args must be an object")
    _check_value(args, "job.mask.args")
    slices = job.get("slices")
    if not isinstance(slices, list) or not slices:
        raise JobError("job.slices must be a non-empty list (one entry per mask head)")
    if len(slices) not in (1, shape["headsKv"]):
        raise JobError(f"job.slices has {len(slices)} heads; expected 1 or headsKv ({shape['headsKv']})")
    for h, s in enumerate(slices):
        where = f"job.slices[{h}]"
        if not isinstance(s, dict):
            raise JobError(f"{where} must be an object")
        for k in ("qRanges", "kRanges", "types"):
            ref = s.get(k)
            if not is_array_ref(ref):
                raise JobError(f"{where}.{k} must be a binary array reference")
            _check_value(ref, f"{where}.{k}")
        n = s["types"]["shape"]
        if len(n) != 1 or s["qRanges"]["shape"] != [n[0], 2] or s["kRanges"]["shape"] != [n[0], 2]:
            raise JobError(f"{where}: qRanges/kRanges must be [n, 2] and types [n]")
    timing = _obj(job, "timing", "job")
    short = bool(timing.get("allowShort", False))
    _int(timing, "warmup", "job.timing", 0 if short else MIN_WARMUP)
    _int(timing, "iters", "job.timing", 1 if short else MIN_ITERS)
    if not isinstance(timing.get("flushL2", True), bool):
        raise JobError("job.timing.flushL2 must be a boolean")
    check = _obj(job, "check", "job")
    _int(check, "upTo", "job.check", 0)
    _num(check, "tolerance", "job.check", 0.0)
    _int(job, "seed", "job", 0)
    _num(job, "timeoutS", "job", 0.001)
    if "baseDir" in job and not isinstance(job["baseDir"], str):
        raise JobError("job.baseDir must be a string")
    return job


def result(job_id, kernel, direction, status, message=None, times=None, memory=None, error=None, notes=None, **extra):
    assert status in STATUSES, status
    r = {
        "id": job_id,
        "kernel": kernel,
        "direction": direction,
        "status": status,
        "message": message,
        "times": times,
        "memory": memory,
        "error": error,
        "notes": list(notes or []),
    }
    r.update(extra)
    return r


def result_for(job, status, message, **kw):
    """A result for a job that may be only partly valid (ids default to '?')."""
    j = job if isinstance(job, dict) else {}
    return result(str(j.get("id", "?")), str(j.get("kernel", "?")), str(j.get("direction", "?")), status, message, **kw)


def dumps(msg):
    return json.dumps(msg, separators=(",", ":"), allow_nan=False)


def one_line(text, limit=400):
    """Messages are one line: first non-empty line, whitespace squeezed, capped."""
    text = str(text).strip()
    for line in text.splitlines():
        if line.strip():
            text = line.strip()
            break
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def boot():
    """serve's first line, written before any heavy import: the client's short boot limit (a
    --python that is not this worker fails fast), then its long hello limit (torch can take minutes)."""
    return {"type": "boot", "protocol": PROTOCOL_VERSION}


def hello(group, env, kernels):
    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "worker": __import__("attnbench_worker").__version__,
        "group": group,
        "env": env,
        "kernels": kernels,
    }
