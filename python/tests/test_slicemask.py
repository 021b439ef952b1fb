"""SliceMask predicate vs the independent dense fill (needs torch; runs on the GPU machine, skipped in CI)."""

import random
import unittest

from .helpers import needs_torch, torch


def random_bands(rng, s, cells):
    """Disjoint slices: a random grid of rectangles, each empty or one random kind."""
    cuts_q = sorted({0, s, *rng.sample(range(1, s), cells - 1)})
    cuts_k = sorted({0, s, *rng.sample(range(1, s), cells - 1)})
    rows = []
    for q0, q1 in zip(cuts_q, cuts_q[1:]):
        for k0, k1 in zip(cuts_k, cuts_k[1:]):
            t = rng.randrange(5)
            if t < 4:
                rows.append(([q0, q1], [k0, k1], t))
    return rows


@needs_torch
class SliceMaskTest(unittest.TestCase):
    def check(self, rows, s, linear_max):
        from attnbench_worker import slicemask

        q = torch.tensor([r[0] for r in rows], dtype=torch.int32)
        k = torch.tensor([r[1] for r in rows], dtype=torch.int32)
        t = torch.tensor([r[2] for r in rows], dtype=torch.int32)
        bands = slicemask.bands_from_arrays(q, k, t)
        old = slicemask.LINEAR_MAX
        slicemask.LINEAR_MAX = linear_max
        try:
            m = slicemask.SliceMask([bands], s, s, torch.device("cpu"))
            got = m.dense()
        finally:
            slicemask.LINEAR_MAX = old
        want = slicemask.reference_dense([bands], s, s, torch.device("cpu"))
        self.assertTrue(torch.equal(got, want), f"{int((got != want).sum())} cells differ; {rows}")

    def test_documents_scan_and_bisection(self):
        docs = [(0, 5), (5, 17), (17, 40), (40, 64)]
        rows = [([a, b], [a, b], 1) for a, b in docs]
        for lm in (0, 4):  # 0 forces the bisection, 4 the scan
            self.check(rows, 64, lm)

    def test_random_grids_scan_and_bisection(self):
        rng = random.Random(7)
        for _ in range(40):
            s = rng.randrange(8, 80)
            rows = random_bands(rng, s, rng.randrange(2, 6))
            if not rows:
                continue
            for lm in (0, 4, 64):
                self.check(rows, s, lm)

    def row_mod_dense(self, rows, s):
        from attnbench_worker import slicemask

        q = torch.tensor([r[0] for r in rows], dtype=torch.int32)
        k = torch.tensor([r[1] for r in rows], dtype=torch.int32)
        t = torch.tensor([r[2] for r in rows], dtype=torch.int32)
        bands = slicemask.bands_from_arrays(q, k, t)
        m = slicemask.SliceMask([bands], s, s, torch.device("cpu"))
        mod = m.row_mask_mod()
        qi = torch.arange(s)[:, None].expand(s, s)
        ki = torch.arange(s)[None, :].expand(s, s)
        got = mod(0, 0, qi, ki)
        want = slicemask.reference_dense([bands], s, s, torch.device("cpu"))[0]
        self.assertTrue(torch.equal(got, want), f"{int((got != want).sum())} cells differ; {rows}")
        lo, hi = m.row_tables()
        self.assertEqual(lo.shape[1] & (lo.shape[1] - 1), 0)  # a power of two of slots
        self.assertTrue(bool((hi >= lo).all()))

    def test_row_tables_documents_and_random_grids(self):
        """The per-row form (flex's CP A/B knob ATTNBENCH_FLEX_CP_MASK=rows) marks the same cells."""
        self.row_mod_dense([([a, b], [a, b], 1) for a, b in [(0, 5), (5, 17), (17, 40), (40, 64)]], 64)
        self.row_mod_dense([([0, 64], [0, 64], 0)], 64)
        rng = random.Random(11)
        for _ in range(40):
            s = rng.randrange(8, 80)
            rows = random_bands(rng, s, rng.randrange(2, 7))
            if rows:
                self.row_mod_dense(rows, s)

    def test_row_tables_several_heads_and_groups(self):
        """Per-head masks (block_sparse's per-KV-head bands) through row tables: query head h reads mask
        head h // group, the same cells as the predicate and the independent dense fill."""
        from attnbench_worker import slicemask

        rng = random.Random(5)
        for _ in range(12):
            s = rng.randrange(8, 48)
            heads = []
            for _h in range(rng.randrange(2, 4)):
                rows = random_bands(rng, s, rng.randrange(1, 6)) or [([0, s], [0, s], 0)]
                q = torch.tensor([r[0] for r in rows], dtype=torch.int32)
                k = torch.tensor([r[1] for r in rows], dtype=torch.int32)
                t = torch.tensor([r[2] for r in rows], dtype=torch.int32)
                heads.append(slicemask.bands_from_arrays(q, k, t))
            m = slicemask.SliceMask(heads, s, s, torch.device("cpu"))
            want = slicemask.reference_dense(heads, s, s, torch.device("cpu"))
            group = rng.choice([1, 2, 4])
            rows_mod, form = m.flex_mask_mod("rows", group_size=group)
            pred_mod, _ = m.flex_mask_mod("slices", group_size=group)
            self.assertEqual(form, "rows")
            qi = torch.arange(s)[:, None].expand(s, s)
            ki = torch.arange(s)[None, :].expand(s, s)
            for h in range(len(heads) * group):
                got = rows_mod(0, torch.tensor(h), qi, ki)
                self.assertTrue(torch.equal(got, want[h // group]), f"head {h}: {int((got != want[h // group]).sum())} cells differ")
                self.assertTrue(torch.equal(got, pred_mod(0, torch.tensor(h), qi, ki)))

    def test_flex_form_auto_and_refusal(self):
        from attnbench_worker import slicemask

        b = slicemask.bands_from_arrays(torch.tensor([[0, 8]]), torch.tensor([[0, 8]]), torch.tensor([1]))
        m = slicemask.SliceMask([b], 8, 8, torch.device("cpu"))
        self.assertEqual(m.flex_mask_mod("auto")[1], "rows")  # one slice per interval
        self.assertEqual(m.flex_mask_mod("slices")[1], "slices")
        # more slices per interval than ROWS_MAX: auto keeps the predicate
        n = slicemask.ROWS_MAX + 1
        many = slicemask.bands_from_arrays(torch.tensor([[0, 4]] * n), torch.tensor([[2 * i, 2 * i + 1] for i in range(n)]), torch.tensor([0] * n))
        wide = slicemask.SliceMask([many], 4, 2 * n, torch.device("cpu"))
        self.assertEqual(wide.flex_mask_mod("auto")[1], "slices")
        with self.assertRaises(ValueError):
            m.flex_mask_mod("dense")


if __name__ == "__main__":
    unittest.main()
