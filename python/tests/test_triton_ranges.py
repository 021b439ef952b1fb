"""triton_ranges' real kernels, run on the CPU against a float64 dense reference: through Triton's
interpreter (tests/cpu_triton.py; skipped where triton is not installed): out, lse and dQ/dK/dV on the fixture cases the TypeScript adapter built
(python/tests/fixtures/ranges_cases.json: documents with one-token members, every slice kind,
per-KV-head masks, GQA packing, a rectangular CP-like step, dQ by atomics and by the second pass).
Also partial_forward / partial_backward (the CP entry). Needs torch (skipped without it); the
compiled kernel itself is checked by the GPU suite.
"""

import json
import math
import os
import sys
import unittest

from .helpers import needs_torch, torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "ranges_cases.json")
TOL = 3e-2  # src/util/tolerance.ts for bfloat16


def dense_masks(case):
    """Bool [heads, Sq, Sk] from the slices (SPEC 2 kinds), written here independently of the kernel."""
    sq, sk = case["sq"], case["sk"]
    out = []
    for h in case["slices"]:
        m = torch.zeros(sq, sk, dtype=torch.bool)
        for t, kind in enumerate(h["types"]):
            q0, q1 = h["qRanges"][2 * t: 2 * t + 2]
            k0, k1 = h["kRanges"][2 * t: 2 * t + 2]
            i = torch.arange(q1 - q0)[:, None]
            j = torch.arange(k1 - k0)[None, :]
            keep = torch.ones(q1 - q0, k1 - k0, dtype=torch.bool)
            if kind in (1, 3):
                keep &= j <= i + (k1 - k0) - (q1 - q0)
            if kind in (2, 3):
                keep &= j >= i
            m[q0:q1, k0:k1] |= keep
        out.append(m)
    return torch.stack(out)


def reference(q, k, v, masks, do, scale):
    """float64 attention, [S, H, D] layout; rows with no key give o = 0, lse = -inf, no gradient."""
    hq, hkv = q.shape[1], k.shape[1]
    g = hq // hkv
    q, k, v, do = (x.double().requires_grad_(x is not do) for x in (q, k, v, do))
    kk = k.repeat_interleave(g, dim=1)
    vv = v.repeat_interleave(g, dim=1)
    s = torch.einsum("qhd,khd->hqk", q, kk) * scale
    m = masks[torch.arange(hq) // g] if masks.shape[0] > 1 else masks.expand(hq, -1, -1)
    s = s.masked_fill(~m, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)  # [H, Sq]
    p = torch.exp(s - torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)[..., None])
    p = torch.where(m, p, torch.zeros_like(p))
    o = torch.einsum("hqk,khd->qhd", p, vv)
    dq, dk, dv = torch.autograd.grad(o, (q, k, v), do)
    return o.detach(), lse.T.detach(), dq, dk, dv


class FixtureCaseMixin:
    """A fixture case's kernel arguments, random bf16 inputs and the suite's tolerance check, for the
    interpreter test classes (test_triton_ranges_dims uses it too); not a TestCase itself."""

    def args_of(self, case, tuning=None):
        a = dict(case["args"])
        a["bands"] = torch.tensor(a["bands"], dtype=torch.int32)
        for d in ("fwd", "bwd"):
            a[d] = {k: torch.tensor(v, dtype=torch.int32) if isinstance(v, list) else v for k, v in a[d].items()}
        a["tuning"] = {**a["tuning"], **(tuning or {})}  # a copy: the fixture's own dict stays as loaded
        return a

    def inputs(self, case, seed):
        g = torch.Generator().manual_seed(seed)
        mk = lambda s, h: torch.randn(s, h, case["d"], generator=g).to(torch.bfloat16)  # noqa: E731
        return mk(case["sq"], case["hq"]), mk(case["sk"], case["hkv"]), mk(case["sk"], case["hkv"]), mk(case["sq"], case["hq"])

    def check(self, name, got, ref, grad=False):
        err = float((got.double() - ref).abs().max()) if got.numel() else 0.0
        bound = TOL * max(1.0, float(ref.abs().max())) if grad else TOL
        self.assertTrue(err <= bound, f"{name}: max abs error {err:.4g} > {bound:.4g}")

    def partial_case(self, case):
        """One case through the CP entry (partial_forward / partial_backward) against the reference;
        -> (step, lse, reference lse) for checks of the caller's own."""
        step = type("Step", (), {})()
        step.arrays = {k: torch.tensor(v, dtype=torch.int32) if isinstance(v, list) else v for k, v in case["step"].items()}
        step.scale = 0.125
        step.cache = {}
        q, k, v, do = self.inputs(case, 5)
        ro, rlse, rdq, rdk, rdv = reference(q, k, v, dense_masks(case), do, 0.125)
        o, lse = self.tr.partial_forward(q, k, v, step)
        self.assertEqual(tuple(lse.shape), (case["sq"], case["hq"]))
        self.assertEqual(lse.dtype, torch.float32)
        self.check("out", o, ro)
        self.assertTrue(torch.equal(torch.isinf(lse), torch.isinf(rlse)))
        self.assertTrue(bool((lse[torch.isinf(lse)] < 0).all()))
        key = ("triton_ranges", case["hq"], case["hkv"])
        self.assertEqual(list(step.cache), [key])  # lists built once, at 128 / pack tokens
        self.assertEqual(step.cache[key].bm, 128)
        dq, dk, dv = self.tr.partial_backward(q, k, v, o, lse, do, step)
        self.check("dq", dq, rdq, grad=True)
        self.check("dk", dk, rdk, grad=True)
        self.check("dv", dv, rdv, grad=True)
        return step, lse, rlse


