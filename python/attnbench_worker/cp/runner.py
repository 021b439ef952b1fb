"""Runs CP cases: inputs, the forward and backward programs (warm-up, timed runs, one traced run),
the check against a single-device reference, and one result row per direction
(src/results/schema.ts). Two modes:

  dist     one process per rank (torchrun): torch.distributed with NCCL (GPUs) or gloo (CPU
           tensors). Each rank times its whole program with CUDA events (or the host clock on
           CPU) after a barrier; rank 0 gathers every rank's times and writes the rows.
  virtual  every rank of the plan in this one process, on one device: communication becomes
           device copies, each rank's compute steps are timed separately and summed, so a rank's
           time is its compute time alone (for the simulator, and to check plans on one GPU).

Faults: an exception inside a step names the rank and step (StepFault); a case whose steps stop
making progress for --timeout seconds is ended by the watchdog, which writes a `timeout` row
naming where each rank was; rows of finished cases are on disk already (one line each, flushed).
In dist mode a failing rank cannot leave its peers waiting in a collective: it writes its fault
and exits, torchrun stops the others, and the launcher resumes after that case.
"""

import json
import math
import os
import platform
import socket
import sys
import threading
import time
from datetime import datetime, timezone

import torch

from ..arrays import load_torch
from ..stats import exceeds_tolerance, finite
from .buffers import Dtypes
from .comm import VirtualComm, VirtualHub
from .executor import Progress, RankExec, StepFault
from .kernels import DTYPES, PreparedMask, ReferenceKernel, make_kernel
from .logic import PlanError, default_outputs, median, percentile
from .manifest import BLOCK_TABLE_ARRAYS, SLICE_ARRAYS, ManifestError

# The manifest carries the case's tolerance (src/util/tolerance.ts); this copy serves --dtype overrides.
TOLERANCE = {"float64": 1e-9, "float32": 2e-4, "float16": 1e-2, "bfloat16": 3e-2}
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


# --- output -------------------------------------------------------------------------------------
_write_lock = threading.Lock()


def say(text):
    """One line to stderr in one write: the ranks under torchrun share that pipe, and a line
    written in two pieces (text, then newline) can be cut by another rank's."""
    os.write(2, (text + "\n").encode("utf-8", "replace"))


def append_line(path, obj):
    if not path:
        return
    with _write_lock:
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(obj) + "\n")
            f.flush()
            os.fsync(f.fileno())


def faults_path(out):
    return (out or "cp-results.jsonl") + ".faults.jsonl"


def environment(backend, device, git_rev, command):
    libs = {"torch": torch.__version__, "python": platform.python_version(), "backend": backend or "none"}
    gpu = driver = cuda = None
    try:
        import triton

        libs["triton"] = triton.__version__
    except Exception:  # noqa: BLE001 - optional
        pass
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name(device)
        cuda = torch.version.cuda
        try:
            libs["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception:  # noqa: BLE001
            pass
        try:
            import subprocess

            driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                    capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0] or None
        except Exception:  # noqa: BLE001
            driver = None
    return {"host": socket.gethostname(), "gpu": gpu, "driver": driver, "cuda": cuda, "libs": libs, "gitRev": git_rev,
            "date": datetime.now(timezone.utc).isoformat(), "command": command}


