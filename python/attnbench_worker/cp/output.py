"""What the CP runner writes besides rows: stderr lines, JSONL appends (fsynced), the ranks'
fault lines and the wait for them, the environment record, Chrome / Perfetto traces, and the
(the ok keys of an earlier run, for --resume, are record.finished_ids)."""

import json
import os
import platform
import socket
import threading
import time
from datetime import datetime, timezone

import torch

_write_lock = threading.Lock()


def say(text):
    """One line to stderr in one write: the ranks under torchrun share that pipe, and a line
    written in two pieces (text, then newline) can be cut by another rank's."""
    os.write(2, (text + "\n").encode("utf-8", "replace"))


def append_line(path, obj):
    if not path:
        return
    with _write_lock:
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(obj) + "\n")
            f.flush()
            os.fsync(f.fileno())


def faults_path(out):
    return (out or "cp-results.jsonl") + ".faults.jsonl"


def environment(backend, device, git_rev, command):
    libs = {"torch": torch.__version__, "python": platform.python_version(), "backend": backend or "none"}
    gpu = driver = cuda = None
    try:
        import triton

        libs["triton"] = triton.__version__
    except Exception:  # noqa: BLE001 - optional
        pass
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name(device)
        cuda = torch.version.cuda
        try:
            libs["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception:  # noqa: BLE001
            pass
        try:
            import subprocess

            driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                    capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0] or None
        except Exception:  # noqa: BLE001
            driver = None
    return {"host": socket.gethostname(), "gpu": gpu, "driver": driver, "cuda": cuda, "libs": libs, "gitRev": git_rev,
            "date": datetime.now(timezone.utc).isoformat(), "command": command}


def case_faults(out, case_id, world, wait_s=2.0):
    """The fault lines every rank wrote for this case (a shared file), in the order they were
    written, once every rank's line is there (or after wait_s): the rank that failed first wrote
    first, and its line names the root cause; the others usually only saw it go away."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with open(faults_path(out)) as f:
                found = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError):
            found = []
        found = [x for x in found if x.get("case") == case_id]
        if len({x.get("rank") for x in found}) >= world or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def faults_text(found):
    return "; ".join(dict.fromkeys(f"rank {x.get('rank')}: {x.get('message')}" for x in found))


def where_text(progress):
    parts = []
    for r in sorted(progress.where):
        w = progress.where[r]
        if w:
            parts.append(f"rank {r} at {w[0]} step {w[1]} ({w[2]})")
    return "; ".join(parts) or "before the first step"


def write_trace(opts, case, direction, spans):
    """Chrome / Perfetto trace: a process per rank, thread 0 compute and 1 communication."""
    ev = []
    for r, lst in sorted(spans.items()):
        ev.append({"name": "process_name", "ph": "M", "pid": r, "args": {"name": f"rank {r}"}})
        ev.append({"name": "thread_name", "ph": "M", "pid": r, "tid": 0, "args": {"name": "compute"}})
        ev.append({"name": "thread_name", "ph": "M", "pid": r, "tid": 1, "args": {"name": "communication"}})
        cursor = 0.0
        for lane, kind, i, a, b in lst:
            if opts.mode == "virtual":
                # One device ran every rank in turn: lay each rank's compute end to end; messages are instants.
                dur = (b - a) if lane == "compute" else 0.0
                a = cursor
                cursor += dur
                b = a + dur
            ev.append({"name": kind, "ph": "X", "pid": r, "tid": 0 if lane == "compute" else 1, "ts": a * 1e3,
                       "dur": max(0.0, (b - a) * 1e3), "args": {"step": i}})
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{case['id']}-{direction}-{opts.mode}")
    os.makedirs(opts.trace_dir, exist_ok=True)
    with open(os.path.join(opts.trace_dir, safe + ".trace.json"), "w") as f:
        json.dump({"traceEvents": ev, "displayTimeUnit": "ms",
                   "metadata": {"case": case["id"], "direction": direction, "mode": opts.mode}}, f)
