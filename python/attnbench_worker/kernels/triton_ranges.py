"""triton_ranges: our own Triton range attention (issue 13), forward and backward, any mask in one launch.

Inputs (ready from the TypeScript adapter src/mask/adapters/ranges.ts, format 'ranges'): the band
table of every slice (q0, q1, k0, k1, lo, hi), a forward work list per (mask head, query tile) and
its transpose per (mask head, key tile): runs of full tiles and partial tiles with the bands that
cut them, each with an LPT program order. Tiles and tuning come in the job (args.tuning), chosen
per shape class by src/kernels/gpu/triton_ranges.ts; the notes record them.

Kernels: triton_ranges_fwd.py (forward, DELTA preprocess), triton_ranges_bwd.py (dK/dV key-tile
outer; dQ by a deterministic second pass, or by fp32 atomics when tuning.dqAtomic = 1).

CP partial entry (PROTOCOL): partial_forward(q, k, v, step) -> (o, lse) and
partial_backward(q, k, v, o, lse, do, step) -> (dq, dk, dv), q [Tq, Hq, D], k/v [Tk, Hkv, D],
lse natural log [Tq, Hq] (-inf on rows with no key); step.arrays holds this kernel's args for the
step (same layout as a job's mask args).
"""

import math
import os

import torch

from ..tables import RANGES_PARTIAL_COST, RANGES_ROW_COST
from .base import Call, Unsupported, module_available

ID = "triton_ranges"
GROUP = "torch"
LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453

DEFAULT_TUNING = {
    "pack": 1, "fwdSubN": 64, "fwdWarps": 8, "fwdStages": 3,
    "bwdKeys": 64, "bwdSubM": 64, "bwdWarps": 4, "bwdStages": 2,
    "dqSubN": 64, "dqWarps": 8, "dqStages": 2, "dqAtomic": 0,
    "bandsStatic": 0,  # > 0: band tests unrolled over that many slots when no partial tile has more (pipelined partial loops)
    "programs": 0,  # > 0: the lists carry the persistent grid's LPT shares over that many programs (TypeScript)
    "persistent": 0,  # 1: launch that persistent grid (each program loops over its share); 0: LPT launch order
    "fwdSplit": 1,  # > 1: each forward tile's rows are split over that many programs (fewer rows and warps, more programs per SM)
    "dqSplit": 1,  # the same for the dQ pass
    "bwdFused": 0,  # 1: dK/dV and dQ programs in one launch (as flex's backward), at bwdWarps / bwdStages
    "bwdSubMPart": 0,  # > 0: rows per dK/dV step on partial tiles (bwdSubM on full runs); 0: bwdSubM
    "fwdMaxRegs": 0,  # > 0: the forward's register cap (Triton's maxnreg), for more programs per SM
    "bwdSplit": 1,  # 1: a backward list with split rows (items) launches them; 0: its whole rows (the A/B of the split)
    "fwdGather": 0,  # G > 0: forward over gathered lists, partial tiles of <= G bands in one pipelined loop (triton_ranges_gather.py)
    "fwdGatherFull": 1,  # with fwdGather: 1 full tiles from an index list in one pipelined loop; 0 the runs loop
    "bwdPackLse": 0,  # 1: dK/dV reads LSE / DELTA from a [B, KV heads, S, pack] copy (a step's rows contiguous; ninth pass)
    "lptLaunch": 0,  # 1: the TypeScript lists' launch order is plain LPT, not the persistent grid's shares (read the same way); 2: the forward's only
    "bwdSeparate": 0,  # 1: dV and dK by two dK/dV launches, one accumulator per program (head dims > 128: no spills)
}
# head_dim 128, or no GQA packing (also the CP steps' default, whose lists carry no tuning): the
# dK/dV shape that compiles for sm_90a without spills (scripts/kernel-aot.py; src/kernels/gpu/triton_ranges.ts).
WIDE_TUNING = {"bwdKeys": 128, "bwdSubM": 32, "bwdWarps": 8}
# head_dim > 128 (192, 256: 256 columns), also the CP steps' default: smaller tiles than d 128's, so that the
# kernels fit 227 KB of shared memory without spills (scripts/kernel-aot.py 'dims'; src/kernels/gpu/triton_ranges.ts
# HUGE). Chosen by the sm_90a compile, then bwdSeparate 0 by an H100 A/B at d 256 (one launch 45.7 ms, two 58.6 ms).
# Then 32-row dK/dV and 32-key dQ steps by an H200 A/B at d 192 / 256 (32k causal_document 45.4 -> 30.7 ms).
HUGE_TUNING = {"fwdSubN": 32, "fwdWarps": 8, "fwdStages": 3, "bwdKeys": 64, "bwdSubM": 32, "bwdSubMPart": 32, "bwdWarps": 8,
               "bwdStages": 2, "bwdPackLse": 1, "bwdSeparate": 0, "bwdFused": 0, "dqSubN": 32, "dqWarps": 8, "dqStages": 2}
