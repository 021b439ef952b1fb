"""triton_ranges' 64-row programs (issue 13, eleventh pass; results/h200/kernels/triton_ranges-notes.md), run
like tests/test_triton_ranges.py (Triton's interpreter on CPU tensors; skipped without triton) against the
same float64 reference, on the fixture case block_sparse64_d128_mha_descriptor (heads 2:2 at d 128,
64-blocks: the descriptor's 64 x 64 tiles, so a program has 64 rows, as block_sparse 16k 4:4):
- the descriptor's tuning (since 2026-12-06 the winners of call21 below), the old default, and the
  variants issue13.sh call21 timed over the old default: one warpgroup (fwdWarps 4), the
  gathered forward's full-tile index list (fwdGather 2) with and without it, and the one-warpgroup
  backward at its spill-free steps (16-row dK/dV steps, 32-key dQ steps; fused and two launches);
- each variant reaches the launch: the launch options carry its warps and steps (the interpreter
  ignores num_warps, so this is what the test can see of it), and the gathered forward's index list
  holds every full tile of the list (no run loop left).
Needs torch (skipped without it); the compiled kernels are checked by scripts/kernel-aot.py (eleventh-pass
rows) and on the GPU by scripts/device/issue13.sh call21.
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

CASE = "block_sparse64_d128_mha_descriptor"
# scripts/device/issue13.sh call21 (W4, G, W4G, B4, B4X2)
W4 = {"fwdWarps": 4}
G = {"fwdGather": 2}
W4G = {"fwdWarps": 4, "fwdGather": 2}
B4 = {"bwdWarps": 4, "bwdSubM": 16, "bwdSubMPart": 16, "dqSubN": 32}
B4X2 = {"bwdFused": 0, "bwdWarps": 4, "bwdSubM": 16, "bwdSubMPart": 16, "dqWarps": 4, "dqSubN": 32, "dqStages": 3}
# Since the H100 A/B of 2026-12-06 (call21) the class's default is W4G + B4 (src/kernels/gpu/triton_ranges.ts
# ROWS64); the old default (8 warps on 64 rows, the run loop, 32-row dK/dV steps, 64-key dQ steps) is OLD.
DEFAULT = {"fwdWarps": 4, "fwdGather": 2, "bwdWarps": 4, "bwdSubM": 16, "bwdSubMPart": 16, "dqSubN": 32}
OLD = {"fwdWarps": 8, "fwdGather": 0, "bwdWarps": 8, "bwdSubM": 32, "bwdSubMPart": 16, "dqSubN": 64}
VARIANTS = ({}, OLD, *({**OLD, **v} for v in (W4, G, W4G, B4, B4X2)), B4X2)


class _Launches:
    """Records the launch options of the kernels triton_ranges launches (kernel[grid](..., num_warps=...))."""

    def __init__(self, modules, names):
        self.seen, self.saved = [], []
        for mod in modules:
            for name in names:
                k = getattr(mod, name, None)
                if k is not None:
                    self.saved.append((mod, name, k))

    def __enter__(self):
        for mod, name, k in self.saved:
            setattr(mod, name, self._wrap(name, k))
        return self

    def __exit__(self, *exc):
        for mod, name, k in self.saved:
            setattr(mod, name, k)

    def _wrap(self, name, k):
        seen = self.seen

        class Wrapped:
            def __getitem__(self, grid):
                launch = k[grid]

                def run(*args, **kw):
                    seen.append((name, {o: kw[o] for o in ("num_warps", "num_stages", "SUBM", "SUBMP", "SUBN", "BM", "G", "FULL", "DP", "OUT") if o in kw}))
                    return launch(*args, **kw)
                return run
        return Wrapped()


@needs_torch
class TritonRangesEleventhPass(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import cpu_triton

        cases = cpu_triton.ranges_class_setup(cls)
        from attnbench_worker.kernels import triton_ranges_bwd, triton_ranges_fwd, triton_ranges_gather

        cls.mods = (triton_ranges_fwd, triton_ranges_bwd, triton_ranges_gather)
        cls.case = next(c for c in cases if c["name"] == CASE)

    @classmethod
    def tearDownClass(cls):
        import cpu_triton

        cpu_triton.leave(cls.state)

    def args_of(self, tuning):
        a = dict(self.case["args"])
        a["bands"] = torch.tensor(a["bands"], dtype=torch.int32)
        for d in ("fwd", "bwd"):
            a[d] = {k: torch.tensor(v, dtype=torch.int32) if isinstance(v, list) else v for k, v in a[d].items()}
        a["tuning"] = {**a["tuning"], **tuning}
        return a

    def err(self, got, ref):
        return float((got.double() - ref).abs().max()) if got.numel() else 0.0

    def test_case_is_the_64_row_class(self):
        """The fixture case has the shape the H200 rows lose on: 64-row programs, one-tile runs, a partial tile."""
        c = self.case
        ls = self.tr.Lists(self.args_of({}), c["hq"], c["hkv"], c["d"], "cpu")
        self.assertEqual((ls.pack, ls.tq, ls.tk, ls.bm, c["d"]), (1, 64, 64, 64, 128))
        t = ls.tuning
        self.assertEqual((t["fwdWarps"], t["fwdGather"], t["bwdWarps"], t["bwdKeys"], t["bwdFused"]), (4, 2, 4, 64, 1))  # one warpgroup on 64 rows
        runs = ls.fwd.runs.view(-1, 2)
        self.assertGreater(int(((runs[:, 1] - runs[:, 0]) == 1).sum()), runs.shape[0] // 2)  # most runs are one tile
        self.assertGreater(ls.fwd.partial, 0)

    def test_variants_against_reference(self):
        c = self.case
        g = torch.Generator().manual_seed(21)
        mk = lambda s, h: torch.randn(s, h, c["d"], generator=g).to(torch.bfloat16)  # noqa: E731
        q, k, v, do = mk(c["sq"], c["hq"]), mk(c["sk"], c["hkv"]), mk(c["sk"], c["hkv"]), mk(c["sq"], c["hq"])
        scale = 1.0 / math.sqrt(c["d"])
        ro, rlse, rdq, rdk, rdv = reference(q, k, v, dense_masks(c), do, scale)
        for extra in VARIANTS:
            with self.subTest(tuning=extra, backend=self.backend):
                ls = self.tr.Lists(self.args_of(extra), c["hq"], c["hkv"], c["d"], "cpu")
                with _Launches(self.mods, ("_fwd", "_fwd_gather", "_bwd", "_dkdv", "_dq")) as rec:
                    o, lse2 = self.tr.forward(q[None], k[None], v[None], ls, scale)
                    dq, dk, dv = self.tr.backward(q[None], k[None], v[None], o, lse2, do[None], ls, scale)
                self.assertLessEqual(self.err(o[0], ro), TOL, "out")
                lse = torch.where(torch.isinf(lse2[0]), torch.full_like(lse2[0], float("-inf")), lse2[0] * self.tr.LN2)
                self.assertTrue(torch.equal(torch.isinf(lse), torch.isinf(rlse)), "rows with no key")
                for name, x, r in (("dq", dq[0], rdq), ("dk", dk[0], rdk), ("dv", dv[0], rdv)):
                    self.assertLessEqual(self.err(x, r), TOL * max(1.0, float(r.abs().max())), name)
                launched = dict(rec.seen)
                eff = {**DEFAULT, **extra}
                self.assertEqual({k: ls.tuning[k] for k in eff}, eff)  # the job's tuning is the fixture's under the variant
                fwd = launched["_fwd_gather" if eff["fwdGather"] else "_fwd"]
                self.assertEqual((fwd["num_warps"], fwd["BM"]), (eff["fwdWarps"], 64))
                if eff["fwdGather"]:
                    self.assertTrue(fwd["FULL"])
                    rowf, ft = ls.gather[0], ls.gather[1]
                    self.assertEqual(int(rowf[-1]), ls.fwd.full)  # every full tile in the index list
                    self.assertEqual(ft.numel(), ls.fwd.full)
                bwd = launched["_bwd"] if ls.tuning["bwdFused"] else launched["_dkdv"]
                self.assertEqual(bwd["num_warps"], eff["bwdWarps"])
                self.assertEqual((bwd["SUBM"], bwd["SUBMP"]), (eff["bwdSubM"], eff["bwdSubMPart"]))
                if not ls.tuning["bwdFused"]:
                    self.assertEqual((launched["_dq"]["num_warps"], launched["_dq"]["SUBN"]), (eff.get("dqWarps", 8), eff["dqSubN"]))
                else:
                    self.assertEqual(bwd["SUBN"], eff["dqSubN"])


if __name__ == "__main__":
    unittest.main()
