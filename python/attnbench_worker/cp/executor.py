"""One rank's program: its buffers (a store of name -> {part: tensor}) and its steps, in order.

`run(steps)` is a generator: it yields only while a communication step waits for other ranks
(virtual mode); in real mode it runs straight through. `where` always names the current step, so
a fault or a hang can be reported with the rank and step.
"""

import os
import time

import torch

from .buffers import alloc, clone_buf, covers, from_globals, relayout
from .partial import merge_into
from .logic import COMM_KINDS, PlanError, head_offset, kv_head_index, phase_inputs


def _injected_fault():
    """Tests of the fault paths: ATTNBENCH_CP_FAULT="rank:phase:step:raise|hang" (phase fwd|bwd)."""
    spec = os.environ.get("ATTNBENCH_CP_FAULT")
    if not spec:
        return None
    r, phase, i, what = spec.split(":")
    return int(r), phase, int(i), what


FAULT = _injected_fault()


class StepFault(RuntimeError):
    """An exception inside a step, with the rank and step named."""

    def __init__(self, rank, phase, index, kind, err):
        super().__init__(f"rank {rank} {phase} step {index} ({kind}): {type(err).__name__}: {err}")
        self.rank, self.phase, self.index, self.kind, self.err = rank, phase, index, kind, err


class Progress:
    """Last step started per rank and when; read by the watchdog."""

    def __init__(self):
        self.t = time.monotonic()
        self.where = {}

    def touch(self, rank=None, where=None):
        self.t = time.monotonic()
        if rank is not None:
            self.where[rank] = where


