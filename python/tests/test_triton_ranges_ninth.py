"""triton_ranges' ninth-pass tuning key (issue 13, results/h200/kernels/triton_ranges-notes.md), run
like tests/test_triton_ranges.py (Triton's interpreter on CPU tensors; skipped without triton) against the
same float64 reference:
- bwdPackLse: dK/dV reads LSE and DELTA from a [B, KV heads, S, pack] copy, at the default row
  steps and at flex's 64-row steps (partial tiles 16 / 32 rows), fused and in two launches, dQ by
  atomics, on split backward lists, groups of 1, 2, 3, 5 and 8 heads; a launch that hands the
  kernel the unpacked LSE must fail.
Needs torch (skipped without it); the compiled kernels are checked by scripts/kernel-aot.py and
the GPU suite.
"""

import math
import os
import sys
import unittest

from .helpers import needs_torch, torch

HERE = os.path.dirname(os.path.abspath(__file__))
if torch is not None:
    sys.path.insert(0, HERE)
    from .test_triton_ranges import TOL, dense_masks, reference  # noqa: E402

BWD_VARIANTS = ({"bwdPackLse": 1}, {"bwdPackLse": 1, "bwdSubM": 64, "bwdSubMPart": 32, "bwdFused": 1, "dqAtomic": 0},
                {"bwdPackLse": 1, "bwdSubM": 64, "bwdSubMPart": 16, "bwdFused": 0})


