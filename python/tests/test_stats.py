"""The numerical check shared by the kernel and CP executors (same rule as src/util/tolerance.ts)."""

import unittest

from attnbench_worker.stats import exceeds_tolerance, finite


class ToleranceRule(unittest.TestCase):
    def test_gradients_scale_with_the_reference_outputs_do_not(self):
        self.assertFalse(exceeds_tolerance(3e-2, {"dv": {"maxAbs": 0.05, "refMaxAbs": 4.0}}))
        self.assertTrue(exceeds_tolerance(3e-2, {"dv": {"maxAbs": 0.05}}))
        self.assertTrue(exceeds_tolerance(3e-2, {"out": {"maxAbs": 0.05, "refMaxAbs": 4.0}}))
        self.assertTrue(exceeds_tolerance(3e-2, {"dq": {"maxAbs": 0.05, "refMaxAbs": 0.5}}))

    def test_other_entries_are_ignored_and_non_finite_errors_exceed(self):
        self.assertFalse(exceeds_tolerance(2e-4, {"reference": "x", "exceedsTolerance": True}))
        self.assertTrue(exceeds_tolerance(2e-4, {"lse": {"maxAbs": finite(float("inf"))}}))
        self.assertTrue(exceeds_tolerance(2e-4, {"dk": {"maxAbs": float("nan"), "refMaxAbs": 1e9}}))


if __name__ == "__main__":
    unittest.main()
