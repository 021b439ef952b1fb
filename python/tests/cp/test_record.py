"""--resume's keys of the raw records file (standard library only): a job folder's records file is
reused by runs with different --kernel, so the kernel is part of what a finished case is."""

import json
import os
import tempfile
import unittest

from attnbench_worker.cp.record import finished_ids, record_key

CASE = "cp:ring_p2p:sharding=zigzag:causal:-:seed0:S256:P4:4x2x16:float32"


def rec(kernel, direction="fwd", status="ok", tag="virtual4", device="cuda"):
    return {"record": "cp.measurement", "version": 1, "case": CASE, "direction": direction, "mode": "virtual",
            "tag": tag, "device": device, "kernel": kernel, "status": status}


class TestFinishedIds(unittest.TestCase):
    def write(self, d, records, torn=""):
        path = os.path.join(d, "results.raw.jsonl")
        with open(path, "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
            f.write(torn)
        return path

    def test_a_case_measured_with_one_kernel_is_not_finished_for_another(self):
        with tempfile.TemporaryDirectory() as d:
            done = finished_ids(self.write(d, [rec("triton_ranges"), rec("triton_ranges", "bwd")]))
        for direction in ("fwd", "bwd"):
            self.assertIn(record_key(CASE, direction, "virtual4", "cuda", "triton_ranges"), done)
            self.assertNotIn(record_key(CASE, direction, "virtual4", "cuda", "flex"), done)
        self.assertEqual(len(done), 2)

    def test_both_kernels_of_one_case_are_kept_apart_and_only_ok_records_count(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.write(d, [rec("triton_ranges"), rec("flex"), rec("flex", "bwd", status="error"),
                                  rec("flex", "bwd", tag="dist-nccl")], torn='{"record": "cp.meas')
            done = finished_ids(path)
        self.assertEqual(done, {
            record_key(CASE, "fwd", "virtual4", "cuda", "triton_ranges"),
            record_key(CASE, "fwd", "virtual4", "cuda", "flex"),
            record_key(CASE, "bwd", "dist-nccl", "cuda", "flex"),
        })

    def test_a_missing_file_has_none(self):
        self.assertEqual(finished_ids(os.path.join(tempfile.gettempdir(), "attnbench-no-such-file.jsonl")), set())
        self.assertEqual(finished_ids(None), set())


if __name__ == "__main__":
    unittest.main()