@needs_torch
class TritonRangesNinthPass(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import cpu_triton

        cls.cases = {c["name"]: c for c in cpu_triton.ranges_class_setup(cls)}

    @classmethod
    def tearDownClass(cls):
        import cpu_triton

        cpu_triton.leave(cls.state)

    def args_of(self, case, tuning):
        a = dict(case["args"])
        a["bands"] = torch.tensor(a["bands"], dtype=torch.int32)
        for d in ("fwd", "bwd"):
            a[d] = {k: torch.tensor(v, dtype=torch.int32) if isinstance(v, list) else v for k, v in a[d].items()}
        a["tuning"] = {**a["tuning"], **tuning}
        return a

    def run_case(self, case, tuning):
        """(lists, reference (o, lse, dq, dk, dv), ours (o, dq, dk, dv)) of one fixture case under extra tuning keys."""
        ls = self.tr.Lists(self.args_of(case, tuning), case["hq"], case["hkv"], case["d"], "cpu")
        g = torch.Generator().manual_seed(13)
        mk = lambda s, h: torch.randn(s, h, case["d"], generator=g).to(torch.bfloat16)  # noqa: E731
        q, k, v, do = mk(case["sq"], case["hq"]), mk(case["sk"], case["hkv"]), mk(case["sk"], case["hkv"]), mk(case["sq"], case["hq"])
        scale = 1.0 / math.sqrt(case["d"])
        ref = reference(q, k, v, dense_masks(case), do, scale)
        o, lse2 = self.tr.forward(q[None], k[None], v[None], ls, scale)
        grads = self.tr.backward(q[None], k[None], v[None], o, lse2, do[None], ls, scale)
        return ls, ref, (o[0],) + tuple(x[0] for x in grads)

    def err(self, got, ref):
        return float((got.double() - ref).abs().max()) if got.numel() else 0.0

    def assert_close(self, ref, got, names=("out", "dq", "dk", "dv")):
        ro, _, rdq, rdk, rdv = ref
        for name, x, r in zip(("out", "dq", "dk", "dv"), got, (ro, rdq, rdk, rdv)):
            if name in names:
                bound = TOL if name == "out" else TOL * max(1.0, float(r.abs().max()))
                self.assertLessEqual(self.err(x, r), bound, f"{name}")

    def test_packed_lse_backward(self):
        names = ("block_sparse_d128_gqa8_2kv", "causal_docs_d128_gqa3_descriptor", "per_head_gqa5_empty_rows",
                 "all_kinds_mha_atomic", "causal_docs_gqa2", "split_causal_doc_gqa4")
        ran = []
        for name in names:
            case = self.cases[name]
            for extra in BWD_VARIANTS:
                with self.subTest(case=name, tuning=extra, backend=self.backend):
                    ls, ref, got = self.run_case(case, extra)
                    self.assertIn("packed lse", ls.note())
                    self.assert_close(ref, got, ("dq", "dk", "dv"))
                    ran.append((ls.pack, ls.tuning["bwdSubM"], ls.tuning["bwdFused"], ls.tuning["dqAtomic"], ls.bwd.items is not None))
        packs = {r[0] for r in ran}
        self.assertTrue({1, 2, 3, 5, 8} <= packs, packs)
        self.assertTrue(any(r[3] for r in ran) and any(r[4] and r[2] for r in ran) and any(r[4] and not r[2] for r in ran))

    def test_packed_lse_layout_matters(self):
        """The kernel must read the packed copy: handed the [B, S, Hq] LSE / DELTA instead, dK is wrong
        (a case with 2 KV heads: with one, both layouts are the same)."""
        case = self.cases["block_sparse_d128_gqa8_2kv"]
        ls, ref, got = self.run_case(case, {"bwdPackLse": 1})
        self.assert_close(ref, got, ("dk",))
        real = self.tr._delta_lse

        def unpacked(fwd, o, do, lse, pack, plse):  # the unpacked layout under the packed flag
            delta, _, _ = real(fwd, o, do, lse, pack, False)
            return delta, lse, delta
        self.tr._delta_lse = unpacked
        try:
            _, ref, bad = self.run_case(case, {"bwdPackLse": 1})
        finally:
            self.tr._delta_lse = real
        self.assertGreater(self.err(bad[2], ref[3]), 0.1 * float(ref[3].abs().max()))

    def test_delta_kernel_writes_the_packed_copies(self):
        """The DELTA launch writes LSE and DELTA packed per KV group ([B, Hq / P, S, P]) bit-equal to the
        torch copies it replaced (_packed), for groups of 1, 3 and 8, two sequences, S not a multiple of
        the launch's 64 rows; without the flag it returns LSE and DELTA themselves."""
        from attnbench_worker.kernels import triton_ranges_fwd as fwd

        g = torch.Generator().manual_seed(5)
        for hq, pack, s in ((3, 1, 37), (6, 3, 50), (16, 8, 21)):
            with self.subTest(hq=hq, pack=pack, backend=self.backend):
                o, do = (torch.randn(2, s, hq, 64, generator=g).to(torch.bfloat16) for _ in range(2))
                lse = torch.randn(2, s, hq, generator=g)
                delta, lsep, deltap = self.tr._delta_lse(fwd, o, do, lse, pack, True)
                want = (o.float() * do.float()).sum(-1)
                self.assertLessEqual(float((delta - want).abs().max()), 1e-4)
                self.assertTrue(torch.equal(lsep, self.tr._packed(lse, pack)))
                self.assertTrue(torch.equal(deltap, self.tr._packed(delta, pack)))
                d2, l2, dp2 = self.tr._delta_lse(fwd, o, do, lse, pack, False)
                self.assertTrue(torch.equal(d2, delta) and l2 is lse and dp2 is d2)

    def test_packed_lse_batch(self):
        """Two sequences in one launch (batch 2, different inputs): the packed rows of each batch
        element, dK/dV of both against the reference of each (groups of 2, 2 KV heads)."""
        case = self.cases["causal_docs_gqa2"]
        for extra in ({"bwdPackLse": 1}, {"bwdPackLse": 1, "bwdFused": 1, "bwdSubM": 64, "bwdSubMPart": 32}):
            with self.subTest(tuning=extra, backend=self.backend):
                ls = self.tr.Lists(self.args_of(case, extra), case["hq"], case["hkv"], case["d"], "cpu")
                g = torch.Generator().manual_seed(29)
                mk = lambda s, h: torch.randn(2, s, h, case["d"], generator=g).to(torch.bfloat16)  # noqa: E731
                q, k, v, do = mk(case["sq"], case["hq"]), mk(case["sk"], case["hkv"]), mk(case["sk"], case["hkv"]), mk(case["sq"], case["hq"])
                scale = 1.0 / math.sqrt(case["d"])
                o, lse2 = self.tr.forward(q, k, v, ls, scale)
                dq, dk, dv = self.tr.backward(q, k, v, o, lse2, do, ls, scale)
                for i in range(2):
                    ref = reference(q[i], k[i], v[i], dense_masks(case), do[i], scale)
                    self.assert_close(ref, (o[i], dq[i], dk[i], dv[i]))


if __name__ == "__main__":
    unittest.main()
