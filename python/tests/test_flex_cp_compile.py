"""flex's CP compile mode: dynamic shapes by default, per-shape compile with ATTNBENCH_FLEX_CP_DYNAMIC=0 (an A/B
knob for issue13.sh call30). Needs torch (skipped without); nothing is compiled until a call, so CPU suffices."""

import importlib
import os
import unittest

from .helpers import needs_torch, torch


@needs_torch
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

    def test_mask_form_per_direction_and_knob(self):
        """Default for CP steps: the forward takes the slice predicate, the backward the row tables; the knobs force
        one form in both directions; every form marks the same cells."""
        from attnbench_worker import slicemask

        flex = self.fresh(None)
        m = slicemask.SliceMask.from_slices(torch.tensor([[0, 8, 0, 8, 1], [8, 16, 0, 16, 0]]), 16, 16, torch.device("cpu"))
        q = torch.arange(16)[:, None].expand(16, 16)
        k = torch.arange(16)[None, :].expand(16, 16)
        fwd = flex._cp_mask_mod(m, "fwd")
        bwd = flex._cp_mask_mod(m, "bwd")
        self.assertNotEqual(fwd.__qualname__, bwd.__qualname__)
        self.assertTrue(torch.equal(fwd(0, 0, q, k), bwd(0, 0, q, k)))
        self.assertIn("flex fwd: mask_mod over the slice predicate", flex.NOTES)
        self.assertIn("flex bwd: mask_mod over per-row key ranges", flex.NOTES)
        for var in ("ATTNBENCH_FLEX_CP_MASK", "ATTNBENCH_FLEX_MASK"):
            os.environ[var] = "rows"
            try:
                self.assertEqual(flex._cp_mask_mod(m, "fwd").__qualname__, bwd.__qualname__)
                self.assertEqual(flex.mask_form("fwd", cp=True), "rows")
            finally:
                os.environ.pop(var, None)
        os.environ["ATTNBENCH_FLEX_MASK"] = "dense"
        try:
            with self.assertRaises(ValueError):
                flex.mask_form("bwd")
        finally:
            os.environ.pop("ATTNBENCH_FLEX_MASK", None)
        self.assertEqual(flex.mask_form("fwd", cp=True), "slices")
        self.assertEqual(flex.mask_form("bwd", cp=True), "auto")
        self.assertEqual(flex.mask_form("fwd"), "auto")  # the kernel suite: row tables both ways
        self.assertEqual(flex.mask_form("bwd"), "auto")


if __name__ == "__main__":
    unittest.main()
