"""Dev check of timing fidelity: the harness's median vs a bare CUDA-event loop around the same call.

`python -m attnbench_worker bare jobs.jsonl --ids A,B [--iters N]`: for each job, prepares the call
exactly as the harness does, then alternates three timings over 3 rounds (so clock and power drift
hit all of them alike):
  harness   per-call CUDA events, L2 flushed before each call (the worker's policy), median
  events    per-call CUDA events, no flush, median
  loop      one pair of CUDA events around N back-to-back calls, no flush, mean per call
and prints one JSON line per job with the medians over rounds and harness / loop.
"""

import json
import os

import torch

from . import kernels, protocol
from .filemode import BadInput, read_jobs
from .stats import quantile
from .torch_exec import Ctx, flush_buffer, prepare, time_cuda


def _loop(fn, iters):
    for _ in range(3):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters


def bare(jobs_path, ids, iters):
    base = os.path.dirname(os.path.abspath(jobs_path))
    jobs = read_jobs(jobs_path)
    for n, job in enumerate(jobs, 1):  # every job checked before any is timed: garbage is one line, exit 2
        try:
            protocol.validate_job(job)
        except protocol.JobError as e:
            raise BadInput(f"{jobs_path}: job {n}: {e}") from None
    missing = [i for i in ids if i not in {j["id"] for j in jobs}]
    if missing:
        raise BadInput(f"{jobs_path}: no job with id {', '.join(missing)}")
    if not torch.cuda.is_available():
        raise BadInput("bare times CUDA calls and this torch sees no CUDA device")
    jobs = [j for j in jobs if not ids or j["id"] in ids]
    for job in jobs:
        mod = kernels.load(job["kernel"])
        ctx = Ctx(job, base, torch.device("cuda"))
        _, prep, *_ = prepare(ctx, mod)
        prep.setup()
        flush = flush_buffer(ctx.device)
        harness, events, loop = [], [], []
        for _ in range(3):
            harness.append(quantile(time_cuda(prep.timed, 5, iters, flush), 0.5))
            loop.append(_loop(prep.timed, iters))
            events.append(quantile(time_cuda(prep.timed, 3, iters, None), 0.5))
        h, e, b = quantile(harness, 0.5), quantile(events, 0.5), quantile(loop, 0.5)
        print(json.dumps({"id": job["id"], "kernel": job["kernel"], "direction": job["direction"], "seqlen": job["shape"]["seqlenQ"],
                          "harnessMedianMs": h, "eventsNoFlushMs": e, "bareLoopMs": b, "harnessOverBare": h / b,
                          "rounds": {"harness": harness, "eventsNoFlush": events, "loop": loop}}), flush=True)
        del prep, flush
        torch.cuda.empty_cache()
    return 0
