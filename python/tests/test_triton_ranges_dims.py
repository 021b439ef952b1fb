"""triton_ranges at head dims other than 64 / 128 (issue 13, thirteenth pass), run like
tests/test_triton_ranges.py (Triton's interpreter on CPU tensors; skipped without triton) against the same
float64 reference, on the fixture's cases at 16, 32, 48, 80, 96, 192 and 256 (src/mask/adapters/ranges-fixture.ts,
each at its descriptor's tiles and tuning):
- out, lse and dQ / dK / dV of every case; a head dim that is not a power of two runs as DP columns
  (the next power of two) with the extra columns masked, so an unmasked load would read the next
  head's columns and fail here; the launches carry D and DP;
- head dims above 128: dV and dK by two dK/dV launches (tuning.bwdSeparate 1: OUT 1 then 2; the default
  is one launch, OUT 3, since an H100 A/B), bitwise equal to the one-launch backward of the same tiles;
  bwdSeparate refuses the fused launch
  and dQ atomics;
- the CP partial entry (partial_forward / partial_backward) at 96 and 256;
- head dims the kernel refuses (not a multiple of 8, above 256, below 16), with the reason.
Needs torch (skipped without it); the compiled kernels are checked by scripts/kernel-aot.py ('dims'
rows: registers, spills, HGMMA) and on a GPU by scripts/device/issue13.sh call25 (not run yet).
"""

import math
import os
import sys
import unittest

from .helpers import needs_torch, torch

HERE = os.path.dirname(os.path.abspath(__file__))
if torch is not None:
    sys.path.insert(0, HERE)
    from .test_triton_ranges import FixtureCaseMixin, TOL, dense_masks, reference  # noqa: E402
    from .test_triton_ranges_eleventh import _Launches  # noqa: E402
else:  # the class below is skipped; its base still has to exist

    class FixtureCaseMixin:
        pass


DIMS = (16, 32, 48, 80, 96, 192, 256)


@needs_torch
class TritonRangesHeadDims(FixtureCaseMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import cpu_triton

        cases = cpu_triton.ranges_class_setup(cls)
        from attnbench_worker.kernels import triton_ranges_bwd, triton_ranges_fwd

        cls.mods = (triton_ranges_fwd, triton_ranges_bwd)
        cls.cases = [c for c in cases if c["d"] not in (64, 128)]

    @classmethod
    def tearDownClass(cls):
        import cpu_triton

        cpu_triton.leave(cls.state)

    def run_case(self, case, tuning=None):
        ls = self.tr.Lists(self.args_of(case, tuning), case["hq"], case["hkv"], case["d"], "cpu")
        q, k, v, do = self.inputs(case, 13)
        scale = 1.0 / math.sqrt(case["d"])
        with _Launches(self.mods, ("_fwd", "_bwd", "_dkdv", "_dq", "_delta")) as rec:
            o, lse2 = self.tr.forward(q[None], k[None], v[None], ls, scale)
            grads = self.tr.backward(q[None], k[None], v[None], o, lse2, do[None], ls, scale)
        return ls, (q, k, v, do, scale), o, lse2, grads, rec.seen

    def test_the_fixture_has_every_dim(self):
        self.assertEqual(sorted(c["d"] for c in self.cases), list(DIMS))
        self.assertEqual(self.tr.HEAD_DIMS, tuple(range(16, 257, 8)))
        from attnbench_worker.tables import CP_AUTO_CUDA
        self.assertEqual(tuple(next(c for c in CP_AUTO_CUDA if c["kernel"] == "triton_ranges")["headDims"]), self.tr.HEAD_DIMS)

    def test_dims_against_reference(self):
        for case in self.cases:
            with self.subTest(case=case["name"], d=case["d"], backend=self.backend):
                ls, (q, k, v, do, scale), o, lse2, (dq, dk, dv), seen = self.run_case(case)
                d, dp = case["d"], 1 << (case["d"] - 1).bit_length()
                self.assertEqual((ls.d, ls.dp), (d, dp))
                ro, rlse, rdq, rdk, rdv = reference(q, k, v, dense_masks(case), do, scale)
                self.check("out", o[0], ro)
                lse = torch.where(torch.isinf(lse2[0]), torch.full_like(lse2[0], float("-inf")), lse2[0] * self.tr.LN2)
                self.assertTrue(torch.equal(torch.isinf(lse), torch.isinf(rlse)), "rows with no key")
                fin = ~torch.isinf(rlse)
                self.check("lse", lse[fin], rlse[fin])
                self.check("dq", dq[0], rdq, grad=True)
                self.check("dk", dk[0], rdk, grad=True)
                self.check("dv", dv[0], rdv, grad=True)
                for name, kw in seen:  # every kernel got the head dim and its padded columns
                    self.assertEqual(kw.get("DP"), dp, name)
                note = ls.note()
                self.assertIn(f"head dim {d}", note)
                self.assertIn("not measured on a GPU", note)
                self.assertEqual(f"padded to {dp} columns" in note, d != dp)
                outs = [kw.get("OUT") for name, kw in seen if name == "_dkdv"]
                # one dK/dV launch of both accumulators at every dim (d > 128 too since the H100 A/B of
                # 2026-12-06: one launch 45.7 ms, two 58.6 ms); bwdSeparate 1 is the two-launch form
                if d > 128:  # (d 72..128 fuse dQ into the dK/dV launch: another kernel)
                    self.assertEqual(outs, [3])
                self.assertNotIn("dV, dK in two launches", note)

    def test_separate_launches_equal_one_launch(self):
        """bwdSeparate (head dims > 128) writes what the one-launch backward writes, bitwise; it
        refuses the fused launch and dQ atomics."""
        for case in [c for c in self.cases if c["d"] > 128]:
            with self.subTest(case=case["name"], backend=self.backend):
                *_, sep, seen = self.run_case(case, {"bwdSeparate": 1})
                *_, one, seen1 = self.run_case(case)
                self.assertEqual([kw.get("OUT") for n, kw in seen if n == "_dkdv"], [1, 2])
                self.assertEqual([kw.get("OUT") for n, kw in seen1 if n == "_dkdv"], [3])
                for name, x, y in zip(("dq", "dk", "dv"), sep, one):
                    self.assertTrue(torch.equal(x, y), name)
                    self.assertGreater(float(x.abs().max()), 0.0)
                for bad in ({"bwdFused": 1}, {"dqAtomic": 1}):
                    with self.assertRaises(self.tr.Unsupported):
                        self.tr.Lists(self.args_of(case, {"bwdSeparate": 1, **bad}), case["hq"], case["hkv"], case["d"], "cpu")

    def test_partial_entry(self):
        """The CP entry at 96 (128 columns, masked) and 256 (python's default tuning: one dK/dV launch)."""
        for case in [c for c in self.cases if c["d"] in (96, 256)]:
            with self.subTest(case=case["name"], backend=self.backend):
                step, lse, rlse = self.partial_case(case)
                fin = ~torch.isinf(rlse)
                self.check("lse", lse[fin], rlse[fin])
                ls = step.cache[("triton_ranges", case["hq"], case["hkv"])]
                self.assertEqual((ls.bm, ls.dp, ls.tuning["bwdSeparate"]), (128, 1 << (case["d"] - 1).bit_length(), 0))

    def test_refused_dims(self):
        case = self.cases[0]
        for d in (8, 100, 264, 512):
            with self.subTest(d=d):
                with self.assertRaises(self.tr.Unsupported) as cm:
                    self.tr.Lists(self.args_of(case), case["hq"], case["hkv"], d, "cpu")
                self.assertIn(f"multiple of 8 from 16 to 256, not {d}", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