@needs_torch
class TritonRangesOnCpu(FixtureCaseMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, HERE)
        import cpu_triton

        # Only for this class: the kernel modules re-imported to run on the CPU, restored in tearDownClass.
        cls.backend, cls.state = cpu_triton.enter()
        from attnbench_worker.kernels import triton_ranges

        cls.tr = triton_ranges
        with open(FIXTURE) as f:
            cls.cases = json.load(f)

    @classmethod
    def tearDownClass(cls):
        import cpu_triton

        cpu_triton.leave(cls.state)

    def test_fixture_cases(self):
        # dQ by the second pass and by atomics; band tests looped, and unrolled over 4 slots (lists
        # with a tile cut by 3+ bands fall back to the loop); the persistent grid (LPT shares); tiles
        # split over two programs in the forward and the dQ pass (where a half keeps >= 16 rows)
        # and (call11) dK/dV and dQ in one launch, with partial tiles walked in smaller row steps
        # than full runs (bwdSubMPart), under a forward register cap (maxnreg: ignored by the interpreter)
        unrolled, persistent, split, fused = [], [], 0, 0
        call11 = {"bwdFused": 1, "bwdSubMPart": 16, "fwdMaxRegs": 168}
        variants = ((0, 0, 0, 1, {}), (1, 0, 0, 1, {}), (0, 4, 0, 1, {}), (0, 0, 1, 1, {}), (0, 0, 0, 2, {}), (0, 0, 0, 1, call11))
        for case, atomic, static, persist, sp, extra in [(c, *v) for c in self.cases for v in variants]:
            if persist and "items" in case["args"]["bwd"]:
                continue  # split lists are launched per item (test_split_backward_rows checks the refusal)
            with self.subTest(case=case["name"], dq_atomic=atomic, bands_static=static, persistent=persist, split=sp, extra=extra, backend=self.backend):
                tr = self.tr
                a = self.args_of(case)
                a["tuning"] = {**a["tuning"], "dqAtomic": atomic, "bandsStatic": static, "persistent": persist, **extra}
                if atomic or persist:  # the d 128 cases' fused backward refuses both (test_call11_keys): two launches
                    a["tuning"]["bwdFused"] = 0
                if persist:  # the gathered forward (the 64-row class's default) takes the LPT launch only
                    a["tuning"]["fwdGather"] = 0
                if atomic or extra.get("bwdFused"):  # head dims > 128: dV and dK apart refuse dQ atomics and the fused
                    a["tuning"]["bwdSeparate"] = 0  # launch (test_triton_ranges_dims): one dK/dV launch
                if sp > 1:
                    if tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu").bm < 32:
                        continue
                    a["tuning"].update(fwdSplit=sp, dqSplit=sp)
                    split += 1
                ls = tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
                if extra:  # the fused launch with its own partial-tile row steps
                    fused += ls.tuning["bwdSubMPart"] < ls.tuning["bwdSubM"]
                unrolled += [lst.maxb for lst in (ls.fwd, ls.bwd)]
                if persist:  # programs with several rows each
                    persistent.append(max(int((lst.progs[1:] - lst.progs[:-1]).max()) for lst in (ls.fwd, ls.bwd)))
                q, k, v, do = self.inputs(case, 7)
                scale = 1.0 / math.sqrt(case["d"])
                ro, rlse, rdq, rdk, rdv = reference(q, k, v, dense_masks(case), do, scale)
                o, lse2 = tr.forward(q[None], k[None], v[None], ls, scale)
                self.check("out", o[0], ro)
                lse = torch.where(torch.isinf(lse2[0]), torch.full_like(lse2[0], float("-inf")), lse2[0] * tr.LN2)
                self.assertTrue(torch.equal(torch.isinf(lse), torch.isinf(rlse)), "rows with no key")
                fin = ~torch.isinf(rlse)
                self.check("lse", lse[fin], rlse[fin])
                dq, dk, dv = tr.backward(q[None], k[None], v[None], o, lse2, do[None], ls, scale)
                self.check("dq", dq[0], rdq, grad=True)
                self.check("dk", dk[0], rdk, grad=True)
                self.check("dv", dv[0], rdv, grad=True)
        self.assertIn(4, unrolled)  # some lists ran the unrolled band tests
        self.assertGreater(unrolled.count(0), 2 * len(self.cases))  # and some fell back
        self.assertGreaterEqual(max(persistent), 4)  # some persistent programs looped over 4+ rows
        self.assertGreater(split, len(self.cases) // 2)  # most cases also ran with split tiles
        self.assertGreaterEqual(fused, 4)  # the fused runs of the d 128 and wide-step cases stepped partial tiles by fewer rows

    def run_case(self, case, tuning, reverse=False):
        """(dq, dk, dv) of one case; reverse: the programs launched in the opposite order."""
        a = self.args_of(case)
        a["tuning"] = {**a["tuning"], **tuning}
        if reverse:
            for d in ("fwd", "bwd"):
                a[d]["order"] = a[d]["order"].flip(0)
                if "items" in a[d]:
                    a[d]["items"] = a[d]["items"].view(-1, 6).flip(0).reshape(-1)
        ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        q, k, v, do = self.inputs(case, 11)
        o, lse2 = self.tr.forward(q[None], k[None], v[None], ls, 0.125)
        return self.tr.backward(q[None], k[None], v[None], o, lse2, do[None], ls, 0.125)

    def test_deterministic_backward(self):
        """dqAtomic 0 (the default) is the deterministic mode: every dQ, dK, dV element is written by
        one program in a fixed order, so two runs, even with the programs launched in the opposite
        order, give bitwise-equal gradients. (The interpreter runs programs one after another, so
        reversing the launch order is what stands in for the GPU's scheduling.)"""
        names = ("causal_docs_gqa2", "per_head_gqa5_empty_rows")
        for case in [c for c in self.cases if c["name"] in names]:
            with self.subTest(case=case["name"], backend=self.backend):
                self.assertEqual(self.tr.Lists(self.args_of(case), case["hq"], case["hkv"], case["d"], "cpu").tuning["dqAtomic"], 0)
                first = self.run_case(case, {})
                again = self.run_case(case, {})
                rev = self.run_case(case, {}, reverse=True)
                pers = self.run_case(case, {"persistent": 1})
                for name, x, y, z, w in zip(("dq", "dk", "dv"), first, again, rev, pers):
                    self.assertTrue(torch.equal(x, y), f"{name} differs between two runs")
                    self.assertTrue(torch.equal(x, z), f"{name} depends on the launch order")
                    self.assertTrue(torch.equal(x, w), f"{name} differs on the persistent grid")
                    self.assertGreater(float(x.abs().max()), 0.0)

    def test_split_backward_rows(self):
        """Key tiles split over several dK/dV programs (src/mask/adapters/ranges-split.ts: few heads,
        a long document): every gradient against the float64 reference (dQ by the second pass, by
        atomics, and in the fused dK/dV + dQ launch), bitwise equal when the items are launched in the opposite order (the chunks' float32
        partials are summed in slot order: deterministic); dropping a chunk from the reduction, or
        a chunk's full runs, must fail; the persistent grid refuses a split list."""
        cases = [c for c in self.cases if "items" in c["args"]["bwd"]]
        self.assertEqual(len(cases), 2)
        for case in cases:
            with self.subTest(case=case["name"], backend=self.backend):
                a = self.args_of(case)
                items = a["bwd"]["items"].view(-1, 6)
                split = a["bwd"]["splitRows"].view(-1, 3)
                self.assertTrue(bool((items[:, 5] >= 0).any()) and bool((split[:, 2] >= 2).all()))
                q, k, v, do = self.inputs(case, 11)  # run_case's inputs and scale
                ro, _, rdq, rdk, rdv = reference(q, k, v, dense_masks(case), do, 0.125)
                ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
                self.assertIn("chunks", ls.note())
                for extra in ({"dqAtomic": 0}, {"dqAtomic": 1}, {"bwdFused": 1}):  # fused: the items in the dK/dV + dQ launch
                    dq, dk, dv = self.run_case(case, extra)
                    self.check("dq", dq[0], rdq, grad=True)
                    self.check("dk", dk[0], rdk, grad=True)
                    self.check("dv", dv[0], rdv, grad=True)
                first = self.run_case(case, {})
                rev = self.run_case(case, {}, reverse=True)
                for name, x, y in zip(("dq", "dk", "dv"), first, rev):
                    self.assertTrue(torch.equal(x, y), f"{name} depends on the launch order")
                # bwdSplit 0 (the device A/B): the same list's whole rows, as if never split
                whole = self.run_case(case, {"bwdSplit": 0})
                self.check("dk whole rows", whole[1][0], rdk, grad=True)
                self.assertNotIn("chunks", self.tr.Lists({**a, "tuning": {**a["tuning"], "bwdSplit": 0}}, case["hq"], case["hkv"], case["d"], "cpu").note())
                # a chunk left out of the reduction: dK/dV wrong
                b = self.args_of(case)
                sr = b["bwd"]["splitRows"].clone().view(-1, 3)
                sr[0, 2] -= 1
                b["bwd"]["splitRows"] = sr.view(-1)
                dk_bad = self.run_args(case, b)[1]
                self.assertGreater(float((dk_bad[0].double() - rdk).abs().max()), 0.1 * float(rdk.abs().max()))
                # a chunk without its full runs (their tiles never computed): dK/dV wrong
                c = self.args_of(case)
                it = c["bwd"]["items"].clone().view(-1, 6)
                i = int(((it[:, 5] >= 0) & (it[:, 2] > it[:, 1])).nonzero()[0, 0])
                it[i, 2] = it[i, 1]
                c["bwd"]["items"] = it.view(-1)
                dk_bad = self.run_args(case, c)[1]
                self.assertGreater(float((dk_bad[0].double() - rdk).abs().max()), 0.1 * float(rdk.abs().max()))
                with self.assertRaises(self.tr.Unsupported):
                    self.tr.Lists({**a, "tuning": {**a["tuning"], "persistent": 1, "programs": 4}}, case["hq"], case["hkv"], case["d"], "cpu")

    def run_args(self, case, a):
        ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        q, k, v, do = self.inputs(case, 11)
        o, lse2 = self.tr.forward(q[None], k[None], v[None], ls, 0.125)
        return self.tr.backward(q[None], k[None], v[None], o, lse2, do[None], ls, 0.125)

    def test_unsupported_shapes_are_refused(self):
        """head_dim not a multiple of 8 in 16..256 (test_triton_ranges_dims: more), a pack that is not the GQA group, lists of the wrong head count,
        an unknown tuning key: Unsupported with the reason, never a fallback."""
        case = self.cases[0]
        cases = [(100, case["hq"], case["hkv"], "head_dim a multiple of 8 from 16 to 256, not 100"),
                 (case["d"], case["hq"] * 3, case["hkv"], "packs the whole GQA group"),
                 (case["d"], 6, 2, "packs the whole GQA group")]
        for d, hq, hkv, reason in cases:
            with self.subTest(d=d, hq=hq, hkv=hkv):
                with self.assertRaises(self.tr.Unsupported) as cm:
                    self.tr.Lists(self.args_of(case), hq, hkv, d, "cpu")
                self.assertIn(reason, str(cm.exception))
        # a tuning key the kernel does not have (fwdTma / dqTma were removed) is refused, not ignored
        a = self.args_of(case)
        a["tuning"] = {**a["tuning"], "fwdTma": 1}
        with self.assertRaises(self.tr.Unsupported) as cm:
            self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        self.assertIn("no tuning key fwdTma", str(cm.exception))

    def test_call11_keys(self):
        """The seventh pass's tuning keys: the fused backward refuses the persistent grid and dQ
        atomics; partial-tile row steps are normalised like bwdSubM (0: bwdSubM); the row's notes
        name what ran, and the list statistic the TypeScript rule read."""
        case = next(c for c in self.cases if c["name"] == "causal_docs_d128_gqa8_descriptor")
        for bad in ({"bwdFused": 1, "persistent": 1}, {"bwdFused": 1, "dqAtomic": 1}):
            a = self.args_of(case)
            a["tuning"] = {**a["tuning"], **bad}
            with self.assertRaises(self.tr.Unsupported):
                self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        a = self.args_of(case)
        a["tuning"] = {**a["tuning"], "bwdSubMPart": 0}  # 0: the full runs' steps (the d 128 descriptor now steps 64 / 32)
        plain = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        self.assertEqual(plain.tuning["bwdSubMPart"], plain.tuning["bwdSubM"])
        self.assertNotIn("partial tiles)", plain.note())
        a["tuning"] = {**a["tuning"], "bwdFused": 1, "bwdSubM": 64, "bwdSubMPart": 3, "fwdMaxRegs": 168}
        a["fwdMeanSteps"] = 12.2
        a["tileChoice"] = {"other": 1, "ratio": 0.903}
        ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        self.assertEqual((ls.tuning["bwdSubM"], ls.tuning["bwdSubMPart"]), (64, 16))  # 3 -> a power of two >= 16
        note = ls.note()
        for part in ("subM 64 (16 on partial tiles)", "dq subN 64 in the dK/dV launch", "maxnreg 168", "mean 12.2 64-key steps",
                     "tiles by estimate: 128-key tiles (est. 0.903 of the other's cost)"):
            self.assertIn(part, note)

    def test_the_mask_matters(self):
        """A wrong list must fail: dropping the partial tiles changes the output."""
        case = self.cases[0]
        a = self.args_of(case)
        a["fwd"]["rowParts"] = torch.zeros_like(a["fwd"]["rowParts"])
        ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        q, k, v, do = self.inputs(case, 3)
        ro = reference(q, k, v, dense_masks(case), do, 1 / 8)[0]
        o, _ = self.tr.forward(q[None], k[None], v[None], ls, 1 / 8)
        self.assertGreater(float((o[0].double() - ro).abs().max()), 0.1)

    def test_persistent_shares_matter(self):
        """A persistent schedule that drops a program's share must fail (rows left unwritten), and
        persistent without the lists' schedule is refused."""
        case = next(c for c in self.cases if c["name"] == "causal_docs_gqa2")
        a = self.args_of(case)
        a["tuning"] = {**a["tuning"], "persistent": 1}
        ps = a["fwd"]["progStart"].clone()
        ps[-1] = ps[-2]  # the last program's share is empty
        a["fwd"]["progStart"] = ps
        ls = self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")
        q, k, v, do = self.inputs(case, 3)
        ro = reference(q, k, v, dense_masks(case), do, 1 / 8)[0]
        o, _ = self.tr.forward(q[None], k[None], v[None], ls, 1 / 8)
        o = torch.nan_to_num(o.float(), nan=1e3, posinf=1e3, neginf=1e3)  # unwritten rows: torch.empty
        self.assertGreater(float((o[0].double() - ro).abs().max()), 0.1)
        del a["fwd"]["progStart"]
        with self.assertRaises(self.tr.Unsupported):
            self.tr.Lists(a, case["hq"], case["hkv"], case["d"], "cpu")

    def test_partial_entry(self):
        """The CP entry: natural-log lse with -inf on empty rows, gradients from the final (o, lse),
        on every single-mask case (its step lists at 128 / pack query tokens, the CP default tuning)."""
        for case in [c for c in self.cases if c["step"]]:
            with self.subTest(case=case["name"], backend=self.backend):
                self.partial_case(case)


if __name__ == "__main__":
    unittest.main()
