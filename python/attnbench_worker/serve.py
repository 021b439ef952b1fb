"""Child-process mode: JSON lines over stdio (PROTOCOL.md).

The protocol owns the process's original stdout; file descriptor 1 is pointed at stderr so that
anything a library prints (Triton, inductor, JAX) cannot corrupt the stream.
"""

import json
import os
import signal
import sys
import threading
import time

from . import PROTOCOL_VERSION, kernels, protocol
from .env import environment
from .execute import run_job


def _protocol_stream():
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


def end_with_parent(interval_s=0.5):
    """Ends this worker when the process that started it is gone.

    A client killed with -9 while a job runs closes our stdin, but the loop only reads it after the
    job: a hung or long job would keep the worker (and the GPU memory it holds) alive with no one to
    read its result, and a resumed sweep would start beside it. The clients (TypeScript, file mode)
    start the worker in its own session, so its process group holds it and its compiler children.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval_s)
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(3)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def serve(group, stdin=None):
    out = _protocol_stream()
    stdin = stdin or sys.stdin

    def send(msg):
        out.write(protocol.dumps(msg) + "\n")
        out.flush()

    env = environment(group)
    send(protocol.hello(group, env, kernels.availability(group)))
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError as e:
            send({"type": "error", "id": None, "code": "protocol", "message": f"malformed JSON line: {e.msg}"})
            continue
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "hello":
            if msg.get("protocol") != PROTOCOL_VERSION:
                send({"type": "error", "id": None, "code": "protocol",
                      "message": f"protocol mismatch: client speaks {msg.get('protocol')!r}, worker speaks {PROTOCOL_VERSION}"})
                return 2
            continue
        if kind == "bye":
            send({"type": "bye"})
            return 0
        if kind != "job":
            send({"type": "error", "id": None, "code": "protocol", "message": f"unknown message type {kind!r}"})
            continue
        job = msg.get("job")
        try:
            protocol.validate_job(job)
        except protocol.JobError as e:
            jid = job.get("id") if isinstance(job, dict) else None
            send({"type": "error", "id": jid, "code": "bad_job", "message": f"invalid job: {e}"})
            continue
        r = run_job(job, group)
        send({"type": "result", "result": r})
        if r.get("fatal"):
            return 3  # the CUDA context is gone: exit so the client starts a fresh worker
    return 0