# What the kernels are built and checked for (src/kernels/gpu/triton_ranges.ts RANGES_HEAD_DIMS): multiples of 8
# (16-byte rows) from 16 to 256; a head dim that is not a power of two runs as the next power of two of columns,
# the extra columns masked off in every load and store (80, 96 -> 128; 192 -> 256).
HEAD_DIMS = tuple(range(16, 257, 8))
MEASURED_HEAD_DIMS = (64, 128)  # the head dims whose tuning GPU rows chose (the others: the AOT compile's, see the notes)
LIST_KEYS = ("rowRuns", "runs", "rowParts", "parts", "sliceIds", "order")  # and, optional, "progStart"
SPLIT_KEYS = ("items", "itemRuns", "splitRows")  # optional: a backward list with split rows


def available():
    reason = module_available("torch", "triton")
    if reason:
        return reason
    return None if torch.cuda.is_available() else "torch sees no CUDA GPU"


def partial_available(device):
    """The CP entry runs on CUDA tensors; on CPU tensors only through Triton's interpreter
    (TRITON_INTERPRET=1, slow: tests) or the tests' stand-in."""
    if device.type != "cuda":
        if os.environ.get("TRITON_INTERPRET") == "1":
            return module_available("torch", "triton")
        return "triton_ranges runs on CUDA tensors (use --kernel reference on CPU)"
    return available()


