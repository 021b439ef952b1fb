"""SliceMask predicate vs the independent dense fill (needs torch; runs on the GPU machine, skipped in CI)."""

import random
import unittest

try:
    import torch
except ImportError:  # CI has no torch
    torch = None


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


@unittest.skipIf(torch is None, "torch is not installed")
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


if __name__ == "__main__":
    unittest.main()
