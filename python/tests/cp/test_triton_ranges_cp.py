"""CP with triton_ranges as the partial kernel, end to end on CPU tensors: job files from the real
TypeScript writer (make-jobs.ts --kernel triton_ranges, so every step carries the per-step lists
of src/worker/ranges-args.ts), virtual ranks, the executor's merge and backward, compared with the
single-rank reference. The kernels run through Triton's interpreter (tests/cpu_triton.py; skipped without triton). Needs torch,
node and node_modules; skipped otherwise."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from ..helpers import needs_torch, torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TESTS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def write_jobs(d):
    tsx = os.path.join(ROOT, "node_modules", ".bin", "tsx")
    if not shutil.which("node") or not os.path.exists(tsx):
        raise unittest.SkipTest("node and the repository's node_modules (npm ci) are needed to write CP job files")
    r = subprocess.run([tsx, os.path.join(ROOT, "src", "cp", "torch", "make-jobs.ts"), "--dir", d, "--worlds", "2",
                        "--tokens-per-rank", "48", "--schemes", "ring_p2p,ulysses,ring_allgather", "--families", "causal_document,full_document",
                        "--heads", "4:2", "--head-dim", "64", "--dtype", "float32", "--kernel", "triton_ranges", "--warmup", "0", "--iters", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise AssertionError(f"make-jobs.ts failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return os.path.join(d, "p2", "index.json")


@needs_torch
class TritonRangesUnderCp(unittest.TestCase):
    def setUp(self):
        sys.path.insert(0, TESTS)
        import cpu_triton

        self.backend, self.state = cpu_triton.enter()
        from attnbench_worker.kernels import triton_ranges

        self.assertIsNone(triton_ranges.partial_available(torch.device("cpu")))  # TRITON_INTERPRET=1

    def tearDown(self):
        import cpu_triton

        cpu_triton.leave(self.state)

    def test_virtual_ranks_match_the_reference(self):
        from attnbench_worker.cp.__main__ import main

        with tempfile.TemporaryDirectory() as d:
            index = write_jobs(os.path.join(d, "jobs"))
            out = os.path.join(d, "r.jsonl")
            rc = main(["run", index, "--out", out, "--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1", "--kernel", "triton_ranges"])
            with open(out) as f:
                rows = [json.loads(line) for line in f]
        self.assertEqual(rc, 0, [r.get("message") for r in rows])
        self.assertEqual(len(rows), 12)
        for r in rows:
            self.assertEqual(r["status"], "ok", r["message"])
            self.assertEqual(r["kernel"], "triton_ranges")
            self.assertFalse(r["error"]["exceedsTolerance"], r["error"])
            for name in ("out", "lse") if r["direction"] == "fwd" else ("dq", "dk", "dv"):
                self.assertGreater(r["error"][name]["refMaxAbs"], 0.0)