class TileList:
    def __init__(self, d, device):
        t = {k: d[k].to(device=device, dtype=torch.int32).contiguous().view(-1) for k in LIST_KEYS}
        self.row_runs, self.runs, self.row_parts = t["rowRuns"], t["runs"], t["rowParts"]
        self.parts, self.sids, self.order = t["parts"], t["sliceIds"], t["order"]
        self.nrows = int(d["numRows"])
        self.full = int(d.get("fullTiles", 0))
        self.partial = int(d.get("partialTiles", 0))
        self.max_bands = int(self.parts[2::5].max()) if self.parts.numel() else 0
        self.maxb = 0  # band_keep's MAXB (Lists sets it from tuning.bandsStatic)
        # the persistent grid's LPT shares of order (when the lists were built with tuning.programs)
        ps = d.get("progStart")
        self.progs = ps.to(device=device, dtype=torch.int32).contiguous().view(-1) if ps is not None else None
        self.persist = False  # Lists sets it from tuning.persistent
        # a split list (backward, src/mask/adapters/ranges-split.ts): the launched items, their runs, the split rows
        sp = {k: d[k].to(device=device, dtype=torch.int32).contiguous().view(-1) for k in SPLIT_KEYS if d.get(k) is not None}
        if sp and len(sp) != len(SPLIT_KEYS):
            raise Unsupported(f"a split work list needs {', '.join(SPLIT_KEYS)}")
        self.items, self.item_runs, self.split_rows = (sp.get(k) for k in SPLIT_KEYS)
        self.nslots = 0  # float32 partial slots the chunks write (items' slot column)
        if self.items is not None:
            self.nslots = int(self.items[5::6].max()) + 1
            if self.split_rows.numel() and int((self.split_rows[1::3] + self.split_rows[2::3]).max()) > self.nslots:
                raise Unsupported("splitRows reduces slots that no item writes")

    def programs(self):
        return self.progs.numel() - 1 if self.persist else None

    def grid(self, per_row, batch):
        """(programs, batch): the persistent grid, or one program per row (item of a split list) x per_row (KV heads, splits)."""
        if self.persist:
            return (self.programs(), batch)
        return ((self.items.numel() // 6 if self.items is not None else self.order.numel()) * per_row, batch)

    def args(self):
        progs = self.progs if self.progs is not None else self.order  # PROGS is not read without PERSIST
        return (self.order, progs, self.row_runs, self.runs, self.row_parts, self.parts, self.sids)


def plain_lpt(lst):
    """The list's rows by src/mask/adapters/ranges.ts' LPT cost (ROW_COST + full tiles + PARTIAL_COST x
    partial tiles, ranges-cost.ts through the shared tables) descending, ties by row: the launch order
    of tuning.lptLaunch."""
    lens = (lst.runs[1::2] - lst.runs[0::2]).double()
    cum = torch.cat([lens.new_zeros(1), lens.cumsum(0)])
    rr, rp = lst.row_runs.long(), lst.row_parts.long()
    cost = RANGES_ROW_COST + (cum[rr[1:]] - cum[rr[:-1]]) + RANGES_PARTIAL_COST * (rp[1:] - rp[:-1]).double()
    return torch.sort(-cost, stable=True).indices.to(torch.int32)


class Lists:
    """Both work lists, the band table, the tiles and the tuning of one mask (or one CP step)."""

    def __init__(self, args, hq, hkv, d, device):
        self.heads = int(args["heads"])
        self.tq, self.tk = int(args["tileQ"]), int(args["tileK"])
        self.mean_steps = args.get("fwdMeanSteps")  # the list statistic the TypeScript tuning rule read (shortLoops), if any
        self.tile_choice = args.get("tileChoice")  # the TypeScript tile choice (64-blocks: own tiles or 128-key), if it weighed both
        given = {k: int(v) for k, v in (args.get("tuning") or {}).items()}
        unknown = sorted(set(given) - set(DEFAULT_TUNING))
        if unknown:  # e.g. a removed variant (fwdTma, dqTma): refused, not run as the default under its name
            raise Unsupported(f"triton_ranges has no tuning key {', '.join(unknown)}")
        unpacked = given.get("pack", 1) == 1
        self.tuning = dict(DEFAULT_TUNING, **(WIDE_TUNING if d > 64 or unpacked else {}))
        if d > 64 and unpacked:
            self.tuning["bwdSubM"] = 16  # no spills without packing either (d 64: 32)
        if d > 64:
            self.tuning["bwdStages"] = 3  # as src/kernels/gpu/triton_ranges.ts (H100 backward A/B, 2026-12-05)
        if d <= 64:
            self.tuning["dqSubN"] = 32  # as src/kernels/gpu/triton_ranges.ts (H100 A/B at d 48 / 64, issue13.sh call29)
        if d > 128:
            self.tuning.update(HUGE_TUNING)
        self.tuning.update(given)
        t = self.tuning
        self.pack = t["pack"]
        if hq % hkv or hq // hkv != self.pack:
            raise Unsupported(f"triton_ranges packs the whole GQA group: pack {self.pack} for heads {hq}:{hkv}")
        if self.heads not in (1, hkv):
            raise Unsupported(f"ranges lists have {self.heads} mask heads; expected 1 or {hkv}")
        self.rep = hkv // self.heads
        if d not in HEAD_DIMS:
            raise Unsupported(f"triton_ranges takes head_dim a multiple of 8 from 16 to 256, not {d}")
        self.d, self.dp = d, next_pow2(d)  # a tile's head-dim columns: d padded to a power of two (masked columns)
        self.nr = self.tq * self.pack  # rows of a query tile: tokens x packed heads
        self.bm = max(16, next_pow2(self.nr))  # a program's rows: padded when the group is not a power of two
        if self.tk & (self.tk - 1) or self.tk < 16 or self.nr > 256:
            raise Unsupported(f"triton_ranges needs power-of-two key tiles of >= 16 and <= 256 packed rows: "
                              f"{self.tq} tokens x {self.pack} heads, {self.tk} keys")
        t["fwdSubN"] = min(t["fwdSubN"], self.tk)
        t["dqSubN"] = min(t["dqSubN"], self.tk)
        t["bwdKeys"] = min(t["bwdKeys"], self.tk)
        for key in ("bwdSubM", "bwdSubMPart"):
            subm = max(next_pow2(min(t[key] or t["bwdSubM"], self.bm)), 16)
            t[key] = max(subm, self.pack) if self.pack & (self.pack - 1) == 0 else subm
        self.bands = args["bands"].to(device=device, dtype=torch.int32).contiguous().view(-1)
        self.fwd = TileList(args["fwd"], device)
        self.bwd = TileList(args["bwd"], device)
        if not t["bwdSplit"]:  # a split list's rows are whole: launched as unsplit
            self.bwd.items = self.bwd.item_runs = self.bwd.split_rows = None
            self.bwd.nslots = 0
        if t["lptLaunch"] and not t["persistent"]:  # as the TypeScript lists with the key: a no-op on those, else re-sorted here
            self.fwd.order = plain_lpt(self.fwd)
            if t["lptLaunch"] == 1:  # 2: the forward only
                self.bwd.order = plain_lpt(self.bwd)
        for tl_ in (self.fwd, self.bwd):
            tl_.maxb = t["bandsStatic"] if 0 < tl_.max_bands <= t["bandsStatic"] else 0
            if t["persistent"]:
                if tl_.items is not None:
                    raise Unsupported("tuning.persistent takes whole rows; this list's rows are split (build it without bwdSplit)")
                if tl_.progs is None or tl_.progs.numel() < 2:
                    raise Unsupported("tuning.persistent needs the lists' persistent schedule (build them with tuning.programs > 0)")
                tl_.persist = True
        for key in ("fwdSplit", "dqSplit"):
            sp = int(t[key])
            if sp < 1 or sp & (sp - 1) or self.bm // sp < 16:
                raise Unsupported(f"tuning.{key} {sp}: a power of two that leaves >= 16 of the {self.bm} rows per program")
            if sp > 1 and t["persistent"]:
                raise Unsupported(f"tuning.{key} {sp} splits tiles over launched programs; the persistent grid takes whole tiles")
        self.gather = None  # fwdGather's lists (triton_ranges_gather.gather_lists), built at the first forward
        if t["fwdGather"] and (t["persistent"] or t["fwdGather"] < 0 or t["fwdGather"] > 8):
            raise Unsupported("tuning.fwdGather: 1..8 band slots, with the LPT launch (not the persistent grid)")
        if t["bwdFused"] and (t["persistent"] or t["dqAtomic"]):
            raise Unsupported("tuning.bwdFused launches dK/dV and the dQ pass together: not with the persistent grid or dQ atomics")
        if t["bwdSeparate"] and (t["bwdFused"] or t["dqAtomic"]):
            raise Unsupported("tuning.bwdSeparate launches dV and dK apart: not with bwdFused or dQ atomics")

    def split(self, key):
        """Programs per tile row of the forward list (fwdSplit for the forward, dqSplit for dQ)."""
        return int(self.tuning[key])

    def note(self):
        t = self.tuning
        rows = f"{self.nr} rows" + (f" (padded to {self.bm})" if self.nr < self.bm else "")
        fwd = f"fwd subN {t['fwdSubN']} w{t['fwdWarps']} s{t['fwdStages']}"
        fwd += f" gather {t['fwdGather']}" + ("" if t["fwdGatherFull"] else " (runs)") if t["fwdGather"] else ""
        fwd += (f" split {t['fwdSplit']}" if t["fwdSplit"] > 1 else "") + (f" maxnreg {t['fwdMaxRegs']}" if t["fwdMaxRegs"] else "")
        if self.mean_steps is not None:  # the statistic the TypeScript rule (shortLoops) chose the forward tuning by
            fwd += f" (fwd list: mean {self.mean_steps} 64-key steps per query tile)"
        bwd = f"bwd keys {t['bwdKeys']} subM {t['bwdSubM']}"
        bwd += (f" ({t['bwdSubMPart']} on partial tiles)" if t["bwdSubMPart"] != t["bwdSubM"] else "") + f" w{t['bwdWarps']} s{t['bwdStages']}"
        bwd += " packed lse" if t["bwdPackLse"] else ""
        bwd += " (dV, dK in two launches)" if t["bwdSeparate"] else ""
        if self.bwd.items is not None:  # a split list (src/mask/adapters/ranges-split.ts)
            bwd += f" ({self.bwd.split_rows.numel() // 3} key tiles split into {self.bwd.nslots} chunks)"
        dq = f"dq subN {t['dqSubN']} " + ("in the dK/dV launch" if t["bwdFused"] else f"w{t['dqWarps']} s{t['dqStages']}")
        dq += f" split {t['dqSplit']}" if t["dqSplit"] > 1 else ""
        bands = f"unrolled x{self.fwd.maxb}/{self.bwd.maxb}" if self.fwd.maxb or self.bwd.maxb else "looped"
        launch = (f"persistent grid of {self.fwd.programs()} / {self.bwd.programs()} programs (LPT shares)" if self.fwd.persist
                  else "LPT launch order" + (" (plain)" if t["lptLaunch"] else ""))
        dims = [] if self.d in MEASURED_HEAD_DIMS else [
            f"head dim {self.d}" + (f" padded to {self.dp} columns (masked)" if self.dp != self.d else "")
            + ": tuning from the sm_90a compile (scripts/kernel-aot.py), not measured on a GPU"]
        chosen = []
        if self.tile_choice is not None:  # src/mask/adapters/ranges-choice.ts
            tc = self.tile_choice
            chosen = [f"tiles by estimate: {'128-key' if int(tc['other']) else 'block'} tiles "
                      f"(est. {float(tc['ratio']):.3f} of the other's cost)"]
        return "; ".join([f"ranges tiles {self.tq} tok x {self.pack} heads = {rows} x {self.tk} keys", *chosen, *dims,
                          f"fwd {self.fwd.full} full + {self.fwd.partial} partial tiles", fwd, bwd, dq,
                          "dQ fp32 atomics" if t["dqAtomic"] else "dQ deterministic pass", f"band tests {bands}", launch])


def next_pow2(n):
    return 1 << max(0, int(n) - 1).bit_length()


def _kernels():
    from . import triton_ranges_bwd as bwd
    from . import triton_ranges_fwd as fwd
    return fwd, bwd


def forward(q, k, v, ls, scale):
    """q [B, Sq, Hq, D], k/v [B, Sk, Hkv, D] contiguous -> (o like q, lse2 [B, Sq, Hq] float32, log2 units)."""
    fwd, _ = _kernels()
    b, sq, hq, d = q.shape
    sk = k.shape[1]
    o = torch.empty_like(q)
    lse = torch.empty((b, sq, hq), dtype=torch.float32, device=q.device)
    t = ls.tuning
    if t["fwdGather"]:  # ninth pass: gathered step lists (triton_ranges_gather.py)
        from . import triton_ranges_gather as ga
        if ls.gather is None:
            f = ls.fwd
            ls.gather = tuple(a.to(q.device) for a in ga.gather_lists(f.row_runs, f.runs, f.row_parts, f.parts, f.sids, ls.bands,
                                                                      t["fwdGather"], ls.tk, t["fwdSubN"], bool(t["fwdGatherFull"])))
        ga.forward_gather(q, k, v, o, lse, ls, scale * LOG2E, ls.gather)
        return o, lse
    sp = ls.split("fwdSplit")
    fwd._fwd[ls.fwd.grid(ls.rep * sp, b)](q, k, v, o, lse, ls.bands, *ls.fwd.args(),
                   q.stride(0), q.stride(1), k.stride(0), k.stride(1),
                   hq, sq, sk, ls.fwd.nrows, ls.rep, scale * LOG2E,
                   P=ls.pack, TQ=ls.tq, NR=ls.nr, BM=ls.bm // sp, TK=ls.tk, SUBN=t["fwdSubN"], D=d, DP=ls.dp, MAXB=ls.fwd.maxb, PERSIST=ls.fwd.persist,
                   SPLIT=sp, num_warps=t["fwdWarps"], num_stages=t["fwdStages"], **_maxnreg(t["fwdMaxRegs"]))
    return o, lse


def _maxnreg(n):
    """Triton's register cap (CUDAOptions.maxnreg) as a launch option, none when 0 (the interpreter drops it)."""
    return {"maxnreg": int(n)} if n else {}


def backward(q, k, v, o, lse, do, ls, scale):
    """Gradients from the final (o, lse2): FA2 algorithm 2. Returns (dq, dk, dv) in the inputs' layout."""
    fwd, bwd = _kernels()
    b, sq, hq, d = q.shape
    sk = k.shape[1]
    do = do.contiguous()
    t = ls.tuning
    plse = bool(t["bwdPackLse"])
    delta, lsep, deltap = _delta_lse(fwd, o, do, lse, ls.pack, plse)
    dk, dv = torch.empty_like(k), torch.empty_like(v)
    nsplit = ls.tk // t["bwdKeys"]
    items = ls.bwd.items is not None
    if items:  # split key tiles: float32 partials per chunk [B, slots, KV heads per mask head, TK, D], summed below
        dkp = torch.empty((b, ls.bwd.nslots, ls.rep, ls.tk, d), dtype=torch.float32, device=q.device)
        dvp = torch.empty_like(dkp)
    else:
        dkp = dvp = delta  # not read
    largs = ls.bwd.args()
    if items:  # the items' runs (clipped to each chunk) in place of the rows' runs
        largs = largs[:3] + (ls.bwd.item_runs,) + largs[4:]
    if t["bwdFused"]:  # one launch: dK/dV programs first (LPT), then the dQ pass's (LPT)
        dq = torch.empty_like(q)
        sp = ls.split("dqSplit")
        ndkdv = ls.bwd.grid(ls.rep * nsplit, b)[0]
        bwd._bwd[(ndkdv + ls.fwd.order.numel() * ls.rep * sp, b)](
            q, k, v, do, lse, delta, dk, dv, dq, ls.bands, *largs[:1], *largs[2:], *ls.fwd.args()[:1], *ls.fwd.args()[2:],
            q.stride(0), q.stride(1), k.stride(0), k.stride(1),
            hq, sq, sk, ls.bwd.nrows, ls.fwd.nrows, ls.rep, ndkdv, scale * LOG2E, scale,
            P=ls.pack, TQ=ls.tq, NR=ls.nr, BM=ls.bm // sp, TK=ls.tk, KB=t["bwdKeys"], NSPLIT=nsplit, SUBM=t["bwdSubM"],
            SUBMP=t["bwdSubMPart"], SUBN=t["dqSubN"], D=d, DP=ls.dp, MAXB=ls.bwd.maxb, FMAXB=ls.fwd.maxb, SPLIT=sp,
            ITEMSP=ls.bwd.items if items else ls.bwd.order, DKP=dkp, DVP=dvp, NSLOTS=ls.bwd.nslots, ITEMS=items,
            LSEP=lsep, DELTAP=deltap, PLSE=plse, num_warps=t["bwdWarps"], num_stages=t["bwdStages"])
        if items:
            _reduce(bwd, ls, dkp, dvp, dk, dv, k, sk, d, b)
        return dq, dk, dv
    atomic = bool(t["dqAtomic"])
    dqa = torch.zeros(q.shape, dtype=torch.float32, device=q.device) if atomic else delta
    for out in ((1, 2) if t["bwdSeparate"] else (3,)):  # bwdSeparate: dV, then dK (the OUT bits of _dkdv)
        bwd._dkdv[ls.bwd.grid(ls.rep * nsplit, b)](q, k, v, do, lsep, deltap, dk, dv, dqa, ls.bands, *largs,
                        q.stride(0), q.stride(1), k.stride(0), k.stride(1),
                        hq, sq, sk, ls.bwd.nrows, ls.rep, scale * LOG2E, scale,
                        ITEMSP=ls.bwd.items if items else ls.bwd.order, DKP=dkp, DVP=dvp, NSLOTS=ls.bwd.nslots,
                        P=ls.pack, TQ=ls.tq, NR=ls.nr, TK=ls.tk, KB=t["bwdKeys"], NSPLIT=nsplit, SUBM=t["bwdSubM"], SUBMP=t["bwdSubMPart"], D=d, DP=ls.dp,
                        ATOMIC=atomic, MAXB=ls.bwd.maxb, PERSIST=ls.bwd.persist, ITEMS=items, PLSE=plse, OUT=out,
                        num_warps=t["bwdWarps"], num_stages=t["bwdStages"])
    if items:
        _reduce(bwd, ls, dkp, dvp, dk, dv, k, sk, d, b)
    if atomic:
        dq = dqa.to(q.dtype)
    else:
        dq = torch.empty_like(q)
        sp = ls.split("dqSplit")
        bwd._dq[ls.fwd.grid(ls.rep * sp, b)](q, k, v, do, lse, delta, dq, ls.bands, *ls.fwd.args(),
                      q.stride(0), q.stride(1), k.stride(0), k.stride(1),
                      hq, sq, sk, ls.fwd.nrows, ls.rep, scale * LOG2E, scale,
                      P=ls.pack, TQ=ls.tq, NR=ls.nr, BM=ls.bm // sp, TK=ls.tk, SUBN=t["dqSubN"], D=d, DP=ls.dp, MAXB=ls.fwd.maxb, PERSIST=ls.fwd.persist,
                      SPLIT=sp, num_warps=t["dqWarps"], num_stages=t["dqStages"])
    return dq, dk, dv


def _delta_lse(fwd, o, do, lse, pack, plse):
    """(DELTA [B, S, Hq], LSE and DELTA for dK/dV) in one launch of _delta: with plse (tuning.bwdPackLse)
    the two in the layout of _packed, written by that launch (before 2026-12-05 evening: two torch
    copies after it, two more launches per backward); else lse and DELTA themselves."""
    b, sq, hq = lse.shape
    delta = torch.empty_like(lse)
    lsep, deltap = (torch.empty((b, hq // pack, sq, pack), dtype=torch.float32, device=lse.device) for _ in range(2)) if plse else (lse, delta)
    n = delta.numel()
    fwd._delta[(triton_cdiv(n, 64),)](o, do, delta, n, lse, lsep, deltap, sq, hq, BLOCK=64, D=o.shape[-1], DP=next_pow2(o.shape[-1]), P=pack, PACK=plse)
    return delta, lsep, deltap


def _packed(x, pack):
    """[B, S, Hq] float32 -> [B, Hq / pack, S, pack] contiguous: the dK/dV rows of one KV group, token-major
    (tuning.bwdPackLse; 4 bytes per row, e.g. 8 MB at 32k x 64 heads). The layout _delta writes (tests' reference)."""
    b, s, hq = x.shape
    return x.view(b, s, hq // pack, pack).permute(0, 2, 1, 3).contiguous()


def _reduce(bwd, ls, dkp, dvp, dk, dv, k, sk, d, b):
    """dK/dV of the split rows: their chunks' float32 partials summed in slot order (deterministic)."""
    rb = min(32, ls.tk)
    bwd._dkdv_reduce[(ls.bwd.split_rows.numel() // 3 * ls.rep * (ls.tk // rb), b)](
        dkp, dvp, dk, dv, ls.bwd.split_rows, k.stride(0), k.stride(1), sk, ls.bwd.nrows, ls.rep, ls.bwd.nslots,
        TK=ls.tk, RB=rb, D=d, DP=ls.dp, num_warps=4)


def triton_cdiv(a, b):
    return (a + b - 1) // b


class _Attn(torch.autograd.Function):
    @staticmethod
    def forward(fctx, q, k, v, ls, scale):
        o, lse = forward(q, k, v, ls, scale)
        fctx.save_for_backward(q, k, v, o, lse)
        fctx.ls, fctx.scale = ls, scale
        return o

    @staticmethod
    def backward(fctx, do):
        q, k, v, o, lse = fctx.saved_tensors
        dq, dk, dv = backward(q, k, v, o, lse, do, fctx.ls, fctx.scale)
        return dq, dk, dv, None, None


def build(ctx):
    if ctx.format != "ranges":
        raise Unsupported(f"triton_ranges takes ranges work lists, not {ctx.format}")
    if ctx.dtype not in (torch.bfloat16, torch.float16):
        raise Unsupported("triton_ranges takes bfloat16 or float16")
    args = {k: ctx.arg(k) for k in ("heads", "tileQ", "tileK", "tuning", "bands", "fwd", "bwd", "fwdMeanSteps", "tileChoice")}
    ls = Lists(args, ctx.hq, ctx.hkv, ctx.d, ctx.device)
    _kernels()

    def prep(q, k, v):  # [B, H, S, D] -> [B, S, H, D] (the kernel's and CP's layout), outside timing
        return q.transpose(1, 2).contiguous(), k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()

    def fn(q, k, v):
        return _Attn.apply(q, k, v, ls, ctx.scale)

    def post(o):
        return o.transpose(1, 2)

    return Call(fn, prep=prep, post=post, notes=[ls.note()], compiled=True)


# ---- CP partial entry ----------------------------------------------------------------------------

STEP_TILES_Q = (16, 32, 64, 128)  # src/worker/ranges-args.ts STEP_TILES_Q


def _unflatten(flat, prefix):
    """{"t16.fwd.rowRuns": x, ...} -> the nested args of one tile size (the CP hook's flat names)."""
    out = {}
    for name, v in flat.items():
        if not name.startswith(prefix + "."):
            continue
        *path, last = name[len(prefix) + 1:].split(".")
        d = out
        for p in path:
            d = d.setdefault(p, {})
        d[last] = v
    return out


def _step_lists(q, k, step):
    """The step's lists at 128 / (GQA group) query tokens per tile, so a program has 128 rows;
    built once per (mask, heads) and kept in step.cache."""
    hq, hkv, d = q.shape[1], k.shape[1], q.shape[2]
    key = ("triton_ranges", hq, hkv)
    cache = getattr(step, "cache", None)
    if cache is not None and key in cache:
        return cache[key]
    if hq % hkv:
        raise Unsupported(f"heads {hq}:{hkv}: not a GQA grouping")
    pack = hq // hkv
    want = max(1, 128 // pack)
    tile = min(STEP_TILES_Q, key=lambda t: (abs(t - want), t))
    if tile * pack > 128 and tile != min(STEP_TILES_Q):
        tile = max(t for t in STEP_TILES_Q if t * pack <= 128)
    args = _unflatten(step.arrays, f"t{tile}")
    if not args:
        raise Unsupported("the step carries no triton_ranges lists (src/cp/torch/partial-arrays.ts hook)")
    args["tuning"] = {**(args.get("tuning") or {}), "pack": pack}
    ls = Lists(args, hq, hkv, d, q.device)
    if cache is not None:
        cache[key] = ls
    return ls


def _scale(step, d):
    s = getattr(step, "scale", None)
    return float(s) if s is not None else 1.0 / math.sqrt(d)


def partial_forward(q, k, v, step):
    """q [Tq, Hq, D], k/v [Tk, Hkv, D] -> (o [Tq, Hq, D], lse [Tq, Hq] float32 natural log, -inf where no key)."""
    ls = _step_lists(q, k, step)
    o, lse2 = forward(q.contiguous().unsqueeze(0), k.contiguous().unsqueeze(0), v.contiguous().unsqueeze(0), ls, _scale(step, q.shape[2]))
    lse = torch.where(torch.isinf(lse2), torch.full_like(lse2, float("-inf")), lse2 * LN2)
    return o[0], lse[0]


def partial_backward(q, k, v, o, lse, do, step):
    """(dq, dk, dv) of this step's keys from the FINAL merged (o, lse) of these rows (natural-log lse)."""
    ls = _step_lists(q, k, step)
    lse2 = torch.where(torch.isinf(lse), torch.full_like(lse, float("inf")), lse * LOG2E).float().contiguous()
    dq, dk, dv = backward(q.contiguous().unsqueeze(0), k.contiguous().unsqueeze(0), v.contiguous().unsqueeze(0),
                          o.contiguous().unsqueeze(0), lse2.unsqueeze(0), do.contiguous().unsqueeze(0), ls, _scale(step, q.shape[2]))
    return dq[0], dk[0], dv[0]
