"""Runs CP cases: inputs, the forward and backward programs (warm-up, timed runs, one traced run),
the check against a single-device reference, and one measurement record per direction
(record.py; TypeScript builds the result rows). Two modes:

  dist     one process per rank (torchrun): torch.distributed with NCCL (GPUs) or gloo (CPU
           tensors). Each rank times its whole program with CUDA events (or the host clock on
           CPU) after a barrier; rank 0 gathers every rank's times and writes the records.
  virtual  every rank of the plan in this one process, on one device: communication becomes
           device copies, each rank's compute steps are timed separately and summed, so a rank's
           time is its compute time alone (for the simulator, and to check plans on one GPU).

Faults: an exception inside a step names the rank and step (StepFault); a case whose steps stop
making progress for --timeout seconds is ended by the watchdog, which writes a `timeout` record
naming where each rank was; records of finished cases are on disk already (one line each, flushed).
In dist mode a failing rank cannot leave its peers waiting in a collective: it writes its fault
and exits, torchrun stops the others, and the launcher resumes after that case.
"""

import os
import sys
import threading
import time

import torch

from ..tables import TOLERANCE
from .buffers import Dtypes
from .check import ErrAcc, Masks, compare, error_metrics, make_globals, reference
from .comm import VirtualComm, VirtualHub
from .executor import Progress, RankExec, StepFault
from .logic import PlanError, case_shape
from .manifest import ManifestError
from .output import append_line, case_faults, environment, faults_path, faults_text, say, where_text, write_trace
from .partial import DTYPES, make_kernel, resolve_kernel_name
from .record import finished_ids, make_record, mode_tag, record_key
from ..hostcover import HostCover
from .timing import StepTimer, Watchdog, gc_notes, gc_paused, run_virtual, stats

# The manifest carries the case's tolerance; the shared table serves --dtype overrides.
L2_FLUSH_BYTES = 256 << 20


class CaseError(RuntimeError):
    """A case that cannot run as asked (same decision on every rank: no communication needed)."""


class Options:
    def __init__(self, **kw):
        self.mode = kw.get("mode", "dist")  # dist | virtual
        self.virtual_ranks = kw.get("virtual_ranks")
        self.backend = kw.get("backend")
        self.device = kw.get("device")  # torch.device
        self.out = kw.get("out")
        self.trace_dir = kw.get("trace_dir")
        self.timeout = kw.get("timeout", 600.0)
        self.dtype = kw.get("dtype")
        self.kernel = kw.get("kernel")
        self.warmup = kw.get("warmup")
        self.iters = kw.get("iters")
        self.check = kw.get("check", True)
        self.rank = kw.get("rank", 0)
        self.world = kw.get("world", 1)
        self.comm = kw.get("comm")  # DistComm in dist mode
        self.command = kw.get("command", "")
        self.resume = kw.get("resume", False)  # skip cases whose every direction has an ok row in out


