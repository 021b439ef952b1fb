"""The executor itself, on CPU tensors: runs only where torch is installed (not in CI)."""

import json
import os
import tempfile
import unittest

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

INDEX = os.path.join(os.path.dirname(__file__), "fixtures", "p2", "index.json")


@unittest.skipUnless(HAVE_TORCH, "torch is not installed")
class TestVirtualRanks(unittest.TestCase):
    def test_fixture_plans_match_the_reference(self):
        from attnbench_worker.cp.__main__ import main

        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            rc = main(["run", INDEX, "--out", out, "--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1"])
            rows = [json.loads(line) for line in open(out)]
        self.assertEqual(rc, 0)
        self.assertEqual(len(rows), 6)
        for r in rows:
            self.assertEqual(r["status"], "ok", r["message"])
            self.assertFalse(r["error"]["exceedsTolerance"])
            self.assertEqual(len(r["ranks"]), 2)
            for name in ("out", "lse") if r["direction"] == "fwd" else ("dq", "dk", "dv"):
                self.assertGreater(r["error"][name]["refMaxAbs"], 0.0)

    def test_error_accumulator_keeps_the_reference_scale_across_ranks(self):
        from attnbench_worker.cp.runner import ErrAcc, error_metrics

        a, b = ErrAcc(), ErrAcc()
        a.add("dv", torch.tensor([1.0, 2.05]), torch.tensor([1.0, 2.0]))
        b.add("dv", torch.tensor([-4.0]), torch.tensor([-4.1]))
        vals = ErrAcc().merged([a.v, b.v])
        e = error_metrics(vals, ("dq", "dv"), 3e-2)
        self.assertAlmostEqual(e["dv"]["maxAbs"], 0.1, places=5)
        self.assertAlmostEqual(e["dv"]["refMaxAbs"], 4.1, places=5)
        self.assertNotIn("dq", e)
        self.assertFalse(e["exceedsTolerance"])  # 0.1 <= 3e-2 x 4.1
        self.assertTrue(error_metrics(vals, ("dv",), 1e-2)["exceedsTolerance"])  # 0.1 > 1e-2 x 4.1

    def test_row_ranges_match_the_pure_version(self):
        from attnbench_worker.cp import logic
        from attnbench_worker.cp.kernels import row_ranges_t

        sl = [(0, 3, 0, 5, 0), (3, 6, 0, 5, 1), (6, 9, 0, 5, 2), (9, 12, 0, 5, 3), (0, 2, 6, 8, 0)]
        lo, hi, r = row_ranges_t(torch.tensor(sl), 12, 8, torch.device("cpu"))
        got = [sorted((int(a), int(b)) for a, b in zip(lo[i], hi[i]) if b > a) for i in range(12)]
        self.assertEqual(got, logic.row_ranges(sl, 12, 8))

    def test_merge_is_exact(self):
        from attnbench_worker.cp.kernels import merge_into

        s = torch.randn(3, 10)
        o_all = torch.softmax(s, -1) @ torch.eye(10)
        parts = []
        for a, b in ((0, 4), (4, 10)):
            l = torch.logsumexp(s[:, a:b], -1)
            parts.append((torch.softmax(s[:, a:b], -1) @ torch.eye(10)[a:b], l))
        o, l = parts[0][0].clone(), parts[0][1].clone()
        merge_into(o, l, *parts[1])
        self.assertTrue(torch.allclose(o, o_all, atol=1e-6))
        self.assertTrue(torch.allclose(l, torch.logsumexp(s, -1), atol=1e-6))


if __name__ == "__main__":
    unittest.main()
