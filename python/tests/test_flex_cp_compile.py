"""flex's CP compile mode: dynamic shapes by default, per-shape compile with ATTNBENCH_FLEX_CP_DYNAMIC=0 (an A/B
knob for issue13.sh call30). Needs torch (skipped without); nothing is compiled until a call, so CPU suffices."""

import importlib
import os
import unittest

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


@unittest.skipUnless(HAVE_TORCH, "needs torch")
class FlexCpCompileMode(unittest.TestCase):
    def fresh(self, value):
        if value is None:
            os.environ.pop("ATTNBENCH_FLEX_CP_DYNAMIC", None)
        else:
            os.environ["ATTNBENCH_FLEX_CP_DYNAMIC"] = value
        from attnbench_worker.kernels import flex

        return importlib.reload(flex)

    def tearDown(self):
        os.environ.pop("ATTNBENCH_FLEX_CP_DYNAMIC", None)

    def test_default_leaves_shapes_to_dynamo(self):
        flex = self.fresh(None)
        fn = flex._cp_compiled()
        self.assertIsNone(flex._cp["static"])
        self.assertIs(fn, flex._cp["compiled"])
        self.assertEqual(flex.NOTES, [])

    def test_zero_compiles_per_shape_from_the_first_call(self):
        flex = self.fresh("0")
        fn = flex._cp_compiled()
        self.assertIsNotNone(flex._cp["static"])
        self.assertIs(fn, flex._cp["static"])
        self.assertIn("compiled per shape", " ".join(flex.NOTES))

    def test_mask_knob_picks_the_per_row_form(self):
        from attnbench_worker import slicemask

        flex = self.fresh(None)
        m = slicemask.SliceMask.from_slices(torch.tensor([[0, 8, 0, 8, 1], [8, 16, 0, 16, 0]]), 16, 16, torch.device("cpu"))
        q = torch.arange(16)[:, None].expand(16, 16)
        k = torch.arange(16)[None, :].expand(16, 16)
        default = flex._cp_mask_mod(m)
        os.environ["ATTNBENCH_FLEX_CP_MASK"] = "rows"
        try:
            rows = flex._cp_mask_mod(m)
        finally:
            os.environ.pop("ATTNBENCH_FLEX_CP_MASK", None)
        self.assertTrue(torch.equal(default(0, 0, q, k), rows(0, 0, q, k)))
        self.assertIn("per-row key ranges", " ".join(flex.NOTES))
        self.assertNotEqual(default.__qualname__, rows.__qualname__)


if __name__ == "__main__":
    unittest.main()