class CaseRun:
    def __init__(self, doc, opts, progress, env):
        self.doc = doc
        self.opts = opts
        self.progress = progress
        self.env = env
        self.case = doc["case"]
        self.directions = list(self.case.get("directions", ["fwd", "bwd"]))
        self.written = set()
        self.lock = threading.Lock()
        self.kernel_name = None

    # records are written by rank 0 (dist) or by the process (virtual)
    def writer(self):
        return self.opts.mode == "virtual" or self.opts.rank == 0

    def emit(self, row):
        # The watchdog thread and the main thread can both end a case.
        with self.lock:
            if self.writer() and row["direction"] not in self.written:  # a measurement record (record.py)
                append_line(self.opts.out, row)
            self.written.add(row["direction"])

    def fail_rest(self, status, message):
        for d in self.directions:
            if d not in self.written:
                self.emit(make_record(self.doc, d, self.opts, self.env, self.kernel_name, status, message))

    def run(self):
        opts, case = self.opts, self.case
        p = case["world"]
        if opts.mode == "dist" and p != opts.world:
            raise CaseError(f"world-size mismatch: the plan is for {p} ranks but {opts.world} processes run it "
                            f"(launch torchrun --nproc-per-node/--nnodes for {p}, or use --virtual-ranks {p})")
        if opts.mode == "virtual" and opts.virtual_ranks and opts.virtual_ranks != p:
            raise CaseError(f"world-size mismatch: the plan is for {p} ranks but --virtual-ranks is {opts.virtual_ranks}")
        device = opts.device
        dtype_name = opts.dtype or case["dtype"]
        dtype = DTYPES[dtype_name]
        grad = torch.float32 if case.get("gradDtype", "float32") == "float32" else dtype
        dts = Dtypes(dtype, grad)
        # Named before it is made: a case whose kernel cannot run still records which one it asked for.
        self.kernel_name = resolve_kernel_name(opts.kernel or case.get("kernel", "auto"), device, case_shape(case, dtype_name))
        kernel = make_kernel(self.kernel_name, device)
        self.kernel = kernel
        self.kernel_name = kernel.name
        notes = [f"partial kernel: {kernel.name}"]
        if kernel.bwd_note and "bwd" in self.directions:
            notes.append(kernel.bwd_note)
        if grad == torch.float32 and dtype != torch.float32:
            notes.append("gradient buffers float32")
        self.cover = HostCover(device) if opts.mode == "virtual" else None
        if opts.mode == "virtual":
            notes.append(f"virtual ranks: {p} ranks on one device; rank time = its compute steps only, messages are device copies")
        masks = Masks(self.doc, device, kernel)
        mine = list(range(p)) if opts.mode == "virtual" else [opts.rank]
        progs = self.doc["ranks"]
        masks.warm([progs[r] for r in mine])
        self.progress.touch()
        g = make_globals(case, device, dtype)
        hub = VirtualHub() if opts.mode == "virtual" else None
        timer = StepTimer(device) if opts.mode == "virtual" else None
        execs = []
        for r in mine:
            comm = VirtualComm(hub, r) if hub is not None else opts.comm
            execs.append(RankExec(r, progs, case, device, dts, kernel, masks, comm, self.progress, timer))
        warmup = opts.warmup if opts.warmup is not None else case.get("warmup", 5)
        iters = opts.iters if opts.iters is not None else case.get("iters", 20)
        check = opts.check and case["seqlen"] <= case.get("checkUpTo", 0)
        ref = reference(g, self.doc, device, "bwd" in self.directions) if check else None
        self.progress.touch()
        flush = torch.empty(L2_FLUSH_BYTES, dtype=torch.uint8, device=device) if device.type == "cuda" else None

        state = {}
        results = {}
        for direction in ("fwd", "bwd"):
            phase = "forward" if direction == "fwd" else "backward"
            inits = {ex.rank: ex.inputs(progs[ex.rank][phase], g, None if direction == "fwd" else state[ex.rank])
                     for ex in execs}
            per_iter = {ex.rank: [] for ex in execs}
            first = {}
            mem0 = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            for it in range(warmup + iters + 1):
                traced = it == warmup + iters
                for ex in execs:
                    ex.reset(inits[ex.rank])
                    ex.trace = [] if traced else None
                if flush is not None:
                    flush.zero_()
                ms = self._one_run(execs, phase, direction, hub, timer)
                for r, v in ms.items():
                    if it == 0:
                        first[r] = v
                    if warmup <= it < warmup + iters:
                        per_iter[r].append(v)
            if direction == "fwd":  # the backward of rank r continues from rank r's forward state
                state = {ex.rank: dict(ex.store) for ex in execs}
            mem = None
            if device.type == "cuda":
                peak = torch.cuda.max_memory_allocated(device)
                mem = {"peakDeltaBytes": float(peak - mem0), "peakTotalBytes": float(peak)}
            acc = None
            if ref is not None:
                acc = ErrAcc()
                for ex in execs:
                    compare(acc, ex, progs[ex.rank], direction, ref, case)
            results[direction] = dict(per_rank={r: stats(v) for r, v in per_iter.items()}, first=first, mem=mem, acc=acc,
                                      trace={ex.rank: self._spans(ex) for ex in execs})
            if direction in self.directions:
                self._finish(direction, results[direction], notes)
            if direction == "fwd" and "bwd" not in self.directions:
                break

    def _one_run(self, execs, phase, direction, hub, timer):
        with gc_paused():
            return self._timed_run(execs, phase, direction, hub, timer)

    def _timed_run(self, execs, phase, direction, hub, timer):
        opts = self.opts
        cuda = opts.device.type == "cuda"
        if opts.mode == "virtual":
            timer.reset()
            if cuda:
                torch.cuda.synchronize()
            self.cover.before(direction)
            t0 = time.perf_counter()
            run_virtual(execs, lambda ex: self.doc["ranks"][ex.rank][phase], direction, hub, self.progress)
            self.cover.after(direction, (time.perf_counter() - t0) * 1e3)
            return timer.totals([ex.rank for ex in execs])
        ex = execs[0]
        opts.comm.dist.barrier()
        if cuda:
            torch.cuda.synchronize()
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
        else:
            t0 = time.perf_counter()
        ex.t0 = a if cuda else t0
        for _ in ex.run(self.doc["ranks"][ex.rank][phase], direction):
            raise PlanError("a real communication step yielded")
        if cuda:
            b.record()
            b.synchronize()
            return {ex.rank: a.elapsed_time(b)}
        return {ex.rank: (time.perf_counter() - t0) * 1e3}

    def _spans(self, ex):
        """Traced run -> [(lane, kind, step, start ms, end ms)] relative to the run's start."""
        if not ex.trace:
            return []
        cuda = self.opts.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize()
        t0 = getattr(ex, "t0", None) if self.opts.mode == "dist" else None
        if t0 is None:
            t0 = ex.trace[0][3]

        def rel(e):
            return t0.elapsed_time(e) if cuda else (e - t0) * 1e3

        return [(lane, kind, i, rel(a), rel(b)) for lane, kind, i, a, b in ex.trace]

    def _finish(self, direction, res, notes):
        opts, case = self.opts, self.case
        local = [res["per_rank"][r] for r in sorted(res["per_rank"])]
        first = [res["first"][r] for r in sorted(res["first"])]
        mem = res["mem"]
        acc_vals = res["acc"].v if res["acc"] is not None else None
        spans = res["trace"]
        if opts.mode == "dist":
            gathered = _all_gather_obj(opts, {"stats": local[0], "first": first[0], "mem": mem, "acc": acc_vals,
                                              "spans": spans[opts.rank]})
            per_rank = [x["stats"] for x in gathered]
            first_all = [x["first"] for x in gathered]
            mems = [x["mem"] for x in gathered if x["mem"]]
            mem = max(mems, key=lambda m: m["peakTotalBytes"]) if mems else None
            accs = [x["acc"] for x in gathered if x["acc"] is not None]
            vals = ErrAcc().merged(accs) if accs else None
            spans = {r: x["spans"] for r, x in enumerate(gathered)}
        else:
            per_rank, first_all, vals = local, first, acc_vals
        if not self.writer():
            self.written.add(direction)
            return
        names = ("out", "lse") if direction == "fwd" else ("dq", "dk", "dv")
        tol = TOLERANCE.get(opts.dtype, 3e-2) if opts.dtype else case.get("tolerance") or TOLERANCE.get(case["dtype"], 3e-2)
        err = error_metrics(vals, names, tol) if vals else None
        compile_ms = max(first_all) if first_all else None
        cover = self.cover.notes() if self.cover is not None else []
        notes = notes + cover + gc_notes() + list(getattr(self.kernel, "notes", [])) + ["times.compileMs: the first (warm-up) run, compilation included"]
        if err and err["exceedsTolerance"]:
            notes = notes + ["error exceeds the dtype tolerance"]
        row = make_record(self.doc, direction, opts, self.env, self.kernel_name, "ok", None, per_rank, err, mem, compile_ms, notes)
        self.emit(row)
        if opts.trace_dir:
            write_trace(opts, case, direction, spans)


