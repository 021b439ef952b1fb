"""triton_ranges compiled ahead of time for Hopper (sm_90a) on this CPU machine (scripts/kernel-aot.py,
run in a subprocess so this process's Triton stays as the other tests left it): the deterministic
backward has no atomic instruction (the atomic mode has; nor has the split-list dK/dV, whose chunks
write float32 partials), every kernel uses HGMMA, and the chosen
configurations of the persistent grid and of a group of 3 do not spill. Skipped without Triton
(the CI python has none); no GPU needed, nothing runs.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "scripts", "kernel-aot.py")

CONFIGS = {
    "dkdv d64 pack8 kb64 subm64 w4 s2 *": {"atomics": 0, "spill": 0},
    "dkdv d64 pack8 kb64 subm64 w4 s2 atomic": {"atomics": ">0"},
    "dq d64 pack8 128x64 w8 s2 *": {"atomics": 0, "spill": 0},
    "fwd d64 pack8 128x64 w8 s3 persistent P": {"atomics": 0, "spill": 0},
    "dkdv d64 pack8 kb128 subm32 w8 s2 persistent P": {"atomics": 0, "spill": 0},
    "fwd d64 pack3 (42 tok) 128x64 w8 s3 *": {"spill": 0},
    # call11 (seventh pass): the split forward the short-loop rule picks, two per SM; the fused
    # backward; three capped split programs per SM
    "fwd d128 pack8 split2 64x64 w4 s3 call11": {"spill": 0, "perSm": 2},
    "bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s3 call11": {"atomics": 0, "spill": 0},
    "fwd d128 pack8 split2 64x32 w4 s3 maxnreg168 call11": {"spill": 0, "perSm": 3},
    # split backward lists (src/mask/adapters/ranges-split.ts): chunks' float32 partials, no atomics
    "dkdv split-list d64 pack8 kb64 subm64 w4 s2 *": {"atomics": 0, "spill": 0},
    # the gathered forward (fwdGather, ninth pass): K/V rings in the full and the partial-step loop
    # (the default has 2: its partial-tile loop is not pipelined), split tiles still two per SM
    "fwd gather2 d128 pack8 128x64 w8 s3 call17": {"atomics": 0, "spill": 0, "kvRings": 4},
    "fwd gather2 runs d128 pack8 split2 64x64 w4 s3 call17": {"spill": 0, "perSm": 2, "kvRings": 4},
    # ninth pass (call16): LSE / DELTA packed per KV group (bwdPackLse) at the default steps, fused, packs 8
    # and 1 (the pack-1 default spills 16 B without it)
    "bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s3 plse ninth": {"atomics": 0, "spill": 0},
    "bwd fused d128 pack1 kb128 subm16 + dq 128x64 w8 s3 plse ninth": {"atomics": 0, "spill": 0},
    "bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s4 plse ninth": {"atomics": 0, "spill": 0, "perSm": 1},
    # eleventh pass (call21): 64-row programs (4:4 with 64-blocks). The descriptor's 8 warps: one program per SM,
    # S in 64x32 HGMMA pieces (each warpgroup computes the whole 64 x 64 S); one warpgroup: 2 per SM, no spill
    "fwd d128 pack1 (64 tok) 64x64 w8 s3 * eleventh": {"spill": 0, "perSm": 1, "hgmmaShape": "64x32x16"},
    "fwd d128 pack1 (64 tok) 64x64 w4 s3 eleventh": {"spill": 0, "perSm": 2, "noHgmmaShape": "64x32x16"},
    "fwd gather2 d128 pack1 (64 tok) 64x64 w4 s3 eleventh": {"spill": 0, "perSm": 2, "kvRings": 4},
    "bwd fused d128 pack1 (64 tok) kb64 subm16 part16 + dq 64x32 w4 s3 plse eleventh": {"atomics": 0, "spill": 0, "perSm": 2},
    "dkdv d128 pack1 (64 tok) kb64 subm16 part16 w4 s3 plse eleventh": {"atomics": 0, "spill": 0, "perSm": 2},
    "dq d128 pack1 (64 tok) 64x32 w4 s3 eleventh": {"spill": 0, "perSm": 2},
    # thirteenth pass (head dims, call25): d 32 and 96 (128 masked columns) at the descriptor's choice, no spill;
    # d 256's forward no spill; its dV launch none, its dK launch and dQ pass spill only outside the step loops
    "fwd d32 pack8 128x128 w8 s3 * dims": {"spill": 0},
    "dkdv d32 pack8 kb64 subm64 w4 s2 * dims": {"atomics": 0, "spill": 0, "perSm": 2},
    "fwd d96 pack8 128x64 w8 s3 * dims": {"spill": 0},
    "bwd fused d96 pack8 kb128 subm32 + dq 128x64 w8 s3 plse * dims": {"atomics": 0, "spill": 0},
    "fwd d256 pack8 128x32 w8 s3 * dims": {"spill": 0},
    "dkdv dV d256 pack8 kb64 subm16 w8 s2 plse * dims": {"atomics": 0, "spill": 0},
    "dkdv dK d256 pack8 kb64 subm16 w8 s2 plse * dims": {"atomics": 0, "loopSpills": 0},
    "dq d256 pack8 128x16 w8 s2 * dims": {"loopSpills": 0},
}


def _triton_with_ptxas():
    spec = importlib.util.find_spec("triton")
    if spec is None or spec.origin is None:
        return False
    return os.path.exists(os.path.join(os.path.dirname(spec.origin), "backends", "nvidia", "bin", "ptxas"))


@unittest.skipUnless(_triton_with_ptxas(), "needs triton with its ptxas (the CI python has none)")
class TritonRangesAot(unittest.TestCase):
    def test_compiled_for_sm90a(self):
        with tempfile.TemporaryDirectory() as t:
            out = os.path.join(t, "aot.json")
            env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
            r = subprocess.run([sys.executable, SCRIPT, "--only", ",".join(CONFIGS), "--json", out],
                               capture_output=True, text=True, env=env, timeout=600)
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            with open(out) as f:
                rows = {row["name"]: row for row in json.load(f)}
        self.assertEqual(sorted(rows), sorted(CONFIGS))
        for name, want in CONFIGS.items():
            with self.subTest(config=name):
                row = rows[name]
                self.assertNotIn("error", row)
                self.assertGreater(row["hgmma"], 0)
                if want.get("atomics") == ">0":
                    self.assertGreater(row["atomics"], 0)
                elif "atomics" in want:
                    self.assertEqual(row["atomics"], 0)
                if "spill" in want:
                    self.assertEqual(row["spillStores"] + row["spillLoads"], 0)
                if "loopSpills" in want:  # STL / LDL inside a step loop (scripts/kernel-aot.py loop_spills)
                    self.assertEqual(row["loopSpills"], want["loopSpills"])
                if "kvRings" in want:  # at least this many multi-buffered K/V tile allocations (software pipelining)
                    self.assertGreaterEqual(row["kvRings"], want["kvRings"])
                if "perSm" in want:
                    self.assertEqual(row["perSm"], want["perSm"])
                if "hgmmaShape" in want:
                    self.assertGreater(row["hgmmaShapes"].get(want["hgmmaShape"], 0), 0)
                if "noHgmmaShape" in want:
                    self.assertNotIn(want["noHgmmaShape"], row["hgmmaShapes"])


if __name__ == "__main__":
    unittest.main()
