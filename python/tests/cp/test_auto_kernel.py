"""The CP kernel id 'auto' (issue 13): on CUDA triton_ranges where its limits take the case's shape and
it can run, else flex, else the reference; the same rule TypeScript names rows by (src/kernels/cp-auto.ts,
shared through tables.json). Standard library only: the rule lives in cp/logic.py."""

import unittest

from attnbench_worker.cp.logic import auto_kernel, case_shape
from attnbench_worker.tables import CP_AUTO_CUDA, CP_AUTO_FALLBACK

from .ts_jobs import write_ts_jobs

FITS = (64, 8, 128, "bfloat16")
EVERY = lambda k: True  # noqa: E731 - every kernel can run here


class TestAutoKernel(unittest.TestCase):
    def test_table_order(self):
        self.assertEqual([c["kernel"] for c in CP_AUTO_CUDA], ["triton_ranges", "flex"])
        self.assertEqual(CP_AUTO_FALLBACK, "reference")

    def test_cuda_prefers_triton_ranges_where_its_limits_take_the_shape(self):
        self.assertEqual(auto_kernel("cuda", FITS, EVERY), "triton_ranges")
        self.assertEqual(auto_kernel("cuda", (8, 2, 64, "float16"), EVERY), "triton_ranges")
        self.assertEqual(auto_kernel("cuda", None, EVERY), "triton_ranges")  # shape unknown: limits unchecked
        for shape in [(64, 8, 100, "bfloat16"), (64, 8, 128, "float32"), (12, 8, 128, "bfloat16"), (256, 1, 128, "bfloat16")]:
            self.assertEqual(auto_kernel("cuda", shape, EVERY), "flex", shape)

    def test_falls_back_to_what_can_run(self):
        self.assertEqual(auto_kernel("cuda", FITS, lambda k: k != "triton_ranges"), "flex")
        self.assertEqual(auto_kernel("cuda", FITS, lambda k: False), "reference")
        self.assertEqual(auto_kernel("cuda", (64, 8, 100, "bfloat16"), lambda k: k != "flex"), "reference")
        asked = []
        auto_kernel("cuda", (64, 8, 100, "bfloat16"), lambda k: asked.append(k) or True)
        self.assertEqual(asked, ["flex"])  # a kernel whose limits refuse the shape is not even loaded

    def test_cpu_is_the_reference(self):
        self.assertEqual(auto_kernel("cpu", FITS, EVERY), "reference")

    def test_case_shape_reads_the_job_files_case_entry(self):
        import json

        from attnbench_worker.cp import manifest

        with open(manifest.expand_paths([write_ts_jobs()])[0]) as f:
            case = json.load(f)["case"]
        self.assertEqual(case_shape(case), (4, 2, 8, "float32"))
        self.assertEqual(case_shape(case, "bfloat16"), (4, 2, 8, "bfloat16"))
        # head dim 8: outside triton_ranges' limits, so these jobs carry flex's arguments only (test_manifest).
        self.assertEqual(auto_kernel("cuda", case_shape(case, "bfloat16"), EVERY), "flex")


if __name__ == "__main__":
    unittest.main()
