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


if __name__ == "__main__":
    unittest.main()
