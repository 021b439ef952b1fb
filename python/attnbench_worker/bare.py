"""Dev check of timing fidelity: the harness's median vs a bare CUDA-event loop around the same call.

`python -m attnbench_worker bare jobs.jsonl --ids A,B`: for each job, prepares the call exactly as
the harness does, then times it (1) with the harness policy (per-call CUDA events, L2 flushed
before each call, median) and (2) as a bare loop: one pair of CUDA events around `iters`
back-to-back calls, no flush, mean per call; (2) is repeated 5 times and the median taken.
Prints one JSON line per job.
"""

import json
import os

import torch

from . import kernels, protocol
from .filemode import read_jobs
from .torch_exec import Ctx, flush_buffer, prepare, time_cuda
from .stats import quantile


def bare(jobs_path, ids, iters):
    base = os.path.dirname(os.path.abspath(jobs_path))
    jobs = [j for j in read_jobs(jobs_path) if not ids or j["id"] in ids]
    for job in jobs:
        protocol.validate_job(job)
        mod = kernels.load(job["kernel"])
        ctx = Ctx(job, base, torch.device("cuda"))
        _, prep, *_ = prepare(ctx, mod)
        prep.setup()
        harness = time_cuda(prep.timed, 5, iters, flush_buffer(ctx.device))
        loops = []
        for _ in range(5):
            for _ in range(3):
                prep.timed()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            for _ in range(iters):
                prep.timed()
            end.record()
            torch.cuda.synchronize()
            loops.append(start.elapsed_time(end) / iters)
        h, b = quantile(harness, 0.5), quantile(loops, 0.5)
        print(json.dumps({"id": job["id"], "kernel": job["kernel"], "direction": job["direction"], "seqlen": job["shape"]["seqlenQ"],
                          "harnessMedianMs": h, "bareLoopMs": b, "harnessOverBare": h / b, "bareLoops": loops}), flush=True)
        del prep
        torch.cuda.empty_cache()
    return 0
