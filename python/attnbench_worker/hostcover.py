"""A GPU sleep enqueued before each timed run so that the host has issued the run's launches before
the GPU reaches them: the timed spans are then GPU time, not the host's issue time. Used by the CP
runner on virtual ranks (on by default, ATTNBENCH_CP_HOST_COVER=0 turns it off) and by the kernel
suite's timing loop (off by default, ATTNBENCH_KERNEL_HOST_COVER=1 turns it on: an A/B for the
host-bound small launches the simulator cannot fit, docs/simulator-record.md)."""


import torch

from .tables import env_knob


class HostCover:
    """On CUDA: one GPU sleep enqueued before each run, as long as the previous run's host time (x 1.25
    + 1 ms, at most MAX_MS), so that the host has issued the run's launches before the GPU reaches
    them and the timed spans are GPU time (a run: one timed call of the kernel suite, or one run of
    every virtual rank's steps).

    Why, for virtual ranks: one host thread issues all P ranks' steps, and each run starts on an idle GPU (after the
    L2 flush and a synchronize). Without a cover, a span whose launches the GPU waits for measures
    host time: per-step copies (ulysses: 48 per rank, about 60 us each in the H200 trace of
    results/h200/cp/traces.tgz, about half of its forward rank time) and the ranks late in the
    round-robin (at P = 8 the rank the round-robin reaches last, rank 6 in the forward, took
    0.8-1.7 ms longer than the others on ulysses' identical work in results/h200/cp/virtual-p8.jsonl
    and results/h100/cp/issue13-paper_cp_p8.jsonl). A real run has one host per rank, which runs
    ahead of its GPU in steady-state training. ATTNBENCH_CP_HOST_COVER=0 turns it off (A/B)."""

    MAX_MS = 250.0

    def __init__(self, device, env="ATTNBENCH_CP_HOST_COVER", default="1", label="virtual ranks"):
        self.on = (device.type == "cuda" and hasattr(torch.cuda, "_sleep")
                   and env_knob(env, default) == "1")  # empty counts as unset
        self.label = label
        self.cycles_per_ms = None
        self.host_ms = {}  # per direction: the previous run's host time
        self.slept = 0.0
        self.outran = 0  # runs whose host time exceeded their sleep (a sync, or a full launch queue)

    def _calibrate(self):
        n = 20_000_000
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        torch.cuda._sleep(n)
        b.record()
        b.synchronize()
        self.cycles_per_ms = n / max(a.elapsed_time(b), 1e-3)

    def sleep_ms(self, key):
        """How long the GPU sleeps before a run of `key`: nothing before the first one."""
        if not self.on or key not in self.host_ms:
            return 0.0
        return min(self.MAX_MS, self.host_ms[key] * 1.25 + 1.0)

    def before(self, key):
        """Call right before the run's first launch: the CP runner on an idle GPU (after a synchronize),
        the kernel suite after the L2 flush (work queued ahead only lengthens the cover)."""
        ms = self.sleep_ms(key)
        self.slept = ms
        if ms <= 0:
            return
        if self.cycles_per_ms is None:
            self._calibrate()
        torch.cuda._sleep(int(self.cycles_per_ms * ms))

    def after(self, key, host_ms):
        if self.slept > 0 and host_ms > self.slept:
            self.outran += 1
        self.host_ms[key] = host_ms

    def notes(self):
        if not self.on:
            return []
        out = [f"{self.label}: a GPU sleep before each run covers the host's launches (spans are GPU time)"]
        if self.outran:
            out.append(f"{self.label}: the host outran the sleep in {self.outran} run(s) (spans may hold host gaps there)")
        return out
