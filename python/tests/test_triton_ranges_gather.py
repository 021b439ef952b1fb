"""triton_ranges' gathered forward (tuning fwdGather, triton_ranges_gather.py) on the CPU: the lists
it derives from a forward work list (plain torch; the module imports triton, so skipped without it), and the kernel through Triton's
interpreter (skipped without triton) against the float64 reference on the fixture
cases (documents, every slice kind, per-KV-head masks with several runs per row, windows, padded
GQA groups, a rectangular CP step; tiles cut by 3+ bands take the fallback loop). Forward only: the
backward does not read these lists. Skipped without torch.
"""

import importlib.util
import math
import os
import sys
import unittest

from .helpers import needs_torch, torch

HERE = os.path.dirname(os.path.abspath(__file__))


@needs_torch
@unittest.skipIf(importlib.util.find_spec("triton") is None, "triton is not installed for this python")
class GatherLists(unittest.TestCase):
    def test_lists_cover_the_work_list(self):
        from attnbench_worker.kernels.triton_ranges_gather import gather_lists

        i32 = lambda xs: torch.tensor(xs, dtype=torch.int32)  # noqa: E731
        # two rows (tiles of 4 tokens x 16 keys): row 0 runs [0, 2) and [3, 4), partial tile 2 cut by
        # band 1 (keys 36..47: steps of 8 from 32); row 1: partial tile 0 cut by bands 0, 1, 2 (> G = 2)
        bands = i32([0, 8, 0, 64, -99, 99, 0, 8, 36, 48, -99, 99, 4, 8, 0, 64, 0, 0])
        row_runs, runs = i32([0, 2, 2]), i32([0, 2, 3, 4])
        row_parts = i32([0, 1, 2])
        parts = i32([2, 0, 1, 36, 48, 0, 1, 3, 0, 9])
        sids = i32([1, 0, 1, 2])
        rowf, ft, rowps, ps, rowparts2, parts2 = gather_lists(row_runs, runs, row_parts, parts, sids, bands, 2, 16, 8)
        self.assertEqual(rowf.tolist(), [0, 3, 3])
        self.assertEqual(ft.tolist(), [0, 1, 3])
        self.assertEqual(rowps.tolist(), [0, 2, 2])  # steps 32 and 40 of row 0's partial tile
        rec = ps.view(-1, 13)
        self.assertEqual(rec[:, 0].tolist(), [32, 40])
        self.assertEqual(rec[0, 1:7].tolist(), [0, 8, 36, 48, -99, 99])  # band 1 in slot 0
        self.assertEqual(rec[0, 7:].tolist(), [0] * 6)  # an empty slot
        self.assertEqual(rowparts2.tolist(), [0, 0, 1])  # row 1's 3-band tile falls back
        self.assertEqual(parts2.tolist(), [0, 1, 3, 0, 9])
        # without the index list (fwdGatherFull 0: the kernel walks the runs) no full tile is listed
        rowf0, ft0, *rest = gather_lists(row_runs, runs, row_parts, parts, sids, bands, 2, 16, 8, full=False)
        self.assertEqual(rowf0.tolist(), [0, 0, 0])
        self.assertTrue(all(torch.equal(x, y) for x, y in zip(rest, (rowps, ps, rowparts2, parts2))))
        # with G = 3 nothing falls back and row 1's tile is two steps (0 and 8) of three slots
        rowf, ft, rowps, ps, rowparts2, parts2 = gather_lists(row_runs, runs, row_parts, parts, sids, bands, 3, 16, 8)
        self.assertEqual(rowps.tolist(), [0, 2, 4])
        self.assertEqual(rowparts2.tolist(), [0, 0, 0])
        self.assertEqual(ps.view(-1, 19)[3, 1:].tolist(), [0, 8, 0, 64, -99, 99, 0, 8, 36, 48, -99, 99, 4, 8, 0, 64, 0, 0])


@needs_torch
class GatherForwardOnCpu(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, HERE)
        import cpu_triton
        from . import test_triton_ranges as base

        cls.base = base
        cls.cases = cpu_triton.ranges_class_setup(cls)

    @classmethod
    def tearDownClass(cls):
        import cpu_triton

        cpu_triton.leave(cls.state)

    def test_fixture_cases(self):
        helper = self.base.TritonRangesOnCpu("test_fixture_cases")
        variants = ({"fwdGather": 2}, {"fwdGather": 1, "fwdGatherFull": 0}, {"fwdGather": 2, "fwdSplit": 2})
        fallback, steps, split = 0, 0, 0
        only = os.environ.get("GATHER_CASES", "")
        for case in self.cases:
            if only and case["name"] not in only.split(","):
                continue
            for extra in variants:
                with self.subTest(case=case["name"], tuning=extra, backend=self.backend):
                    a = helper.args_of(case)
                    a["tuning"] = {**a["tuning"], "persistent": 0}
                    if self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu").bm // extra.get("fwdSplit", 1) < 16:
                        continue
                    a["tuning"].update(extra)
                    ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
                    split += ls.split("fwdSplit") > 1
                    q, k, v, _ = helper.inputs(case, 5)
                    scale = 1.0 / math.sqrt(case["d"])
                    ro, rlse, *_ = self.base.reference(q, k, v, self.base.dense_masks(case), torch.zeros_like(q), scale)
                    o, lse2 = self.tr.forward(q[None], k[None], v[None], ls, scale)
                    self.assertIsNotNone(ls.gather)
                    fallback += int(ls.gather[4][-1]) > 0
                    steps += int(ls.gather[2][-1]) > 0
                    helper.check("out", o[0], ro)
                    lse = torch.where(torch.isinf(lse2[0]), torch.full_like(lse2[0], float("-inf")), lse2[0] * self.tr.LN2)
                    self.assertTrue(torch.equal(torch.isinf(lse), torch.isinf(rlse)), "rows with no key")
                    fin = ~torch.isinf(rlse)
                    helper.check("lse", lse[fin], rlse[fin])
                    self.assertIn(f"gather {extra['fwdGather']}", ls.note())
        if not only:
            self.assertGreater(fallback, 2)  # some lists had tiles of more bands than slots (the fallback loop ran)
            self.assertGreater(steps, 2 * len(self.cases))  # and most had gathered partial steps
            self.assertGreater(split, 3)

    def test_refusals(self):
        helper = self.base.TritonRangesOnCpu("test_fixture_cases")
        case = self.cases[0]
        a = helper.args_of(case)
        a["tuning"] = {**a["tuning"], "fwdGather": 2, "persistent": 1}
        with self.assertRaises(self.tr.Unsupported):
            self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")


if __name__ == "__main__":
    unittest.main()