def _all_gather_obj(opts, obj):
    import torch.distributed as dist

    out = [None] * opts.world
    dist.all_gather_object(out, obj)
    return out




def run_cases(docs_or_paths, opts, load):
    """Runs every manifest in order; returns the number of cases that failed."""
    done_ids = finished_ids(opts.out) if opts.resume else set()
    progress = Progress()
    dog = Watchdog(progress, opts.timeout) if opts.timeout else None
    failed = 0
    for item in docs_or_paths:
        try:
            doc = load(item)
        except ManifestError as e:
            failed += 1
            say(f"attnbench-cp: {e}")
            append_line(faults_path(opts.out), {"rank": opts.rank, "case": str(item), "status": "error", "message": str(e)})
            continue
        dirs = doc["case"].get("directions", ["fwd", "bwd"])
        tag = mode_tag(doc["case"], opts)
        if done_ids:
            kernel = resolve_kernel_name(opts.kernel or doc["case"].get("kernel", "auto"), opts.device, case_shape(doc["case"], opts.dtype))
            if all(record_key(doc["case"]["id"], d, tag, opts.device.type, kernel) in done_ids for d in dirs):
                continue
        env = environment(opts.backend, opts.device, doc["case"].get("gitRev"), opts.command)
        cr = CaseRun(doc, opts, progress, env)
        progress.where.clear()
        progress.touch()
        if dog is not None:
            def on_timeout(cr=cr):
                msg = f"no progress for {opts.timeout:g} s: {where_text(progress)}"
                say(f"attnbench-cp: rank {opts.rank}: case {cr.case['id']}: {msg}")
                append_line(faults_path(opts.out), {"rank": opts.rank, "case": cr.case["id"], "status": "timeout", "message": msg})
                if cr.writer() and opts.mode == "dist":
                    msg = faults_text(case_faults(opts.out, cr.case["id"], opts.world))
                cr.fail_rest("timeout", msg)
            dog.on_timeout = on_timeout
        try:
            if opts.mode == "dist":
                opts.comm.prepare_groups(doc)
            cr.run()
        except (CaseError, PlanError, StepFault, Exception) as e:  # noqa: BLE001 - every failure becomes a row
            failed += 1
            oom = isinstance(e, torch.cuda.OutOfMemoryError) or isinstance(getattr(e, "err", None), torch.cuda.OutOfMemoryError)
            status = "oom" if oom else "error"
            msg = str(e) if isinstance(e, (CaseError, PlanError, StepFault)) else f"{type(e).__name__}: {e}"
            msg = msg.splitlines()[0][:2000] if msg else type(e).__name__
            say(f"attnbench-cp: rank {opts.rank}: case {cr.case['id']}: {msg}")
            append_line(faults_path(opts.out), {"rank": opts.rank, "case": cr.case["id"], "status": status, "message": msg})
            if opts.mode == "dist" and cr.writer() and not isinstance(e, CaseError):
                # This rank may only have seen a peer go away: every rank's fault, first one first;
                # a peer that stopped on its watchdog makes the case a timeout.
                found = case_faults(opts.out, cr.case["id"], opts.world)
                msg = faults_text(found)
                if any(x.get("status") == "timeout" for x in found):
                    status = "timeout"
            cr.fail_rest(status, msg)
            if opts.device.type == "cuda":
                torch.cuda.empty_cache()
            if opts.mode == "dist" and not isinstance(e, CaseError):
                # Peers may be inside a collective with this rank: stop here, torchrun stops them.
                sys.stderr.flush()
                os._exit(3)
    return failed
