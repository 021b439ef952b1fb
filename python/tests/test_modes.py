"""Both worker modes end to end with the pure-python kernel (no torch needed)."""

import io
import json
import os
import subprocess
import sys
import tempfile
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
            self.assertEqual(types, ["hello", "result", "error", "error", "bye"])
            hello = lines[0]
            self.assertEqual(hello["protocol"], PROTOCOL_VERSION)
            self.assertTrue(hello["kernels"]["py_ref"]["available"])
            self.assertNotIn("jax_cudnn", hello["kernels"])
            self.assertEqual(lines[1]["result"]["status"], "ok")
            self.assertEqual(lines[2]["id"], "bad")

    def test_protocol_mismatch(self):
        p = subprocess.run([sys.executable, "-m", "attnbench_worker", "serve"], cwd=PYDIR,
                           input=json.dumps({"type": "hello", "protocol": 999}) + "\n", capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 2)
        self.assertIn("protocol mismatch", p.stdout)


if __name__ == "__main__":
    unittest.main()
