import copy
import os
import tempfile
import unittest
import zlib

from attnbench_worker import arrays, protocol
from attnbench_worker.execute import run_job
from attnbench_worker.pyref import band, dense_from_bands, row_ranges

from .helpers import causal_slices, document_slices, make_job


class ArrayTests(unittest.TestCase):
    def test_roundtrip_with_offsets(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a.bin")
            r1 = arrays.write_array(p, [1, -2, 3], [3], d)
            r2 = arrays.write_array(p, list(range(6)), [3, 2], d)
            self.assertEqual(r2["offset"], 12)
            self.assertEqual(list(arrays.load_list(r1, d)), [1, -2, 3])
            self.assertEqual(list(arrays.load_list(r2, d)), [0, 1, 2, 3, 4, 5])

    def test_zlib_encoding(self):
        with tempfile.TemporaryDirectory() as d:
            raw = b"".join(i.to_bytes(4, "little", signed=True) for i in range(1000))
            data = zlib.compress(raw)
            with open(os.path.join(d, "z.bin"), "wb") as f:
                f.write(b"xx" + data)
            ref = {"dtype": "int32", "shape": [1000], "path": "z.bin", "offset": 2, "encoding": "zlib", "nbytes": len(data)}
            arrays.validate_ref(ref, "t")
            self.assertEqual(list(arrays.load_list(ref, d)), list(range(1000)))

    def test_truncated_file_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a.bin")
            ref = arrays.write_array(p, [1, 2, 3], [3], d)
            ref["shape"], ref["nbytes"] = [4], 16
            with self.assertRaisesRegex(arrays.ArrayError, "truncated"):
                arrays.load_list(ref, d)

    def test_bad_refs(self):
        for bad, pat in [({"dtype": "float64", "shape": [1], "path": "x"}, "dtype"),
                         ({"dtype": "int32", "shape": [-1], "path": "x"}, "shape"),
                         ({"dtype": "int32", "shape": [2], "path": "x", "nbytes": 4}, "nbytes")]:
            with self.assertRaisesRegex(arrays.ArrayError, pat):
                arrays.validate_ref(bad, "t")


class ValidationTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.job = make_job(self.dir.name, "j1", causal_slices(8), 8)

    def tearDown(self):
        self.dir.cleanup()

    def test_valid_job_passes(self):
        self.assertIs(protocol.validate_job(self.job), self.job)

    def bad(self, mutate, pattern):
        j = copy.deepcopy(self.job)
        mutate(j)
        with self.assertRaisesRegex(protocol.JobError, pattern):
            protocol.validate_job(j)

    def test_rejections(self):
        self.bad(lambda j: j.pop("id"), "job.id")
        self.bad(lambda j: j.update(direction="sideways"), "direction")
        self.bad(lambda j: j["shape"].update(dtype="int8"), "dtype")
        self.bad(lambda j: j["shape"].update(headsQ=3, headsKv=2), "multiple")
        self.bad(lambda j: j["mask"].update(format="png"), "format")
        self.bad(lambda j: j["timing"].update(warmup=1), "warmup")
        self.bad(lambda j: j["timing"].update(iters=5), "iters")
        self.bad(lambda j: j["slices"][0].update(types=[1]), "binary array")
        self.bad(lambda j: j["mask"]["args"].update(big=list(range(100))), "binary arrays")
        self.bad(lambda j: j.update(slices=[]), "non-empty")
        self.bad(lambda j: j.update(gqa="maybe"), "gqa")

    def test_short_timing_needs_allow_short(self):
        j = copy.deepcopy(self.job)
        j["timing"] = {"warmup": 0, "iters": 1, "allowShort": True}
        protocol.validate_job(j)

    def test_invalid_job_becomes_error_result(self):
        r = run_job({"id": "x", "kernel": "py_ref"}, "torch")
        self.assertEqual(r["status"], "error")
        self.assertIn("invalid job", r["message"])

    def test_unknown_kernel(self):
        j = dict(self.job, kernel="warp_drive")
        r = run_job(j, "torch", self.dir.name)
        self.assertEqual((r["status"], r["message"]), ("error", "unknown kernel id 'warp_drive'"))

    def test_jax_kernel_refused_in_torch_process(self):
        r = run_job(dict(self.job, kernel="jax_cudnn"), "torch", self.dir.name)
        self.assertEqual(r["status"], "error")
        self.assertIn("jax process", r["message"])


class PyRefTests(unittest.TestCase):
    def test_band_rows_match_dense(self):
        bands = [band(0, 4, 0, 6, 1), band(4, 8, 2, 5, 2), band(4, 8, 5, 9, 3), band(0, 4, 6, 9, 0)]
        dense = dense_from_bands(bands, 8, 9)
        for i in range(8):
            cols = sorted(j for a, b in row_ranges(bands, i) for j in range(a, b))
            self.assertEqual(cols, [j for j in range(9) if dense[i][j]])

    def test_py_ref_ok_with_error_metrics(self):
        with tempfile.TemporaryDirectory() as d:
            job = make_job(d, "docs", document_slices([3, 5, 2]), 10, heads=(4, 2))
            r = run_job(job, "torch", d)
            self.assertEqual(r["status"], "ok", r["message"])
            self.assertEqual(r["times"]["samples"], 20)
            self.assertLessEqual(r["times"]["p20Ms"], r["times"]["medianMs"])
            self.assertLessEqual(r["times"]["medianMs"], r["times"]["p80Ms"])
            self.assertLess(r["error"]["out"]["maxAbs"], 1e-12)
            self.assertFalse(r["error"]["exceedsTolerance"])

    def test_py_ref_statuses(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(run_job(make_job(d, "b", causal_slices(4), 4, direction="bwd"), "torch", d)["status"], "unsupported")
            big = make_job(d, "big", causal_slices(4096), 4096)
            r = run_job(big, "torch", d)
            self.assertEqual(r["status"], "unsupported")
            self.assertIn("tiny shapes", r["message"])

    def test_missing_array_file_is_error(self):
        with tempfile.TemporaryDirectory() as d:
            job = make_job(d, "m", causal_slices(4), 4)
        r = run_job(job, "torch", d)  # the directory is gone
        self.assertEqual(r["status"], "error")
        self.assertIn("cannot read array file", r["message"])


if __name__ == "__main__":
    unittest.main()


class KernelHelperTests(unittest.TestCase):
    """The torch-free helpers every kernel module uses (a stub context stands in for the torch one)."""

    class Ctx:
        def __init__(self, args):
            self.args_ = args

        def arg(self, name, device=True, default=None):
            return self.args_.get(name, default)

    def test_window_helpers(self):
        from attnbench_worker.kernels.base import full_or_causal, window_of

        self.assertEqual(full_or_causal(self.Ctx({"left": -1, "right": -1})), "full")
        self.assertEqual(full_or_causal(self.Ctx({"left": -1, "right": 0})), "causal")
        self.assertIsNone(full_or_causal(self.Ctx({"left": 128, "right": 0})))
        self.assertEqual(window_of(self.Ctx({"left": 7, "right": 3})), (7, 3))

    def test_registry_matches_modules(self):
        import os

        from attnbench_worker import kernels

        here = os.path.join(os.path.dirname(kernels.__file__))
        for kid in kernels.KERNEL_IDS:
            self.assertTrue(os.path.exists(os.path.join(here, f"{kid}.py")), kid)
        self.assertEqual(kernels.GROUPS["jax_cudnn"], "jax")
        self.assertTrue(kernels.serves("jax", "py_ref"))
        self.assertFalse(kernels.serves("jax", "flex"))
