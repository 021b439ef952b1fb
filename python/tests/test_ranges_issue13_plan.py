"""scripts/device/issue13_plan.py (the issue-13 device plan's estimator): the slice areas it
estimates FLOPs from equal a brute-force count of the SPEC slice kinds. Standard library only."""

import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "..", "..", "scripts", "device", "issue13_plan.py")


def load():
    spec = importlib.util.spec_from_file_location("issue13_plan", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class SliceAreas(unittest.TestCase):
    def test_areas_match_a_brute_force_count(self):
        m = load()
        for nq in range(0, 10):
            for nk in range(0, 10):
                for kind in range(4):
                    want = sum(1 for i in range(nq) for j in range(nk)
                               if (kind not in (1, 3) or j <= i + nk - nq) and (kind not in (2, 3) or j >= i))
                    self.assertEqual(m.slice_area(3, 3 + nq, 5, 5 + nk, kind), want, (nq, nk, kind))


if __name__ == "__main__":
    unittest.main()
