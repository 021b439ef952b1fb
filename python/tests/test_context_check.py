"""A job whose error leaves the CUDA context broken is that job's error, and the worker restarts
(H100 call37, 2026-12-06: cuDNN's nested-tensor backward raised a plain RuntimeError and the next
job, sdpa_flash's forward, reported the pending illegal memory access as its own)."""
import tempfile
import unittest
from unittest import mock

from .helpers import causal_slices, make_job, needs_torch, torch

ILLEGAL = "CUDA error: an illegal memory access was encountered"


@needs_torch
class ContextCheck(unittest.TestCase):
    def run_job(self, raised, sync_error):
        from attnbench_worker import torch_exec

        def sync():
            if sync_error:
                raise RuntimeError(sync_error)

        def fake_run(ctx, mod):
            if raised:
                raise raised
            return torch_exec.protocol.result(ctx.job["id"], "k", "fwd", "ok")

        with tempfile.TemporaryDirectory() as d:
            job = make_job(d, "j1", causal_slices(8), 8)
            with mock.patch.object(torch.cuda, "is_available", return_value=True), \
                    mock.patch.object(torch.cuda, "current_device", return_value=0), \
                    mock.patch.object(torch.cuda, "synchronize", side_effect=sync), \
                    mock.patch.object(torch.cuda, "empty_cache"), \
                    mock.patch.object(torch_exec, "_run", side_effect=fake_run):
                return torch_exec.run(job, None, d)

    def test_an_error_that_breaks_the_context_restarts_the_worker(self):
        from attnbench_worker.execute import Fatal

        with self.assertRaises(Fatal) as cm:
            self.run_job(RuntimeError("Expected mha_graph.execute(...).is_good() to be true"), ILLEGAL)
        self.assertIn("mha_graph", str(cm.exception))
        self.assertIn("the CUDA context broke", str(cm.exception))

    def test_an_ok_call_that_leaves_the_context_broken_is_an_error(self):
        from attnbench_worker.execute import Fatal

        with self.assertRaisesRegex(Fatal, "after the call the CUDA context broke"):
            self.run_job(None, ILLEGAL)

    def test_a_plain_error_with_a_sound_context_stays_this_jobs_error(self):
        r = self.run_job(RuntimeError("something else"), None)
        self.assertEqual(r["status"], "error")
        self.assertIn("something else", r["message"])

    def test_a_non_fatal_sync_error_changes_nothing(self):
        r = self.run_job(None, "a warning-like failure")
        self.assertEqual(r["status"], "ok")


if __name__ == "__main__":
    unittest.main()