class RankExec:
    def __init__(self, rank, programs, case, device, dts, kernel, masks, comm, progress, timer=None):
        self.rank = rank
        self.programs = programs  # every rank's program (peers' buffer sizes for uneven collectives)
        program = programs[rank]
        self.program = program
        self.bufs = program["buffers"]
        self.heads_q = case["headsQ"]
        self.heads_kv = case["headsKv"]
        self.head_dim = case["headDim"]
        self.scale = case.get("scale") or self.head_dim ** -0.5
        self.device = device
        self.dts = dts
        self.kernel = kernel
        self.masks = masks  # index -> kernels.base.PartialStep (lazy mapping)
        self.comm = comm
        self.progress = progress
        self.timer = timer  # optional: timer(rank, kind) context manager around compute steps
        self.store = {}
        self.frozen = set()
        self.handles = {}
        self.where = None
        self.trace = None  # list of spans when tracing

    # --- store -----------------------------------------------------------------------------
    def desc(self, name):
        d = self.bufs.get(name)
        if d is None:
            raise PlanError(f"buffer {name!r} is not declared")
        return d

    def peer_desc(self, rank, name):
        d = self.programs[rank]["buffers"].get(name)
        if d is None:
            raise PlanError(f"rank {rank} declares no buffer {name!r} for a collective with rank {self.rank}")
        return d

    def get(self, name):
        b = self.store.get(name)
        if b is None:
            raise PlanError(f"reads buffer {name!r} before anything wrote it")
        return b

    def put(self, name, b):
        self.store[name] = b
        self.frozen.discard(name)

    def alloc(self, name, fill=None):
        return alloc(self.desc(name), self.dts, self.head_dim, self.device, fill)

    def mutable(self, name):
        """The buffer, cloned first if it belongs to the phase's initial state (kept across runs)."""
        b = self.get(name)
        if name in self.frozen:
            b = clone_buf(b)
            self.put(name, b)
        return b

    def reset(self, initial):
        """Start a phase run from `initial` (name -> buffer), which no step may modify in place."""
        self.store = dict(initial)
        self.frozen = set(initial)
        self.handles = {}

    def inputs(self, steps, globals_, carry=None):
        """Initial state of a phase: buffers it reads before writing, from `carry` (the forward's
        final state, for the backward) or else from the global inputs."""
        init = {}
        for name in phase_inputs(steps):
            if carry is not None and name in carry:
                init[name] = carry[name]
            else:
                try:
                    init[name] = from_globals(self.desc(name), globals_, self.dts)
                except PlanError as e:
                    raise PlanError(f"rank {self.rank}: buffer {name!r}: {e}") from None
        return init

    # --- steps -------------------------------------------------------------------------------
    def run(self, steps, phase):
        for i, st in enumerate(steps):
            k = st["kind"]
            self.where = (phase, i, k)
            self.progress.touch(self.rank, self.where)
            try:
                if FAULT is not None and FAULT[:3] == (self.rank, phase, i):
                    if FAULT[3] == "hang":
                        while True:
                            time.sleep(1)
                    raise RuntimeError("injected fault (ATTNBENCH_CP_FAULT)")
                if k in COMM_KINDS:
                    t0 = self._mark()
                    pend = self.comm.start(self, st)
                    if st.get("handle"):
                        if st["handle"] in self.handles:
                            raise PlanError(f"handle {st['handle']!r} is already pending")
                        self.handles[st["handle"]] = (pend, t0, i, k)
                    else:
                        yield from pend.wait_gen()
                        self._span("comm", k, i, t0)
                elif k == "wait":
                    h = self.handles.pop(st["handle"], None)
                    if h is None:
                        raise PlanError(f"waits on handle {st['handle']!r}, which no earlier step started")
                    pend, t0, j, kk = h
                    yield from pend.wait_gen()
                    self._span("comm", kk, j, t0)
                else:
                    t0 = self._mark()
                    if self.timer is not None:
                        with self.timer(self.rank):
                            getattr(self, "_" + k)(st)
                    else:
                        getattr(self, "_" + k)(st)
                    self._span("compute", k, i, t0)
            except StepFault:
                raise
            except Exception as e:  # noqa: BLE001 - re-raised with the rank and step named
                raise StepFault(self.rank, phase, i, k, e) from e
        if self.handles:
            raise StepFault(self.rank, phase, len(steps), "end", PlanError(f"handles never waited: {sorted(self.handles)}"))
        self.where = (phase, len(steps), "done")

    def _mark(self):
        if self.trace is None:
            return None
        if self.device.type == "cuda":
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    def _span(self, lane, kind, index, t0):
        if self.trace is None or t0 is None:
            return
        self.trace.append((lane, kind, index, t0, self._mark()))

    def _compute_heads(self, st, qdesc, kvdesc):
        heads = tuple(st["heads"])
        qoff = head_offset(heads, qdesc["heads"], f"step q {st['q']!r}")
        kv_idx = kv_head_index(heads, kvdesc["heads"], self.heads_q, self.heads_kv)
        return heads, qoff, kv_idx

    def _mask(self, st, sq, sk):
        step = self.masks[st["mask"]]
        if step.seqlen_q != sq or step.seqlen_k != sk:
            raise PlanError(f"mask {st['mask']} is {step.seqlen_q}x{step.seqlen_k} but the buffers hold {sq} queries x {sk} keys")
        return step

    def _attn(self, st):
        qd, kvd, od = self.desc(st["q"]), self.desc(st["kv"]), self.desc(st["out"])
        if kvd["tensor"] != "kv":
            raise PlanError(f"attn kv buffer {st['kv']!r} is a {kvd['tensor']!r} buffer, not kv")
        heads, qoff, kv_idx = self._compute_heads(st, qd, kvd)
        n = heads[1] - heads[0]
        qb, kvb = self.get(st["q"]), self.get(st["kv"])
        pm = self._mask(st, qb["x"].shape[0], kvb["k"].shape[0])
        out, lse = self.kernel.forward(qb["x"][:, qoff:qoff + n], kvb["k"], kvb["v"], kv_idx, pm)
        if tuple(od["heads"]) == heads:
            self.put(st["out"], {"x": out.to(self.dts.model), "lse": lse})
        else:  # the partial covers part of a wider output buffer
            ooff = head_offset(heads, od["heads"], f"attn out {st['out']!r}")
            b = self.mutable(st["out"]) if st["out"] in self.store else self.alloc(st["out"], fill=True)
            b["x"][:, ooff:ooff + n] = out
            b["lse"][:, ooff:ooff + n] = lse
            self.put(st["out"], b)

    def _merge(self, st):
        src = self.get(st["from"])
        if st["into"] not in self.store:
            self.put(st["into"], clone_buf(src))
            return
        dst = self.mutable(st["into"])
        if dst["x"].shape != src["x"].shape:
            raise PlanError(f"merge of {tuple(src['x'].shape)} into {tuple(dst['x'].shape)}")
        merge_into(dst["x"], dst["lse"], src["x"], src["lse"])

    def _attn_bwd(self, st):
        qd, kvd = self.desc(st["q"]), self.desc(st["kv"])
        heads, qoff, kv_idx = self._compute_heads(st, qd, kvd)
        n = heads[1] - heads[0]
        qb, kvb = self.get(st["q"]), self.get(st["kv"])
        sel = {}
        for role in ("o", "lse", "dout"):
            d = self.desc(st[role])
            off = head_offset(heads, d["heads"], f"attn_bwd {role} {st[role]!r}")
            b = self.get(st[role])
            part = "lse" if role == "lse" else "x"
            if part not in b:
                raise PlanError(f"attn_bwd {role} buffer {st[role]!r} ({d['tensor']}) has no {part}")
            sel[role] = b[part][:, off:off + n]
        pm = self._mask(st, qb["x"].shape[0], kvb["k"].shape[0])
        dq, dk, dv = self.kernel.backward(qb["x"][:, qoff:qoff + n], kvb["k"], kvb["v"], sel["o"], sel["lse"], sel["dout"],
                                          kv_idx, pm)
        dqd = self.desc(st["dq"])
        dqoff = head_offset(heads, dqd["heads"], f"attn_bwd dq {st['dq']!r}")
        dqb = self.mutable(st["dq"]) if st["dq"] in self.store else self.alloc(st["dq"], fill=True)
        dqb["x"][:, dqoff:dqoff + n] += dq.to(dqb["x"].dtype)
        self.put(st["dq"], dqb)
        dkvd = self.desc(st["dkv"])
        koff = head_offset(tuple(kvd["heads"]), dkvd["heads"], f"attn_bwd dkv {st['dkv']!r}")
        hk = kvd["heads"][1] - kvd["heads"][0]
        if dkvd["tensor"] != "dkv":
            raise PlanError(f"attn_bwd dkv buffer {st['dkv']!r} is a {dkvd['tensor']!r} buffer, not dkv")
        if st["dkv"] in self.store:
            b = self.mutable(st["dkv"])
        else:
            b = self.alloc(st["dkv"], fill=True)
        b["k"][:, koff:koff + hk] += dk.to(b["k"].dtype)
        b["v"][:, koff:koff + hk] += dv.to(b["v"].dtype)
        self.put(st["dkv"], b)

    def _accumulate(self, st):
        sd, dd = self.desc(st["from"]), self.desc(st["into"])
        src = self.get(st["from"])
        dst = self.mutable(st["into"]) if st["into"] in self.store else self.alloc(st["into"], fill=True)
        if sd["tokens"] == dd["tokens"] and sd["heads"] == dd["heads"] and sd["tensor"] == dd["tensor"]:
            for p, t in dst.items():
                t.add_(src[p].to(t.dtype))
        else:
            relayout(src, sd, dd, dst, add=True)
        self.put(st["into"], dst)

    def _copy(self, st):
        sd, dd = self.desc(st["from"]), self.desc(st["into"])
        src = self.get(st["from"])
        if st["into"] in self.store:
            dst = self.mutable(st["into"])
        elif covers(sd, dd):
            dst = self.alloc(st["into"])  # every element is overwritten below
        else:
            dst = self.alloc(st["into"], fill=True)
        self.put(st["into"], relayout(src, sd, dd, dst))
