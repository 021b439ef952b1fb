"""Timing and liveness of CP runs: per-rank compute timers (virtual ranks), the round-robin driver
of virtual ranks, timing statistics, and the watchdog that ends a hung case."""

import contextlib
import gc
import os
import sys
import threading
import time

import torch

from ..tables import env_knob
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
    if _gc_left_on():
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


def _gc_left_on():
    return env_knob("ATTNBENCH_CP_GC", "0") == "1"


def gc_notes():
    return ["timed runs with Python's GC on (ATTNBENCH_CP_GC=1)"] if _gc_left_on() else []


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
