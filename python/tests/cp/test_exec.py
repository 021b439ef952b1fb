"""The executor itself, on CPU tensors: runs only where torch is installed (not in CI). The job
files come from the TypeScript writer, regenerated for the run (ts_jobs)."""

import json
import os
import tempfile
import unittest

from ..helpers import needs_torch, torch

from .ts_jobs import write_ts_jobs


@needs_torch
class TestVirtualRanks(unittest.TestCase):
    def test_fixture_plans_match_the_reference(self):
        from attnbench_worker.cp.__main__ import main

        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            rc = main(["run", write_ts_jobs(), "--out", out, "--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1"])
            with open(out) as f:
                rows = [json.loads(line) for line in f]
        self.assertEqual(rc, 0)
        self.assertEqual(len(rows), 6)
        for r in rows:
            self.assertEqual(r["status"], "ok", r["message"])
            self.assertFalse(r["error"]["exceedsTolerance"])
            self.assertEqual(len(r["ranks"]), 2)
            for name in ("out", "lse") if r["direction"] == "fwd" else ("dq", "dk", "dv"):
                self.assertGreater(r["error"][name]["refMaxAbs"], 0.0)

    def test_timed_runs_pause_the_collector(self):
        """Every timed run of a virtual-rank case issues its steps with Python's GC off, and the GC is
        back on afterwards; ATTNBENCH_CP_GC=1 leaves it on."""
        import gc

        from attnbench_worker.cp import runner
        from attnbench_worker.cp.__main__ import main

        seen = []
        real = runner.run_virtual

        def spy(*a, **k):
            seen.append(gc.isenabled())
            return real(*a, **k)

        runner.run_virtual = spy
        try:
            with tempfile.TemporaryDirectory() as d:
                rc = main(["run", write_ts_jobs(), "--out", os.path.join(d, "r.jsonl"), "--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1"])
            self.assertEqual(rc, 0)
            self.assertTrue(seen)
            self.assertFalse(any(seen))
            self.assertTrue(gc.isenabled())
            seen.clear()
            os.environ["ATTNBENCH_CP_GC"] = "1"
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "r.jsonl")
                main(["run", write_ts_jobs(), "--out", out, "--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1"])
                with open(out) as f:
                    notes = [n for line in f for n in json.loads(line)["notes"]]
            self.assertTrue(seen and all(seen))
            self.assertIn("timed runs with Python's GC on (ATTNBENCH_CP_GC=1)", notes)
        finally:
            runner.run_virtual = real
            os.environ.pop("ATTNBENCH_CP_GC", None)

    def test_resume_skips_cases_with_ok_records_and_a_fault_becomes_error_records(self):
        from attnbench_worker.cp import executor
        from attnbench_worker.cp.__main__ import main

        args = ["--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1", "--kernel", "reference"]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            saved = executor.FAULT
            executor.FAULT = (1, "fwd", 2, "raise")
            try:
                self.assertEqual(main(["run", write_ts_jobs(), "--out", out, *args]), 1)
            finally:
                executor.FAULT = saved
            with open(out) as f:
                bad = [json.loads(line) for line in f]
            self.assertEqual([r["status"] for r in bad[:2]], ["error", "error"])  # the first case, both directions
            self.assertIn("rank 1 fwd step 2", bad[0]["message"])
            self.assertEqual(bad[0]["record"], "cp.measurement")
            self.assertEqual(main(["run", write_ts_jobs(), "--out", out, "--resume", *args]), 0)  # errors run again
            with open(out) as f:
                n = len(f.readlines())
            self.assertEqual(main(["run", write_ts_jobs(), "--out", out, "--resume", *args]), 0)
            with open(out) as f:
                self.assertEqual(len(f.readlines()), n)  # every case ok already: nothing ran

    def test_an_external_kernel_with_the_partial_entry_runs_under_cp(self):
        from attnbench_worker.cp.__main__ import main

        example = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "my_kernel.py")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            rc = main(["run", write_ts_jobs(), "--out", out, "--virtual-ranks", "2", "--device", "cpu", "--warmup", "0",
                       "--iters", "1", "--kernel", "my_kernel", "--kernel-module", example])
            with open(out) as f:
                rows = [json.loads(line) for line in f]
        self.assertEqual(rc, 0)
        self.assertEqual({(r["kernel"], r["status"]) for r in rows}, {("my_kernel", "ok")})
        self.assertFalse(any(r["error"]["exceedsTolerance"] for r in rows))

    def test_resume_into_one_records_file_runs_each_kernel_of_a_case(self):
        # The same job folder and records file, first with the reference, then with another kernel
        # (--resume): the second kernel's cases are not the first's, so they all run.
        from attnbench_worker.cp.__main__ import main

        example = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "my_kernel.py")
        args = ["--virtual-ranks", "2", "--device", "cpu", "--warmup", "0", "--iters", "1", "--resume"]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "r.jsonl")
            jobs = write_ts_jobs()
            self.assertEqual(main(["run", jobs, "--out", out, *args, "--kernel", "reference"]), 0)
            self.assertEqual(main(["run", jobs, "--out", out, *args, "--kernel", "my_kernel", "--kernel-module", example]), 0)
            self.assertEqual(main(["run", jobs, "--out", out, *args]), 0)  # auto = the reference on CPU: done already
            with open(out) as f:
                rows = [json.loads(line) for line in f]
        by_kernel = {k: sorted((r["case"], r["direction"]) for r in rows if r["kernel"] == k) for k in ("reference", "my_kernel")}
        self.assertEqual(len(by_kernel["reference"]), 6)
        self.assertEqual(by_kernel["my_kernel"], by_kernel["reference"])
        self.assertEqual(len(rows), 12)
        self.assertEqual({r["status"] for r in rows}, {"ok"})

    def test_error_accumulator_keeps_the_reference_scale_across_ranks(self):
        from attnbench_worker.cp.runner import ErrAcc, error_metrics

        a, b = ErrAcc(), ErrAcc()
        a.add("dv", torch.tensor([1.0, 2.05]), torch.tensor([1.0, 2.0]))
        b.add("dv", torch.tensor([-4.0]), torch.tensor([-4.1]))
        vals = ErrAcc().merged([a.v, b.v])
        e = error_metrics(vals, ("dq", "dv"), 3e-2)
        self.assertAlmostEqual(e["dv"]["maxAbs"], 0.1, places=5)
        self.assertAlmostEqual(e["dv"]["refMaxAbs"], 4.1, places=5)
        self.assertNotIn("dq", e)
        self.assertFalse(e["exceedsTolerance"])  # 0.1 <= 3e-2 x 4.1
        self.assertTrue(error_metrics(vals, ("dv",), 1e-2)["exceedsTolerance"])  # 0.1 > 1e-2 x 4.1

    def test_step_mask_matches_the_pure_version(self):
        from attnbench_worker.cp import logic
        from attnbench_worker.kernels.base import PartialStep

        sl = [(0, 3, 0, 5, 0), (3, 6, 0, 5, 1), (6, 9, 0, 5, 2), (9, 12, 0, 5, 3), (0, 2, 6, 8, 0)]
        step = PartialStep(torch.tensor(sl, dtype=torch.int32), 12, 8, 1.0, device=torch.device("cpu"), area=1)
        dense = step.slice_mask().dense_rows(0, 0, 12)
        got = []
        for i in range(12):
            cols = [j for j in range(8) if bool(dense[i, j])]
            runs = []
            for j in cols:
                if runs and runs[-1][1] == j:
                    runs[-1] = (runs[-1][0], j + 1)
                else:
                    runs.append((j, j + 1))
            got.append(runs)
        want = [[] for _ in range(12)]
        for i, r in enumerate(logic.row_ranges(sl, 12, 8)):
            for a, b in r:  # touching ranges of two slices read as one run in the dense row
                if want[i] and want[i][-1][1] == a:
                    want[i][-1] = (want[i][-1][0], b)
                else:
                    want[i].append((a, b))
        self.assertEqual(got, want)

    def test_partial_entry_with_gqa_maps_matches_the_reference_over_the_whole_mask(self):
        """Two key blocks through the adapter (non-uniform GQA map: expanded), merged, equal one call."""
        from attnbench_worker import kernels
        from attnbench_worker.cp.partial import make_kernel, merge_into
        from attnbench_worker.kernels.base import PartialStep

        torch.manual_seed(0)
        cpu = torch.device("cpu")
        ker = make_kernel("reference", cpu)
        q, k, v = torch.randn(6, 4, 8), torch.randn(6, 2, 8), torch.randn(6, 2, 8)
        whole = PartialStep(torch.tensor([[0, 6, 0, 6, 1]], dtype=torch.int32), 6, 6, 0.3, device=cpu, area=21)
        o_ref, l_ref = kernels.load("reference").partial_forward(q, k, v, whole)
        a = PartialStep(torch.tensor([[0, 3, 0, 3, 1], [3, 6, 0, 3, 0]], dtype=torch.int32), 6, 3, 0.3, device=cpu, area=15)
        b = PartialStep(torch.tensor([[3, 6, 0, 3, 1]], dtype=torch.int32), 6, 3, 0.3, device=cpu, area=6)
        idx = [0, 0, 1, 1]
        o, l = ker.forward(q, k[:3], v[:3], idx, a)
        o2, l2 = ker.forward(q, k[3:], v[3:], idx, b)
        merge_into(o, l, o2, l2)
        self.assertTrue(torch.allclose(o, o_ref, atol=1e-5))
        self.assertTrue(torch.allclose(l, l_ref, atol=1e-5))
        # An explicit non-uniform map: q heads 0..3 read kv heads [1, 0, 0, 1].
        o3, _ = ker.forward(q, k, v, [1, 0, 0, 1], whole)
        ke = k[:, [1, 0, 0, 1]]
        o4, _ = kernels.load("reference").partial_forward(q, ke, v[:, [1, 0, 0, 1]], whole)
        self.assertTrue(torch.allclose(o3, o4, atol=1e-6))
        self.assertTrue(ker.forward(q, k, v, idx, PartialStep(torch.zeros(0, 5, dtype=torch.int32), 6, 6, 0.3, device=cpu, area=0))[1].isinf().all())

    def test_host_cover_sleeps_for_the_previous_runs_host_time_per_direction(self):
        from attnbench_worker.hostcover import HostCover

        c = HostCover(torch.device("cpu"))
        self.assertFalse(c.on)  # CPU: no cover, nothing enqueued, no notes
        c.before("fwd")
        self.assertEqual((c.sleep_ms("fwd"), c.notes()), (0.0, []))
        c.on = True
        self.assertEqual(c.sleep_ms("fwd"), 0.0)  # nothing before a direction's first run
        c.after("fwd", 8.0)
        self.assertAlmostEqual(c.sleep_ms("fwd"), 11.0)
        self.assertEqual(c.sleep_ms("bwd"), 0.0)
        c.after("fwd", 1e6)  # the compiling warm-up run: capped
        self.assertEqual(c.sleep_ms("fwd"), HostCover.MAX_MS)
        c.slept = 11.0
        c.after("bwd", 10.0)
        self.assertEqual(c.outran, 0)
        c.after("bwd", 12.0)
        self.assertEqual(c.outran, 1)
        self.assertIn("outran the sleep in 1 run", " ".join(c.notes()))
        # the kernel suite's cover: off unless its knob is 1 (the CPU has none either way), its own label
        k = HostCover(torch.device("cpu"), env="ATTNBENCH_KERNEL_HOST_COVER", default="0", label="timing")
        self.assertFalse(k.on)
        k.on = True
        self.assertTrue(k.notes()[0].startswith("timing: a GPU sleep"))

    def test_merge_is_exact(self):
        from attnbench_worker.cp.partial import merge_into

        s = torch.randn(3, 10)
        o_all = torch.softmax(s, -1) @ torch.eye(10)
        parts = []
        for a, b in ((0, 4), (4, 10)):
            l = torch.logsumexp(s[:, a:b], -1)
            parts.append((torch.softmax(s[:, a:b], -1) @ torch.eye(10)[a:b], l))
        o, l = parts[0][0].clone(), parts[0][1].clone()
        merge_into(o, l, *parts[1])
        self.assertTrue(torch.allclose(o, o_all, atol=1e-6))
        self.assertTrue(torch.allclose(l, torch.logsumexp(s, -1), atol=1e-6))


if __name__ == "__main__":
    unittest.main()
