"""CP job files written by the real TypeScript writer (src/cp/torch/make-jobs.ts), regenerated for
each test run, so python tests never read stale fixtures. Needs node and the repository's
node_modules (`npm ci`); without them the tests that need the files skip with the reason."""

import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
_cache = {}


def write_ts_jobs(kernel="auto"):
    """index.json of a folder with 3 cases (ring_p2p, ulysses, ring_allgather) of causal_document,
    world 2, 64 tokens, 4:2 heads, head dim 8, float32; raises SkipTest without node."""
    if kernel in _cache:
        return _cache[kernel]
    tsx = os.path.join(ROOT, "node_modules", ".bin", "tsx")
    if not shutil.which("node") or not os.path.exists(tsx):
        raise unittest.SkipTest("node and the repository's node_modules (npm ci) are needed to write CP job files")
    d = tempfile.mkdtemp(prefix="attnbench-cp-jobs-")
    r = subprocess.run([tsx, os.path.join(ROOT, "src", "cp", "torch", "make-jobs.ts"), "--dir", d, "--worlds", "2",
                        "--tokens-per-rank", "32", "--schemes", "ring_p2p,ulysses,ring_allgather", "--families", "causal_document",
                        "--heads", "4:2", "--head-dim", "8", "--dtype", "float32", "--kernel", kernel, "--warmup", "1", "--iters", "2"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"make-jobs.ts failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    _cache[kernel] = os.path.join(d, "p2", "index.json")
    return _cache[kernel]
