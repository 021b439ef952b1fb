"""Timing and liveness of CP runs: per-rank compute timers (virtual ranks), the round-robin driver
of virtual ranks, timing statistics, and the watchdog that ends a hung case."""

import contextlib
import gc
import os
import sys
import threading
import time

import torch

from .logic import PlanError, median, percentile


class StepTimer:
    """Virtual mode: per-rank sum of compute step times (CUDA events or the host clock)."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"
        self.spans = {}

    def reset(self):
        self.spans = {}

    def __call__(self, rank):
        timer = self

        class _Ctx:
            def __enter__(self):
                if timer.cuda:
                    self.a = torch.cuda.Event(enable_timing=True)
                    self.a.record()
                else:
                    self.a = time.perf_counter()

            def __exit__(self, *exc):
                if timer.cuda:
                    b = torch.cuda.Event(enable_timing=True)
                    b.record()
                else:
                    b = time.perf_counter()
                timer.spans.setdefault(rank, []).append((self.a, b))
                return False

        return _Ctx()

    def totals(self, ranks):
        if self.cuda:
            torch.cuda.synchronize()
            return {r: sum(a.elapsed_time(b) for a, b in self.spans.get(r, [])) for r in ranks}
        return {r: sum((b - a) * 1e3 for a, b in self.spans.get(r, [])) for r in ranks}


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic GC off for one timed run, a collection before it (outside the timed span), as
    timeit does: a collection that lands inside a run stalls the one host thread that issues every
    virtual rank's launches (or one torchrun rank's), and the GPU then waits on it mid-run. On
    2026-12-06 (H100) one rank of eight identical ones took 4.04 ms against 2.84-2.88 and the host
    outran its GPU sleep in 7 runs (results/h100/cp/issue13-s13_ranges_p8.jsonl, ulysses forward); GC
    is one suspect, not isolated. ATTNBENCH_CP_GC=1 leaves the collector on (A/B)."""
    if os.environ.get("ATTNBENCH_CP_GC", "0") == "1":
        yield
        return
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def gc_notes():
    return ["timed runs with Python's GC on (ATTNBENCH_CP_GC=1)"] if os.environ.get("ATTNBENCH_CP_GC", "0") == "1" else []


class HostCover:
    """Virtual mode on CUDA: one GPU sleep enqueued before each run, as long as the previous run's
    host time (x 1.25 + 1 ms, at most MAX_MS), so that the host has issued the run's launches
    before the GPU reaches them and every rank's step spans are GPU time.

    Why: one host thread issues all P ranks' steps, and each run starts on an idle GPU (after the
    L2 flush and a synchronize). Without a cover, a span whose launches the GPU waits for measures
    host time: per-step copies (ulysses: 48 per rank, about 60 us each in the H200 trace of
    results/h200/cp/traces.tgz, about half of its forward rank time) and the ranks late in the
    round-robin (at P = 8 the rank the round-robin reaches last, rank 6 in the forward, took
    0.8-1.7 ms longer than the others on ulysses' identical work in results/h200/cp/virtual-p8.jsonl
    and results/h100/cp/issue13-paper_cp_p8.jsonl). A real run has one host per rank, which runs
    ahead of its GPU in steady-state training. ATTNBENCH_CP_HOST_COVER=0 turns it off (A/B)."""

    MAX_MS = 250.0

    def __init__(self, device):
        self.on = (device.type == "cuda" and hasattr(torch.cuda, "_sleep")
                   and os.environ.get("ATTNBENCH_CP_HOST_COVER", "1") != "0")
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
        """Call on an idle GPU (after synchronize), right before the run's first step."""
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
        out = ["virtual ranks: a GPU sleep before each run covers the host's launches (spans are GPU time)"]
        if self.outran:
            out.append(f"virtual ranks: the host outran the sleep in {self.outran} run(s) (spans may hold host gaps there)")
        return out


def stats(ms):
    return {"medianMs": median(ms), "p20Ms": percentile(ms, 20), "p80Ms": percentile(ms, 80), "samples": len(ms)}


def run_virtual(execs, steps_of, phase, hub, progress):
    """Round-robin over the ranks' generators until all finish; a full round without progress is a
    deadlock (named per rank)."""
    gens = {ex.rank: ex.run(steps_of(ex), phase) for ex in execs}
    live = dict(gens)
    while live:
        before = hub.progress
        done = []
        for r, g in live.items():
            try:
                next(g)
            except StopIteration:
                done.append(r)
        for r in done:
            live.pop(r)
        progress.touch()
        if not done and hub.progress == before:
            where = "; ".join(f"rank {ex.rank} at {ex.where[0]} step {ex.where[1]} ({ex.where[2]})" for ex in execs if ex.rank in live)
            raise PlanError(f"deadlock: every remaining rank waits for a message that never comes: {where}")
    if any(hub.mail.get(k) for k in hub.mail) or hub.colls:
        raise PlanError(f"{phase}: messages sent but never received, or collectives left open")


class Watchdog:
    """Ends the process when no step has started for `timeout` seconds, after on_timeout() wrote
    what it could (the hung case's rows and a fault line)."""

    def __init__(self, progress, timeout):
        self.progress = progress
        self.timeout = timeout
        self.on_timeout = None
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while True:
            time.sleep(min(1.0, self.timeout / 4))
            if time.monotonic() - self.progress.t > self.timeout:
                try:
                    if self.on_timeout:
                        self.on_timeout()
                finally:
                    sys.stderr.flush()
                    os._exit(124)
