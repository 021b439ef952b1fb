"""File mode: `python -m attnbench_worker run jobs.jsonl --out results.jsonl [--resume]`.

A supervisor (standard library only) drives worker children over the same stdio protocol the
TypeScript client uses, so a hung or crashed case costs only itself: on a timeout the child is
killed and the case recorded as `timeout`; on a death the case is `error` with the child's last
words; then a fresh child takes the next case. One child at a time (torch or JAX, never both on
the GPU at once). Each result is appended and flushed as soon as it exists.
"""

import collections
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from . import PROTOCOL_VERSION, kernels, protocol
from .jsonl import iter_records

BOOT_ENV = "ATTNBENCH_WORKER_BOOT_S"
BOOT_TIMEOUT_S = 30.0  # for the boot line, serve's first (before any heavy import); BOOT_ENV overrides
HELLO_TIMEOUT_S = 600.0  # after the boot line: importing torch on a cold node can take minutes
GRACE_S = 30.0  # on top of a job's timeoutS, for reading inputs and the reference


class WorkerDied(Exception):
    pass


class Child:
    def __init__(self, group, python=None, boot_s=BOOT_TIMEOUT_S):
        self.group = group
        exe = python or sys.executable
        env = dict(os.environ)
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("PYTHONUNBUFFERED", "1")
        if group == "jax":
            env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        self.proc = subprocess.Popen(
            [exe, "-m", "attnbench_worker", "serve", "--group", group],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", env=env, start_new_session=True,
        )
        self.lines = queue.Queue()
        self.stderr_tail = collections.deque(maxlen=30)
        threading.Thread(target=self._read_out, daemon=True).start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()
        pidfile = os.environ.get("ATTNBENCH_WORKER_PIDFILE")
        if pidfile:  # lets a batch script end a worker (by its process group id) if the supervisor is killed
            with open(pidfile, "a", encoding="utf-8") as f:
                f.write(f"{self.proc.pid}\n")
        try:
            self.hello = self._handshake(exe, boot_s)
        except BaseException:
            self.kill()  # never leave a child that did not say hello (it may hold the GPU, or sleep for ever)
            raise

    def _handshake(self, exe, boot_s):
        """The boot line within boot_s (else NotAWorker), then the hello within HELLO_TIMEOUT_S."""
        try:
            msg = self._expect(("boot", "hello"), boot_s)
        except TimeoutError:
            raise NotAWorker(f"python {exe!r} did not start the attnbench worker within {boot_s:g} s (no boot line: not a "
                             f"python 3 interpreter? pass --python; {BOOT_ENV}=<seconds> allows a slower start)") from None
        if msg.get("type") == "boot":
            if msg.get("protocol") != PROTOCOL_VERSION:
                raise WorkerDied(f"worker speaks protocol {msg.get('protocol')}, supervisor {PROTOCOL_VERSION}")
            try:
                msg = self._expect("hello", HELLO_TIMEOUT_S)
            except TimeoutError:
                raise WorkerDied(f"worker did not say hello within {HELLO_TIMEOUT_S:g} s") from None
        if msg.get("protocol") != PROTOCOL_VERSION:
            raise WorkerDied(f"worker speaks protocol {msg.get('protocol')}, supervisor {PROTOCOL_VERSION}")
        return msg

    def _read_out(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_err(self):
        for line in self.proc.stderr:
            sys.stderr.write(line)
            if line.strip():
                self.stderr_tail.append(line.rstrip())

    def last_words(self):
        for line in reversed(self.stderr_tail):
            if "Error" in line or "error" in line:
                return protocol.one_line(line)
        return protocol.one_line(self.stderr_tail[-1]) if self.stderr_tail else "no output"

    def _expect(self, kinds, timeout_s):
        kinds = (kinds, "error") if isinstance(kinds, str) else (*kinds, "error")
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                raise TimeoutError() from None
            if line is None:
                code = self.proc.wait()
                self.err_reader.join(timeout=2)  # its last words (stderr) may still be in the pipe
                raise WorkerDied(f"worker exited with code {code}: {self.last_words()}")
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(msg, dict) and msg.get("type") in kinds:
                return msg

    def run(self, job):
        self.proc.stdin.write(protocol.dumps({"type": "job", "job": job}) + "\n")
        self.proc.stdin.flush()
        msg = self._expect("result", float(job.get("timeoutS", 600)) + GRACE_S)
        if msg["type"] == "error":
            return protocol.result_for(job, "error", msg.get("message", "worker error"))
        return msg["result"]

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self._close_pipes()

    def _close_pipes(self):
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass

    def close(self):
        try:
            self.proc.stdin.write(protocol.dumps({"type": "bye"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
            self._close_pipes()
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self.kill()


class BadInput(Exception):
    """A jobs file or an --out path that cannot be used: one line, exit 2 (see __main__)."""


class NotAWorker(BadInput):
    """--python started something that wrote no boot line in time: the run stops (exit 2)."""


def boot_timeout_s():
    """ATTNBENCH_WORKER_BOOT_S (seconds > 0), else BOOT_TIMEOUT_S; another value is bad input."""
    text = os.environ.get(BOOT_ENV, "").strip()
    if not text:
        return BOOT_TIMEOUT_S
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise BadInput(f"invalid {BOOT_ENV} {text!r}: expected seconds > 0")
    return v


def check_input_file(path, what="jobs file"):
    """A regular file: a fifo blocks, /dev/zero never ends, a folder or a missing path is a traceback."""
    if not os.path.exists(path):
        raise BadInput(f"{what} {path}: no such file")
    if os.path.isdir(path):
        raise BadInput(f"{what} {path}: is a folder, expected a file")
    if not os.path.isfile(path):
        raise BadInput(f"{what} {path}: not a regular file (a fifo or a device)")


def check_output_file(path):
    """--out: a regular file or a new one in an existing folder."""
    if os.path.isdir(path):
        raise BadInput(f"--out {path}: is a folder, expected a file")
    if os.path.exists(path) and not os.path.isfile(path) and os.path.realpath(path) != "/dev/null":
        raise BadInput(f"--out {path}: not a regular file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise BadInput(f"--out {path}: folder {parent} does not exist")


def read_jobs(path):
    check_input_file(path)
    jobs = []
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError as e:
                    raise BadInput(f"{path}:{n}: malformed JSON ({e.msg})") from None
                job = msg.get("job", msg) if isinstance(msg, dict) and msg.get("type") == "job" else msg
                if not isinstance(job, dict):
                    raise BadInput(f"{path}:{n}: not a job (expected a JSON object, got {type(job).__name__})")
                jobs.append(job)
        except UnicodeDecodeError as e:
            raise BadInput(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return jobs


def done_ids(path):
    return {r["id"] for r in iter_records(path) if "id" in r}


def run_file(jobs_path, out_path, resume=False, python=None, log=sys.stderr):
    boot_s = boot_timeout_s()
    jobs = read_jobs(jobs_path)
    check_output_file(out_path)
    base = os.path.dirname(os.path.abspath(jobs_path))
    skip = done_ids(out_path) if resume else set()
    if not resume and os.path.exists(out_path) and os.path.getsize(out_path) > 0:
        raise BadInput(f"{out_path} exists; pass --resume to continue it or remove it")
    todo = [j for j in jobs if not (isinstance(j, dict) and j.get("id") in skip)]
    if resume and skip:
        log.write(f"resume: {len(jobs) - len(todo)} of {len(jobs)} jobs already in {out_path}\n")
    counts = collections.Counter()
    state = {"child": None}

    def on_term(signum, frame):  # a killed supervisor must not leave its worker (own session) on the GPU
        raise SystemExit(128 + signum)

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        with open(out_path, "a", encoding="utf-8") as out:
            for n, job in enumerate(todo, 1):
                r = _one(job, base, python, state, boot_s)
                out.write(protocol.dumps(r) + "\n")
                out.flush()
                os.fsync(out.fileno())
                counts[r["status"]] += 1
                med = (r.get("times") or {}).get("medianMs")
                log.write(f"[{n}/{len(todo)}] {r['id']}: {r['status']}" + (f" {med:.3f} ms" if med is not None else "")
                          + (f" ({r['message']})" if r.get("message") else "") + "\n")
                log.flush()
        if state["child"]:
            state["child"].close()
            state["child"] = None
    finally:
        if state["child"]:
            state["child"].kill()
        signal.signal(signal.SIGTERM, old_term)
    log.write("done: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "\n")
    return 0


def _one(job, base, python, state, boot_s=BOOT_TIMEOUT_S):
    """Runs one job in the right child (starting, switching or replacing it); always returns a result."""
    if isinstance(job, dict) and not job.get("baseDir"):
        job = dict(job, baseDir=base)
    kid = job.get("kernel") if isinstance(job, dict) else None
    group = kernels.GROUPS.get(kid, "torch")
    child = state["child"]
    if group == "py":
        group = child.group if child else "torch"
    env = None
    try:
        if child is not None and child.group != group:
            child.close()
            child = state["child"] = None
        if child is None:
            child = state["child"] = Child(group, python, boot_s)
        env = child.hello.get("env")
        r = child.run(job)
        if r.get("fatal"):
            child.kill()
            state["child"] = None
    except TimeoutError:
        r = protocol.result_for(job, "timeout", f"no result within {job.get('timeoutS')} s; worker killed")
        if state["child"]:
            state["child"].kill()
        state["child"] = None
    except WorkerDied as e:
        r = protocol.result_for(job, "error", protocol.one_line(str(e)))
        if state["child"]:
            state["child"].kill()
        state["child"] = None
    except OSError as e:
        r = protocol.result_for(job, "error", protocol.one_line(f"cannot start worker: {e}"))
        state["child"] = None
    r["env"] = env
    return r