# --- inputs and masks ---------------------------------------------------------------------------
def make_globals(case, device, dtype):
    """Global Q, K, V, dO: unit normal, seeded (the same on every rank of a device kind)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(case.get("inputSeed", 0)))
    s, hq, hk, d = case["seqlen"], case["headsQ"], case["headsKv"], case["headDim"]
    out = {}
    for name, h in (("q", hq), ("k", hk), ("v", hk), ("do", hq)):
        out[name] = torch.randn(s, h, d, generator=gen, device=device, dtype=torch.float32).to(dtype)
    return out


class Masks:
    """Prepared masks by index, built on first use (each rank prepares the masks of its own steps)."""

    def __init__(self, doc, device, block_tables):
        self.doc = doc
        self.device = device
        self.block_tables = block_tables
        self.cache = {}

    def prepare(self, entry):
        base = self.doc["_base"]
        s = entry["slices"]
        q, k, t = (load_torch(s[n], base, self.device).to(torch.int64) for n in SLICE_ARRAYS)
        slices = torch.cat([q.reshape(-1, 2), k.reshape(-1, 2), t.reshape(-1, 1)], 1)
        bt = None
        if self.block_tables and entry.get("blockTable"):
            bt = {n: load_torch(entry["blockTable"][n], base, self.device) for n in BLOCK_TABLE_ARRAYS}
        return PreparedMask(entry, slices, self.device, bt)

    def __getitem__(self, i):
        if i not in self.cache:
            self.cache[i] = self.prepare(self.doc["masks"][i])
        return self.cache[i]

    def warm(self, programs):
        """Prepare (and build block masks for) every mask the given programs use, outside timing."""
        for prog in programs:
            for phase in ("forward", "backward"):
                for st in prog[phase]:
                    if "mask" in st:
                        pm = self[st["mask"]]
                        if self.block_tables and not pm.empty:
                            pm.block_mask()


# --- timing -------------------------------------------------------------------------------------
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


# --- the reference and errors -------------------------------------------------------------------
_REF_CACHE = {}


def reference(g, doc, device, need_bwd):
    """Single-device float32 reference: out, lse, and dq, dk, dv for dO. The last one is kept:
    consecutive cases of the same mask and inputs (every scheme of one family) share it."""
    case = doc["case"]
    key = json.dumps([case[k] for k in ("seqlen", "headsQ", "headsKv", "headDim", "dtype", "inputSeed")]
                     + [doc["mask"]["slices"], os.path.abspath(doc["_base"]), need_bwd, str(device)], sort_keys=True)
    if key in _REF_CACHE:
        return _REF_CACHE[key]
    _REF_CACHE.clear()
    ref = _reference(g, doc, device, need_bwd)
    _REF_CACHE[key] = ref
    return ref


def _reference(g, doc, device, need_bwd):
    case = doc["case"]
    pm = Masks(doc, device, False).prepare(doc["mask"])
    hq, hk = case["headsQ"], case["headsKv"]
    kv_idx = [h // (hq // hk) for h in range(hq)]
    scale = case.get("scale") or case["headDim"] ** -0.5
    ker = ReferenceKernel()
    q, k, v = g["q"].float(), g["k"].float(), g["v"].float()
    out, lse = ker.forward(q, k, v, kv_idx, pm, scale)
    ref = {"o": out, "lse": lse}
    if need_bwd:
        dq, dk, dv = ker.backward(q, k, v, out, lse, g["do"].float(), kv_idx, pm, scale)
        ref.update(dq=dq, dk=dk, dv=dv)
    return ref


class ErrAcc:
    """max / sum / count of absolute errors per quantity, and the reference's largest |value|."""

    def __init__(self):
        self.v = {}

    def add(self, name, got, want):
        diff = (got.float() - want.float()).abs()
        finite = torch.isfinite(want)
        # Both -inf (rows without keys) count as exact; a non-finite result elsewhere is infinite error.
        same_inf = (~finite) & (got.float() == want.float())
        diff = torch.where(same_inf, torch.zeros_like(diff), diff)
        diff = torch.nan_to_num(diff, nan=math.inf)
        ref = torch.where(finite, want.float().abs(), torch.zeros_like(diff))
        m, s, c, r = self.v.get(name, (0.0, 0.0, 0, 0.0))
        self.v[name] = (max(m, float(diff.max()) if diff.numel() else 0.0), s + float(diff.sum()), c + diff.numel(),
                        max(r, float(ref.max()) if ref.numel() else 0.0))

    def merged(self, other_lists):
        out = dict(self.v)
        for v in other_lists:
            for name, (m, s, c, r) in v.items():
                m0, s0, c0, r0 = out.get(name, (0.0, 0.0, 0, 0.0))
                out[name] = (max(m0, m), s0 + s, c0 + c, max(r0, r))
        return out


