"""`python -m attnbench_worker` on garbage inputs (found by the CLI sweep, scripts/probe-cli.mjs):
a missing or folder jobs file, bytes that are not UTF-8, JSON lines that are not job objects, a
fifo, an --out in a missing folder, bad argparse values. Each must end with ONE line on stderr and
exit 2 (never a traceback, never a hang), so whoever runs it (a batch script, the TypeScript side)
records one clear reason."""

import os
import subprocess
import sys
import tempfile
import unittest

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(args, cwd):
    env = dict(os.environ, PYTHONPATH=PYDIR, ATTNBENCH_DEBUG="")
    return subprocess.run([sys.executable, "-m", "attnbench_worker", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


class GarbageInputs(unittest.TestCase):
    def test_one_line_exit_2(self):
        with tempfile.TemporaryDirectory() as d:
            def put(name, data):
                p = os.path.join(d, name)
                with open(p, "wb") as f:
                    f.write(data)
                return p

            binary = put("b.jsonl", b"\xff\xfe\x00bin\n")
            arr = put("arr.jsonl", b"[1,2]\n")
            null = put("null.jsonl", b'{"type":"job","job":null}\n')
            garbage = put("g.jsonl", b"garbage\n")
            ok = put("ok.jsonl", b'{"id":"a"}\n')
            fifo = os.path.join(d, "fifo")
            os.mkfifo(fifo)
            cases = [
                (["run", os.path.join(d, "missing.jsonl"), "--out", "o.jsonl"], "no such file"),
                (["run", d, "--out", "o.jsonl"], "is a folder"),
                (["run", fifo, "--out", "o.jsonl"], "not a regular file"),
                (["run", binary, "--out", "o.jsonl"], "not UTF-8"),
                (["run", arr, "--out", "o.jsonl"], "not a job"),
                (["run", null, "--out", "o.jsonl"], "not a job"),
                (["run", garbage, "--out", "o.jsonl"], "malformed JSON"),
                (["run", ok, "--out", os.path.join(d, "no", "o.jsonl")], "does not exist"),
                (["run", ok, "--out", d], "is a folder"),
                (["run", ok, "--out", garbage], "exists; pass --resume"),
                (["validate", os.path.join(d, "missing.jsonl")], "no such file"),
                (["validate", binary], "not UTF-8|UnicodeDecodeError|codec"),
                (["bare", ok, "--iters", "-1"], "expected an integer >= 1"),
                # jobs checked before any timing (or no torch at all): one line either way
                (["bare", ok, "--ids", "a"], "job 1: job.kernel|cannot import torch"),
                (["bare", garbage, "--ids", "a"], "malformed JSON|cannot import torch"),
                (["frob"], "invalid choice"),
            ]
            for args, match in cases:
                with self.subTest(args=args):
                    p = worker(args, d)
                    lines = [l for l in p.stderr.splitlines() if l.strip()]
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertEqual(len(lines), 1, p.stderr)
                    self.assertNotIn("Traceback", p.stderr)
                    self.assertRegex(lines[0], match)
            self.assertFalse(os.path.exists(os.path.join(d, "o.jsonl")))


if __name__ == "__main__":
    unittest.main()
