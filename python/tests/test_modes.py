"""Both worker modes end to end with the pure-python kernel (no torch needed)."""

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from attnbench_worker import PROTOCOL_VERSION
from attnbench_worker.filemode import BadInput, run_file

from .helpers import causal_slices, document_slices, make_job

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_jobs(d, jobs):
    p = os.path.join(d, "jobs.jsonl")
    with open(p, "w") as f:
        for j in jobs:
            f.write(json.dumps(j) + "\n")
    return p


def read_results(p):
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


class FileModeTests(unittest.TestCase):
    def test_run_timeout_crash_and_resume(self):
        with tempfile.TemporaryDirectory() as d:
            jobs = [
                make_job(d, "a", causal_slices(6), 6),
                make_job(d, "slow", causal_slices(4), 4, timeout_s=0.5, debug={"sleepS": 60}),
                make_job(d, "crash", causal_slices(4), 4, debug={"exitCode": 7}),
                make_job(d, "b", document_slices([2, 3]), 5),
                {"id": "broken", "kernel": "py_ref"},
            ]
            jp = write_jobs(d, jobs)
            out = os.path.join(d, "results.jsonl")
            log = io.StringIO()
            import attnbench_worker.filemode as fm

            grace, fm.GRACE_S = fm.GRACE_S, 0.5
            try:
                run_file(jp, out, log=log)
            finally:
                fm.GRACE_S = grace
            rs = {r["id"]: r for r in read_results(out)}
            self.assertEqual(list(rs), ["a", "slow", "crash", "b", "broken"])
            self.assertEqual(rs["a"]["status"], "ok")
            self.assertEqual(rs["slow"]["status"], "timeout")
            self.assertEqual(rs["crash"]["status"], "error")
            self.assertIn("exited with code 7", rs["crash"]["message"])
            self.assertEqual(rs["b"]["status"], "ok")  # a fresh worker took over
            self.assertEqual(rs["broken"]["status"], "error")
            self.assertIn("invalid job", rs["broken"]["message"])
            self.assertEqual(rs["a"]["env"]["libs"]["python"].count("."), 2)
            # resume: nothing left to do, and a torn last line is tolerated
            with open(out, "a") as f:
                f.write('{"id": "tor')
            log = io.StringIO()
            run_file(jp, out, resume=True, log=log)
            self.assertIn("5 of 5 jobs already", log.getvalue())
            with self.assertRaises(BadInput):  # exit 2, one line (__main__)
                run_file(jp, out, resume=False, log=io.StringIO())

    def test_python_that_is_not_the_worker_stops_the_run_fast(self):
        # A --python that never answers (reads stdin, sleeps) used to cost the hello limit (600 s).
        import attnbench_worker.filemode as fm

        with tempfile.TemporaryDirectory() as d:
            jp = write_jobs(d, [make_job(d, "a", causal_slices(4), 4)])
            fake = os.path.join(d, "fake-python")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\nexec sleep 60\n")
            os.chmod(fake, 0o755)
            pidfile = os.path.join(d, "pids")
            out = os.path.join(d, "r.jsonl")
            env = {"ATTNBENCH_WORKER_BOOT_S": "0.5", "ATTNBENCH_WORKER_PIDFILE": pidfile}
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                t0 = time.monotonic()
                with self.assertRaises(fm.BadInput) as e:  # exit 2, one line (__main__)
                    run_file(jp, out, python=fake, log=io.StringIO())
                self.assertLess(time.monotonic() - t0, 10)
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            self.assertIn(f"python {fake!r} did not start the attnbench worker within 0.5 s", str(e.exception))
            self.assertEqual(read_results(out), [])
            with open(pidfile) as f:
                pid = int(f.read())
            with self.assertRaises(ProcessLookupError):  # killed with its group, not left asleep
                os.killpg(pid, 0)

    def test_boot_limit_from_the_environment(self):
        from attnbench_worker.filemode import BOOT_TIMEOUT_S, boot_timeout_s

        old = os.environ.get("ATTNBENCH_WORKER_BOOT_S")
        try:
            for text, want in (("", BOOT_TIMEOUT_S), ("2.5", 2.5), ("x", None), ("0", None), ("nan", None), ("inf", None)):
                os.environ["ATTNBENCH_WORKER_BOOT_S"] = text
                if want is None:
                    with self.assertRaisesRegex(BadInput, "invalid ATTNBENCH_WORKER_BOOT_S"):
                        boot_timeout_s()
                else:
                    self.assertEqual(boot_timeout_s(), want)
        finally:
            os.environ.pop("ATTNBENCH_WORKER_BOOT_S", None)
            if old is not None:
                os.environ["ATTNBENCH_WORKER_BOOT_S"] = old

    def test_cli_file_mode(self):
        with tempfile.TemporaryDirectory() as d:
            jp = write_jobs(d, [make_job(d, "a", causal_slices(5), 5)])
            out = os.path.join(d, "r.jsonl")
            p = subprocess.run([sys.executable, "-m", "attnbench_worker", "run", jp, "--out", out],
                               cwd=PYDIR, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("done: ok 1", p.stderr)
            self.assertEqual(read_results(out)[0]["status"], "ok")


class ServeTests(unittest.TestCase):
    def test_stdio_session(self):
        with tempfile.TemporaryDirectory() as d:
            job = make_job(d, "a", causal_slices(6), 6, relative=False)
            msgs = [{"type": "hello", "protocol": PROTOCOL_VERSION}, {"type": "job", "job": job},
                    {"type": "job", "job": {"id": "bad"}}, "not json", {"type": "bye"}]
            inp = "\n".join(m if isinstance(m, str) else json.dumps(m) for m in msgs) + "\n"
            p = subprocess.run([sys.executable, "-c", "import sys; print('noise'); from attnbench_worker.__main__ import main; sys.exit(main())", "serve"],
                               cwd=PYDIR, input=inp, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip() and x != "noise"]
            types = [m["type"] for m in lines]
            self.assertEqual(types, ["boot", "hello", "result", "error", "error", "bye"])
            self.assertEqual(lines.pop(0), {"type": "boot", "protocol": PROTOCOL_VERSION})
            hello = lines[0]
            self.assertEqual(hello["protocol"], PROTOCOL_VERSION)
            self.assertTrue(hello["kernels"]["py_ref"]["available"])
            self.assertNotIn("jax_cudnn", hello["kernels"])
            self.assertEqual(lines[1]["result"]["status"], "ok")
            self.assertEqual(lines[2]["id"], "bad")

    def test_boot_line_comes_before_the_kernel_imports(self):
        # --kernel-module (like the kernels, torch) is imported after the boot line: a missing one
        # ends the worker, and the boot line is already out.
        p = subprocess.run([sys.executable, "-m", "attnbench_worker", "serve", "--kernel-module", "/nonexistent/k.py"],
                           cwd=PYDIR, input="", capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual([json.loads(x) for x in p.stdout.splitlines()], [{"type": "boot", "protocol": PROTOCOL_VERSION}])
        self.assertIn("no such file", p.stderr)

    def test_protocol_mismatch(self):
        p = subprocess.run([sys.executable, "-m", "attnbench_worker", "serve"], cwd=PYDIR,
                           input=json.dumps({"type": "hello", "protocol": 999}) + "\n", capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2)
        self.assertIn("protocol mismatch", p.stdout)


if __name__ == "__main__":
    unittest.main()