def compare(acc, ex, program, phase, ref, case):
    from .buffers import gather_tokens

    outs = program.get("outputs", {}).get(phase) or default_outputs(program, phase)
    if not outs:
        raise PlanError(f"rank {ex.rank}: declares no {phase} output buffer (o; dq, dkv)")
    for kind, name in outs.items():
        d = ex.desc(name)
        b = ex.get(name)
        h0, h1 = d["heads"]

        def want(t):
            return gather_tokens(t, d["tokens"])[:, h0:h1]

        if kind == "o":
            acc.add("out", b["x"], want(ref["o"]))
            acc.add("lse", b["lse"], want(ref["lse"]))
        elif kind == "dq":
            acc.add("dq", b["x"], want(ref["dq"]))
        elif kind == "dk":
            acc.add("dk", b["x"], want(ref["dk"]))
        elif kind == "dv":
            acc.add("dv", b["x"], want(ref["dv"]))
        elif kind == "dkv":
            acc.add("dk", b["k"], want(ref["dk"]))
            acc.add("dv", b["v"], want(ref["dv"]))


def error_metrics(vals, names, tol):
    out = {"reference": "float32 dense chunked, single device"}
    for n in names:
        if n in vals:
            m, s, c, r = vals[n]
            out[n] = {"maxAbs": finite(m), "meanAbs": finite(s / c if c else 0.0), "refMaxAbs": finite(r)}
    out["exceedsTolerance"] = exceeds_tolerance(tol, out)
    return out


# --- rows ---------------------------------------------------------------------------------------
def row_id(case, direction, opts):
    mode = f"virtual{case['world']}" if opts.mode == "virtual" else f"dist-{opts.backend}"
    return f"{case['id']}|{direction}|torch|{mode}|{opts.device.type}"


def make_row(doc, direction, opts, env, kernel_name, status, message=None, per_rank=None, error=None, memory=None,
             compile_ms=None, notes=()):
    case = doc["case"]
    p = case["world"]
    flops = case["flops"][direction]
    layout = dict(case.get("layout") or {})
    if opts.mode == "virtual":
        layout["virtualRanks"] = p
    row = {
        "schema": 1, "id": row_id(case, direction, opts), "suite": "cp", "executor": "torch", "kernel": kernel_name,
        "scheme": case["scheme"], "family": case["family"], "maskParams": case.get("maskParams", {}),
        "seed": case.get("seed", 0), "seqlen": case["seqlen"], "batch": 1, "headsQ": case["headsQ"],
        "headsKv": case["headsKv"], "headDim": case["headDim"], "dtype": opts.dtype or case["dtype"],
        "direction": direction, "world": p, "layout": layout, "status": status, "message": message,
        "area": case.get("area", 0), "flops": flops, "times": None, "tflops": None, "tflopsMeanRank": None,
        "memory": memory, "error": error, "ranks": None, "notes": list(notes), "simulated": False, "env": env,
    }
    if per_rank:
        ms = [t["medianMs"] for t in per_rank]
        slow = max(range(len(ms)), key=lambda r: ms[r])
        t = dict(per_rank[slow])
        if compile_ms is not None:
            t["compileMs"] = compile_ms
        row["times"] = t
        row["tflops"] = flops / (ms[slow] * 1e-3) / p / 1e12 if ms[slow] > 0 else None
        mean = sum(ms) / len(ms)
        row["tflopsMeanRank"] = flops / (mean * 1e-3) / p / 1e12 if mean > 0 else None
        progs = doc["ranks"]
        row["ranks"] = [{"rank": r, "ms": ms[r], "flops": progs[r].get("flops", {}).get(direction, 0),
                         "bytesSent": progs[r].get("bytesSent", {}).get(direction, 0)} for r in range(p)]
    return row


# --- the watchdog -------------------------------------------------------------------------------
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


