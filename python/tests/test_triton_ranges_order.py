"""triton_ranges' tuning key lptLaunch (issue 13, src/mask/adapters/ranges.ts): the TypeScript lists
then launch in plain LPT order (cost descending) instead of the persistent grid's shares; the kernel
reads the order the same way. Through Triton's interpreter (skipped without triton):
the outputs and all three gradients are bitwise equal to the default order's (the deterministic
mode writes every element from one program in a fixed order), on a d 128 fused-backward case, a
per-KV-head case and a split dK/dV list. Skipped without torch.
"""

import os
import sys
import unittest

from .helpers import needs_torch, torch

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ("causal_docs_d128_gqa8_descriptor", "per_head_gqa5_empty_rows", "split_causal_doc_gqa4")


def plain_lpt(lst):
    """The list's rows by ranges.ts' cost (1 + full tiles + 1.5 x partial tiles) descending, ties by row
    (plain python: what triton_ranges.plain_lpt must give)."""
    rr, runs, rp = lst["rowRuns"].tolist(), lst["runs"].tolist(), lst["rowParts"].tolist()
    cost = []
    for x in range(len(rr) - 1):
        full = sum(runs[2 * t + 1] - runs[2 * t] for t in range(rr[x], rr[x + 1]))
        cost.append(1 + full + 1.5 * (rp[x + 1] - rp[x]))
    return torch.tensor(sorted(range(len(cost)), key=lambda x: (-cost[x], x)), dtype=torch.int32)


@needs_torch
class LptLaunchOnCpu(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, HERE)
        import cpu_triton
        from . import test_triton_ranges as base

        cls.base = base
        cls.cases = [c for c in cpu_triton.ranges_class_setup(cls) if c["name"] in CASES]

    @classmethod
    def tearDownClass(cls):
        import cpu_triton

        cpu_triton.leave(cls.state)

    def run_case(self, case, key):
        helper = self.base.TritonRangesOnCpu("test_fixture_cases")
        a = helper.args_of(case)
        # the key over lists built with the fixture's (2: the forward's order plain already; as ranges_tune.py's
        # variants): the kernel side re-sorts what the key names
        a["tuning"] = {**a["tuning"], "lptLaunch": int(key)}
        if key:
            for d in ("fwd", "bwd"):
                if "items" in a[d]:  # a split list's items are in LPT order already (the key leaves them); launched reversed here
                    a[d]["items"] = a[d]["items"].view(-1, 6).flip(0).reshape(-1)
        ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        for d, lst in (("fwd", ls.fwd), ("bwd", ls.bwd)):
            if key == 1 or (key == 2 and d == "fwd"):
                self.assertEqual(lst.order.tolist(), plain_lpt(a[d]).tolist())
            else:
                self.assertEqual(lst.order.tolist(), a[d]["order"].tolist())
        q, k, v, do = helper.inputs(case, 13)
        o, lse = self.tr.forward(q[None], k[None], v[None], ls, 0.125)
        grads = self.tr.backward(q[None], k[None], v[None], o, lse, do[None], ls, 0.125)
        return ls, (o, lse, *grads)

    def test_bitwise_equal_outputs(self):
        self.assertEqual(len(self.cases), len(CASES))
        moved = 0
        for case in self.cases:
            with self.subTest(case=case["name"], backend=self.backend):
                ls0, ref = self.run_case(case, 0)
                self.assertNotIn("(plain)", ls0.note())
                for key in (1, 2):
                    ls1, got = self.run_case(case, key)
                    self.assertIn("LPT launch order (plain)", ls1.note())
                    moved += int(not torch.equal(ls0.fwd.order, ls1.fwd.order)) + int(not torch.equal(ls0.bwd.order, ls1.bwd.order))
                    for name, x, y in zip(("out", "lse", "dq", "dk", "dv"), ref, got):
                        self.assertTrue(torch.equal(x, y), f"{name} differs with the plain LPT launch order (lptLaunch {key})")
        self.assertGreater(moved, 0)  # some list's order really changed


if __name__ == "__main__":
    unittest.main()