def case_faults(out, case_id, world, wait_s=2.0):
    """The fault lines every rank wrote for this case (a shared file), in the order they were
    written, once every rank's line is there (or after wait_s): the rank that failed first wrote
    first, and its line names the root cause; the others usually only saw it go away."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with open(faults_path(out)) as f:
                found = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError):
            found = []
        found = [x for x in found if x.get("case") == case_id]
        if len({x.get("rank") for x in found}) >= world or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def faults_text(found):
    return "; ".join(dict.fromkeys(f"rank {x.get('rank')}: {x.get('message')}" for x in found))


def where_text(progress):
    parts = []
    for r in sorted(progress.where):
        w = progress.where[r]
        if w:
            parts.append(f"rank {r} at {w[0]} step {w[1]} ({w[2]})")
    return "; ".join(parts) or "before the first step"


# --- one case -----------------------------------------------------------------------------------
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

    # rows are written by rank 0 (dist) or by the process (virtual)
    def writer(self):
        return self.opts.mode == "virtual" or self.opts.rank == 0

    def emit(self, row):
        # The watchdog thread and the main thread can both end a case.
        with self.lock:
            if self.writer() and row["direction"] not in self.written:
                append_line(self.opts.out, row)
            self.written.add(row["direction"])

    def fail_rest(self, status, message):
        for d in self.directions:
            if d not in self.written:
                self.emit(make_row(self.doc, d, self.opts, self.env, self.kernel_name, status, message))

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
        kernel = make_kernel(opts.kernel or case.get("kernel", "auto"), device)
        self.kernel = kernel
        self.kernel_name = kernel.name
        notes = [f"partial kernel: {kernel.name}"]
        if kernel.name == "flex" and "bwd" in self.directions:
            notes.append("bwd: flex autograd on each partial call (recomputes its forward)")
        if grad == torch.float32 and dtype != torch.float32:
            notes.append("gradient buffers float32")
        if opts.mode == "virtual":
            notes.append(f"virtual ranks: {p} ranks on one device; rank time = its compute steps only, messages are device copies")
        masks = Masks(self.doc, device, kernel.name == "flex")
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
        opts = self.opts
        cuda = opts.device.type == "cuda"
        if opts.mode == "virtual":
            timer.reset()
            if cuda:
                torch.cuda.synchronize()
            run_virtual(execs, lambda ex: self.doc["ranks"][ex.rank][phase], direction, hub, self.progress)
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
        notes = notes + list(getattr(self.kernel, "notes", [])) + ["times.compileMs: the first (warm-up) run, compilation included"]
        row = make_row(self.doc, direction, opts, self.env, self.kernel_name, "ok", None, per_rank, err, mem, compile_ms, notes)
        if err and err["exceedsTolerance"]:
            row["notes"].append("error exceeds the dtype tolerance")
        self.emit(row)
        if opts.trace_dir:
            write_trace(opts, case, direction, spans)


def _all_gather_obj(opts, obj):
    import torch.distributed as dist

    out = [None] * opts.world
    dist.all_gather_object(out, obj)
    return out


def write_trace(opts, case, direction, spans):
    """Chrome / Perfetto trace: a process per rank, thread 0 compute and 1 communication."""
    ev = []
    for r, lst in sorted(spans.items()):
        ev.append({"name": "process_name", "ph": "M", "pid": r, "args": {"name": f"rank {r}"}})
        ev.append({"name": "thread_name", "ph": "M", "pid": r, "tid": 0, "args": {"name": "compute"}})
        ev.append({"name": "thread_name", "ph": "M", "pid": r, "tid": 1, "args": {"name": "communication"}})
        cursor = 0.0
        for lane, kind, i, a, b in lst:
            if opts.mode == "virtual":
                # One device ran every rank in turn: lay each rank's compute end to end; messages are instants.
                dur = (b - a) if lane == "compute" else 0.0
                a = cursor
                cursor += dur
                b = a + dur
            ev.append({"name": kind, "ph": "X", "pid": r, "tid": 0 if lane == "compute" else 1, "ts": a * 1e3,
                       "dur": max(0.0, (b - a) * 1e3), "args": {"step": i}})
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{case['id']}-{direction}-{opts.mode}")
    os.makedirs(opts.trace_dir, exist_ok=True)
    with open(os.path.join(opts.trace_dir, safe + ".trace.json"), "w") as f:
        json.dump({"traceEvents": ev, "displayTimeUnit": "ms",
                   "metadata": {"case": case["id"], "direction": direction, "mode": opts.mode}}, f)


def finished_ids(path):
    """Row ids with status ok in a result file (for --resume); a missing file has none."""
    ids = set()
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a killed run
                if r.get("status") == "ok":
                    ids.add(r.get("id"))
    return ids


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
        if done_ids and all(row_id(doc["case"], d, opts) in done_ids for d in dirs):
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
