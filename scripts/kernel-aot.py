"""Compile triton_ranges' kernels ahead of time for Hopper (sm_90a) on a machine without a GPU, and
report per kernel and configuration: registers per thread, spill bytes, shared memory, and whether
the SASS uses HGMMA (wgmma, Hopper's warpgroup MMA) or only HMMA (Ampere-style mma.sync), and
how many multi-buffered shared-memory rings the software pipeliner made (ttgir: one per operand
of each pipelined loop; a loop that is not pipelined loads synchronously and has none).

    /work/venv-torch/bin/python scripts/kernel-aot.py [--only NAME_SUBSTRING[,SUBSTRING...]] [--dump DIR] [--json FILE]

Triton (3.6) lowers each kernel for GPUTarget("cuda", 90, 32) exactly as the JIT would on an H200
(same passes, same ptxas from the wheel), with the runtime's specialisation of 16-divisible
pointers and integers given as attributes. Registers and spills come from the wheel's ptxas -v on
the generated PTX; shared memory from Triton's metadata; MMA kinds from cuobjdump -sass. No
timing: nothing runs. Reference kernels: a minimal FlashAttention forward and dK/dV kernel in the
style of Triton's tutorial 06 (written below), compiled the same way, show what 'good' looks
like on this Triton.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from attnbench_worker.kernels import triton_ranges_bwd as rb  # noqa: E402
from attnbench_worker.kernels import triton_ranges_fwd as rf  # noqa: E402
from attnbench_worker.kernels import triton_ranges_gather as rg  # noqa: E402

BIN = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin")
TARGET = GPUTarget("cuda", 90, 32)


# ---- reference kernels (tutorial-style, minimal: causal off, one head per program, no masking) ----

@triton.jit
def ref_fwd(Q, K, V, O, L, stride_m, N_CTX, qk_scale, BM: tl.constexpr, BN: tl.constexpr, D: tl.constexpr):
    m0 = tl.program_id(0) * BM
    off_h = tl.program_id(1).to(tl.int64) * N_CTX * stride_m
    offs_m = m0 + tl.arange(0, BM)
    offs_n = tl.arange(0, BN)
    offs_d = tl.arange(0, D)
    q = tl.load(Q + off_h + offs_m[:, None] * stride_m + offs_d[None, :])
    m_i = tl.full([BM], float("-inf"), tl.float32)
    l_i = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, D], tl.float32)
    for n0 in range(0, N_CTX, BN):
        k = tl.load(K + off_h + (n0 + offs_n)[:, None] * stride_m + offs_d[None, :])
        s = tl.dot(q, tl.trans(k))
        m_new = tl.maximum(m_i, tl.max(s, 1) * qk_scale)
        p = tl.exp2(s * qk_scale - m_new[:, None])
        alpha = tl.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(V + off_h + (n0 + offs_n)[:, None] * stride_m + offs_d[None, :])
        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(v.dtype), v, acc)
        m_i = m_new
    tl.store(O + off_h + offs_m[:, None] * stride_m + offs_d[None, :], (acc / l_i[:, None]).to(O.dtype.element_ty))
    tl.store(L + tl.program_id(1) * N_CTX + offs_m, m_i + tl.log2(l_i))


@triton.jit
def ref_dkdv(Q, K, V, DO, L, DL, DK, DV, stride_m, N_CTX, qk_scale, sm_scale,
             BN: tl.constexpr, BM: tl.constexpr, D: tl.constexpr):
    n0 = tl.program_id(0) * BN
    off_h = tl.program_id(1).to(tl.int64) * N_CTX * stride_m
    off_l = tl.program_id(1).to(tl.int64) * N_CTX
    offs_n = n0 + tl.arange(0, BN)
    offs_m = tl.arange(0, BM)
    offs_d = tl.arange(0, D)
    k = tl.load(K + off_h + offs_n[:, None] * stride_m + offs_d[None, :])
    v = tl.load(V + off_h + offs_n[:, None] * stride_m + offs_d[None, :])
    dk = tl.zeros([BN, D], tl.float32)
    dv = tl.zeros([BN, D], tl.float32)
    for m0 in range(0, N_CTX, BM):
        q = tl.load(Q + off_h + (m0 + offs_m)[:, None] * stride_m + offs_d[None, :])
        do = tl.load(DO + off_h + (m0 + offs_m)[:, None] * stride_m + offs_d[None, :])
        lse = tl.load(L + off_l + m0 + offs_m)
        delta = tl.load(DL + off_l + m0 + offs_m)
        pT = tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - lse[None, :])
        dv = tl.dot(pT.to(do.dtype), do, dv)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - delta[None, :])
        dk = tl.dot(dsT.to(q.dtype), q, dk)
    tl.store(DK + off_h + offs_n[:, None] * stride_m + offs_d[None, :], (dk * sm_scale).to(DK.dtype.element_ty))
    tl.store(DV + off_h + offs_n[:, None] * stride_m + offs_d[None, :], dv.to(DV.dtype.element_ty))


# ---- signatures (what the runtime would specialise for bf16 tensors at S = 32k, 64:8 heads) -------

def sig(fn, types, consts):
    """types: name -> 'ptr:bf16' | 'i32' | 'fp32' ...; a trailing '/16' marks the runtime's 16-divisibility."""
    signature, attrs = {}, {}
    for i, name in enumerate(fn.arg_names):
        if name in consts:
            signature[name] = "constexpr"
            continue
        t = types[name]
        div = t.endswith("/16")
        t = t[:-3] if div else t
        signature[name] = "*" + t[4:] if t.startswith("ptr:") else t
        if div:
            attrs[(i,)] = [["tt.divisibility", 16]]
    return ASTSource(fn=fn, signature=signature, constexprs=consts, attrs=attrs)


PTR_BF, PTR_F32, PTR_I32 = "ptr:bf16/16", "ptr:fp32/16", "ptr:i32/16"
LISTS = {n: PTR_I32 for n in ("BANDS", "ORDER", "PROGS", "ROWRUNS", "RUNS", "ROWPARTS", "PARTS", "SIDS")}
STRIDES = {"sqb": "i32/16", "sqs": "i32/16", "skb": "i32/16", "sks": "i32/16"}
SIZES = {"HQ": "i32/16", "SQ": "i32/16", "SK": "i32/16", "NROWS": "i32/16", "REP": "i32"}


def pow2(n):
    """A program's rows: the tile's tq x pack rows padded to a power of two (python triton_ranges.Lists)."""
    return max(16, 1 << (n - 1).bit_length())


def dpad(d):
    """A tile's head-dim columns: d, or the next power of two (python triton_ranges.Lists.dp; 80, 96 -> 128, 192 -> 256)."""
    return 1 << (d - 1).bit_length()


def fwd_src(d, pack, tq, tk, subn, maxb=0, persist=False, split=1):
    types = {"Q": PTR_BF, "K": PTR_BF, "V": PTR_BF, "O": PTR_BF, "LSE": PTR_F32, **LISTS, **STRIDES, **SIZES, "qk_scale": "fp32"}
    return sig(rf._fwd, types, {"P": pack, "TQ": tq, "NR": tq * pack, "BM": pow2(tq * pack) // split, "TK": tk, "SUBN": subn, "D": d,
                                "MAXB": maxb, "PERSIST": persist, "SPLIT": split, "DP": dpad(d)})


def gather_src(d, pack, tq, tk, subn, g, full=True, split=1):
    """The ninth pass's gathered forward (tuning fwdGather = g; fwdGatherFull = full)."""
    lists = {n: PTR_I32 for n in ("BANDS", "ORDER", "ROWRUNS", "RUNS", "ROWF", "FT", "ROWPS", "PS", "ROWPARTS", "PARTS", "SIDS")}
    types = {"Q": PTR_BF, "K": PTR_BF, "V": PTR_BF, "O": PTR_BF, "LSE": PTR_F32, **lists, **STRIDES, **SIZES, "qk_scale": "fp32"}
    return sig(rg._fwd_gather, types, {"P": pack, "TQ": tq, "NR": tq * pack, "BM": pow2(tq * pack) // split, "TK": tk, "SUBN": subn, "D": d,
                                       "G": g, "FULL": full, "SPLIT": split, "DP": dpad(d)})


def dkdv_src(d, pack, tq, tk, kb, subm, atomic, maxb=0, persist=False, submp=0, items=False, plse=False, out=3):
    """items: a split list (src/mask/adapters/ranges-split.ts): programs per item, chunks write float32 partials."""
    types = {"Q": PTR_BF, "K": PTR_BF, "V": PTR_BF, "DO": PTR_BF, "LSE": PTR_F32, "DELTA": PTR_F32, "DK": PTR_BF, "DV": PTR_BF,
             "DQA": PTR_F32, **LISTS, **STRIDES, **SIZES, "qk_scale": "fp32", "sm_scale": "fp32",
             "ITEMSP": PTR_I32, "DKP": PTR_F32, "DVP": PTR_F32, "NSLOTS": "i32"}
    return sig(rb._dkdv, types, {"P": pack, "TQ": tq, "NR": tq * pack, "TK": tk, "KB": kb, "NSPLIT": tk // kb, "SUBM": subm,
                                 "SUBMP": submp or subm, "D": d,
                                 "ATOMIC": bool(atomic), "MAXB": maxb, "PERSIST": persist, "ITEMS": items, "PLSE": plse, "DP": dpad(d),
                                 "OUT": out})


def reduce_src(d, tk, rb_):
    types = {"DKP": PTR_F32, "DVP": PTR_F32, "DK": PTR_BF, "DV": PTR_BF, "SPLITROWS": PTR_I32, "skb": "i32/16", "sks": "i32/16",
             "SK": "i32/16", "NROWS": "i32/16", "REP": "i32", "NSLOTS": "i32"}
    return sig(rb._dkdv_reduce, types, {"TK": tk, "RB": rb_, "D": d, "DP": dpad(d)})


def dq_src(d, pack, tq, tk, subn, maxb=0, persist=False, split=1):
    types = {"Q": PTR_BF, "K": PTR_BF, "V": PTR_BF, "DO": PTR_BF, "LSE": PTR_F32, "DELTA": PTR_F32, "DQ": PTR_BF,
             **LISTS, **STRIDES, **SIZES, "qk_scale": "fp32", "sm_scale": "fp32"}
    return sig(rb._dq, types, {"P": pack, "TQ": tq, "NR": tq * pack, "BM": pow2(tq * pack) // split, "TK": tk, "SUBN": subn, "D": d,
                               "MAXB": maxb, "PERSIST": persist, "SPLIT": split, "DP": dpad(d)})


def fused_src(d, pack, tq, tk, kb, subm, subn, split=1, submp=0, items=False, plse=False):
    """dK/dV and dQ in one launch (tuning.bwdFused): the backward list's ORDER..SIDS, then the forward list's F*."""
    lists = {n: PTR_I32 for n in ("BANDS", "ORDER", "ROWRUNS", "RUNS", "ROWPARTS", "PARTS", "SIDS",
                                  "FORDER", "FROWRUNS", "FRUNS", "FROWPARTS", "FPARTS", "FSIDS")}
    types = {"Q": PTR_BF, "K": PTR_BF, "V": PTR_BF, "DO": PTR_BF, "LSE": PTR_F32, "DELTA": PTR_F32, "DK": PTR_BF, "DV": PTR_BF,
             "DQ": PTR_BF, **lists, **STRIDES, **SIZES, "FNROWS": "i32/16", "NDKDV": "i32", "qk_scale": "fp32", "sm_scale": "fp32",
             "ITEMSP": PTR_I32, "DKP": PTR_F32, "DVP": PTR_F32, "NSLOTS": "i32", "LSEP": PTR_F32, "DELTAP": PTR_F32}
    return sig(rb._bwd, types, {"P": pack, "TQ": tq, "NR": tq * pack, "BM": pow2(tq * pack) // split, "TK": tk, "KB": kb,
                                "NSPLIT": tk // kb, "SUBM": subm, "SUBMP": submp or subm, "SUBN": subn, "D": d, "MAXB": 0, "FMAXB": 0, "SPLIT": split,
                                "ITEMS": items, "PLSE": plse, "DP": dpad(d)})


def delta_src(d, pack, packed):
    """The DELTA preprocess; packed: it also writes LSE / DELTA per KV group (tuning.bwdPackLse)."""
    types = {"O": PTR_BF, "DO": PTR_BF, "DELTA": PTR_F32, "N": "i32", "LSE": PTR_F32, "LSEP": PTR_F32, "DELTAP": PTR_F32,
             "S": "i32/16", "HQ": "i32"}
    return sig(rf._delta, types, {"BLOCK": 64, "D": d, "P": pack, "PACK": packed, "DP": dpad(d)})


def ref_fwd_src(d, bm, bn):
    types = {"Q": PTR_BF, "K": PTR_BF, "V": PTR_BF, "O": PTR_BF, "L": PTR_F32, "stride_m": "i32/16", "N_CTX": "i32/16", "qk_scale": "fp32"}
    return sig(ref_fwd, types, {"BM": bm, "BN": bn, "D": d})


def ref_dkdv_src(d, bn, bm):
    types = {n: PTR_BF for n in ("Q", "K", "V", "DO", "DK", "DV")}
    types.update({"L": PTR_F32, "DL": PTR_F32, "stride_m": "i32/16", "N_CTX": "i32/16", "qk_scale": "fp32", "sm_scale": "fp32"})
    return sig(ref_dkdv, types, {"BN": bn, "BM": bm, "D": d})


def configs():
    """(name, source, warps, stages). The descriptor's choice (src/kernels/gpu/triton_ranges.ts) is
    marked '*'; 64:8 heads pack 8 query heads: 16 tokens x 8 heads = 128 rows."""
    out = []
    for d in (128, 64):
        subn = 64 if d > 64 else 128  # descriptor fwdSubN
        out += [
            (f"fwd d{d} pack8 128x{subn} w8 s3 *", fwd_src(d, 8, 16, 128, subn), 8, 3),
            (f"fwd d{d} pack8 128x{subn} w8 s3 bands x4", fwd_src(d, 8, 16, 128, subn, 4), 8, 3),
            (f"fwd d{d} pack8 128x{subn} w8 s2 depth", fwd_src(d, 8, 16, 128, subn), 8, 2),
            (f"fwd d{d} pack8 128x{subn} w8 s4 depth", fwd_src(d, 8, 16, 128, subn), 8, 4),
            (f"fwd d{d} pack8 128x{subn} w4 s3", fwd_src(d, 8, 16, 128, subn), 4, 3),
            (f"fwd d{d} pack8 128x{128 if subn == 64 else 64} w8 s3", fwd_src(d, 8, 16, 128, 128 if subn == 64 else 64), 8, 3),
            (f"fwd d{d} pack1 128x{subn} w8 s3", fwd_src(d, 1, 128, 128, subn), 8, 3),
            (f"ref_fwd d{d} 128x{subn} w8 s3", ref_fwd_src(d, 128, subn), 8, 3),
            (f"ref_fwd d{d} 128x{subn} w4 s3", ref_fwd_src(d, 128, subn), 4, 3),
            (f"dkdv d{d} pack8 kb64 subm64 w4 s2{'' if d > 64 else ' *'}", dkdv_src(d, 8, 16, 128, 64, 64, 0), 4, 2),
            (f"dkdv d{d} pack8 kb64 subm64 w4 s2 atomic", dkdv_src(d, 8, 16, 128, 64, 64, 1), 4, 2),
            (f"dkdv d{d} pack8 kb128 subm64 w8 s2", dkdv_src(d, 8, 16, 128, 128, 64, 0), 8, 2),
            (f"dkdv d{d} pack8 kb64 subm32 w4 s2", dkdv_src(d, 8, 16, 128, 64, 32, 0), 4, 2),
            (f"dkdv d{d} pack8 kb128 subm32 w8 s2{' *' if d > 64 else ''}", dkdv_src(d, 8, 16, 128, 128, 32, 0), 8, 2),
            (f"dkdv d{d} pack8 kb128 subm32 w8 s2 bands x4", dkdv_src(d, 8, 16, 128, 128, 32, 0, 4), 8, 2),
            (f"dkdv d{d} pack8 kb128 subm32 w8 s3", dkdv_src(d, 8, 16, 128, 128, 32, 0), 8, 3),
            (f"dkdv d{d} pack8 kb128 subm32 w8 s2 atomic", dkdv_src(d, 8, 16, 128, 128, 32, 1), 8, 2),
            (f"dkdv d{d} pack8 kb64 subm64 w8 s2", dkdv_src(d, 8, 16, 128, 64, 64, 0), 8, 2),
            (f"dkdv d{d} pack8 kb64 subm32 w8 s2", dkdv_src(d, 8, 16, 128, 64, 32, 0), 8, 2),
            (f"dkdv d{d} pack1 kb128 subm32 w8 s2{'' if d > 64 else ' *'}", dkdv_src(d, 1, 128, 128, 128, 32, 0), 8, 2),
            (f"dkdv d{d} pack1 kb128 subm16 w8 s2{' *' if d > 64 else ''}", dkdv_src(d, 1, 128, 128, 128, 16, 0), 8, 2),
            (f"dkdv d{d} pack1 kb64 subm32 w8 s2", dkdv_src(d, 1, 128, 128, 64, 32, 0), 8, 2),
            (f"dkdv d{d} pack1 kb64 subm64 w4 s2", dkdv_src(d, 1, 128, 128, 64, 64, 0), 4, 2),
            (f"dkdv d{d} pack2 kb128 subm32 w8 s2", dkdv_src(d, 2, 64, 128, 128, 32, 0), 8, 2),
            (f"dkdv d{d} pack64 kb128 subm64 w8 s2", dkdv_src(d, 64, 2, 128, 128, 64, 0), 8, 2),
            (f"ref_dkdv d{d} 64x64 w4 s2", ref_dkdv_src(d, 64, 64), 4, 2),
            (f"ref_dkdv d{d} 128x64 w8 s2", ref_dkdv_src(d, 128, 64), 8, 2),
            (f"dq d{d} pack8 128x64 w8 s2 *", dq_src(d, 8, 16, 128, 64), 8, 2),
            (f"dq d{d} pack8 128x64 w8 s2 bands x4", dq_src(d, 8, 16, 128, 64, 4), 8, 2),
            (f"dq d{d} pack8 128x64 w4 s2", dq_src(d, 8, 16, 128, 64), 4, 2),
            (f"dq d{d} pack8 128x32 w8 s2", dq_src(d, 8, 16, 128, 32), 8, 2),
        ]
        # split tiles (tuning.fwdSplit / dqSplit = 2): 64 rows per program, one warpgroup, so that
        # two programs fit an SM (registers <= 255 x 128 threads, shared memory <= 113 KB each)
        for sn in (64, 128):
            for st in (2, 3):
                out.append((f"fwd d{d} pack8 split2 64x{sn} w4 s{st}", fwd_src(d, 8, 16, 128, sn, split=2), 4, st))
        out += [(f"dq d{d} pack8 split2 64x64 w4 s2", dq_src(d, 8, 16, 128, 64, split=2), 4, 2),
                (f"dq d{d} pack8 split2 64x32 w4 s2", dq_src(d, 8, 16, 128, 32, split=2), 4, 2),
                (f"dq d{d} pack8 split2 64x64 w4 s3", dq_src(d, 8, 16, 128, 64, split=2), 4, 3)]
        # split backward lists (long key tiles over several programs, float32 partials + the ordered
        # reduction): the descriptor's dK/dV shapes (8:1 and 1:1 groups) with items, and the reduction
        wide = d > 64
        out += [
            (f"dkdv split-list d{d} pack8 kb{128 if wide else 64} subm{32 if wide else 64} w{8 if wide else 4} s{3 if wide else 2} *",
             dkdv_src(d, 8, 16, 128, 128 if wide else 64, 32 if wide else 64, 0, items=True), 8 if wide else 4, 3 if wide else 2),
            (f"dkdv split-list d{d} pack1 kb128 subm{16 if wide else 32} w8 s{3 if wide else 2} *",
             dkdv_src(d, 1, 128, 128, 128, 16 if wide else 32, 0, items=True), 8, 3 if wide else 2),
            (f"dkdv split-list atomic d{d} pack8 kb{128 if wide else 64} subm{32 if wide else 64} w{8 if wide else 4} s{3 if wide else 2}",
             dkdv_src(d, 8, 16, 128, 128 if wide else 64, 32 if wide else 64, 1, items=True), 8 if wide else 4, 3 if wide else 2),
            (f"dkdv_reduce d{d} 32 rows w4", reduce_src(d, 128, 32), 4, 1),
        ]
        # dK/dV of 64 keys in one warpgroup (two programs per SM if <= 255 registers and ~113 KB)
        out += [(f"dkdv d{d} pack8 kb64 subm16 w4 s{st}", dkdv_src(d, 8, 16, 128, 64, 16, 0), 4, st) for st in (2, 3)]
        # the persistent grid (tuning.persistent = 1): at the descriptor's steps, and at the smaller
        # steps its A/B variant takes where those spill ('P': scripts/device/issue13.sh PERSIST_D128 / _D64)
        kb, subm, w = (128, 32, 8) if d > 64 else (64, 64, 4)
        kb1, subm1 = (128, 16) if d > 64 else (128, 32)
        P = {True: " P", False: ""}
        out += [
            (f"fwd d{d} pack8 128x{subn} w8 s3 persistent{P[d > 64]}", fwd_src(d, 8, 16, 128, subn, persist=True), 8, 3),
            (f"fwd d{d} pack1 128x{subn} w8 s3 persistent{P[d > 64]}", fwd_src(d, 1, 128, 128, subn, persist=True), 8, 3),
            (f"dkdv d{d} pack8 kb{kb} subm{subm} w{w} s2 persistent", dkdv_src(d, 8, 16, 128, kb, subm, 0, persist=True), w, 2),
            (f"dkdv d{d} pack1 kb{kb1} subm{subm1} w8 s2 persistent P", dkdv_src(d, 1, 128, 128, kb1, subm1, 0, persist=True), 8, 2),
            (f"dq d{d} pack8 128x64 w8 s2 persistent{P[d == 64]}", dq_src(d, 8, 16, 128, 64, persist=True), 8, 2),
            (f"dq d{d} pack8 128x32 w8 s2 persistent{P[d > 64]}", dq_src(d, 8, 16, 128, 32, persist=True), 8, 2),
            (f"dkdv d{d} pack8 kb{kb} subm16 w{w} s2 persistent{P[d > 64]}", dkdv_src(d, 8, 16, 128, kb, 16, 0, persist=True), w, 2),
            (f"dkdv d{d} pack8 kb64 subm32 w8 s2 persistent", dkdv_src(d, 8, 16, 128, 64, 32, 0, persist=True), 8, 2),
            (f"dkdv d{d} pack1 kb64 subm16 w8 s2 persistent", dkdv_src(d, 1, 128, 128, 64, 16, 0, persist=True), 8, 2),
        ]
        if d == 64:
            out += [(f"dkdv d{d} pack8 kb128 subm32 w8 s2 persistent P", dkdv_src(d, 8, 16, 128, 128, 32, 0, persist=True), 8, 2),
                    (f"fwd d{d} pack8 128x64 w8 s3 persistent P", fwd_src(d, 8, 16, 128, 64, persist=True), 8, 3),
                    (f"fwd d{d} pack1 128x64 w8 s3 persistent P", fwd_src(d, 1, 128, 128, 64, persist=True), 8, 3)]
        # GQA groups that are not a power of two at the descriptor's tiles: 3 (42 tokens = 126 rows
        # padded to 128) and 5 (25 tokens = 125 rows); bounded dK/dV row steps (SUBM does not divide NR)
        for g in (3, 5):
            tq = 128 // g
            wide_steps = [] if d > 64 else [(f"fwd d{d} pack{g} ({tq} tok) 128x128 w8 s3", fwd_src(d, g, tq, 128, 128), 8, 3)]
            out += wide_steps + [
                (f"fwd d{d} pack{g} ({tq} tok) 128x64 w8 s3 *", fwd_src(d, g, tq, 128, 64), 8, 3),
                (f"dkdv d{d} pack{g} ({tq} tok) kb{kb} subm{subm} w{w} s2 *", dkdv_src(d, g, tq, 128, kb, subm, 0), w, 2),
                (f"dq d{d} pack{g} ({tq} tok) 128x64 w8 s2 *", dq_src(d, g, tq, 128, 64), 8, 2),
            ]
    # Seventh pass (call11): flex's Hopper d 128 backward shapes (torch 2.11 FlexBwDConfig(64, 128, 128, 64, 3, 8):
    # 64 query rows per dK/dV step over 128 keys, dQ over 128 rows x 64 keys, 8 warps, 3 stages, dQ and
    # dK/dV in one launch), and register caps (Triton's maxnreg) for more forward programs per SM
    out += [
        ("dq d128 pack8 128x64 w8 s3 call11", dq_src(128, 8, 16, 128, 64), 8, 3),
        ("dkdv d128 pack8 kb128 subm64 w8 s3 call11", dkdv_src(128, 8, 16, 128, 128, 64, 0), 8, 3),
        ("dkdv d128 pack8 kb64 subm64 w4 s3 call11", dkdv_src(128, 8, 16, 128, 64, 64, 0), 4, 3),
        ("bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s3 call11", fused_src(128, 8, 16, 128, 128, 32, 64), 8, 3),
        ("bwd fused split-list d128 pack8 kb128 subm32 + dq 128x64 w8 s3", fused_src(128, 8, 16, 128, 128, 32, 64, items=True), 8, 3),
        ("bwd fused split-list d128 pack1 kb128 subm16 + dq 128x64 w8 s3", fused_src(128, 1, 128, 128, 128, 16, 64, items=True), 8, 3),
        ("bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s2 call11", fused_src(128, 8, 16, 128, 128, 32, 64), 8, 2),
        ("bwd fused d128 pack8 kb128 subm64 + dq 128x64 w8 s3 call11", fused_src(128, 8, 16, 128, 128, 64, 64), 8, 3),
        ("ref_dkdv d128 128x64 w8 s3 call11", ref_dkdv_src(128, 128, 64), 8, 3),
        ("dkdv d128 pack8 kb128 subm64 part32 w8 s3 call11", dkdv_src(128, 8, 16, 128, 128, 64, 0, submp=32), 8, 3),
        ("dkdv d128 pack8 kb128 subm64 part16 w8 s3 call11", dkdv_src(128, 8, 16, 128, 128, 64, 0, submp=16), 8, 3),
        ("bwd fused d128 pack8 kb128 subm64 part32 + dq 128x64 w8 s3 call11", fused_src(128, 8, 16, 128, 128, 64, 64, submp=32), 8, 3),
        ("bwd fused d128 pack8 kb128 subm64 part16 + dq 128x64 w8 s3 call11", fused_src(128, 8, 16, 128, 128, 64, 64, submp=16), 8, 3),
        ("fwd d128 pack8 split2 64x64 w4 s3 call11", fwd_src(128, 8, 16, 128, 64, split=2), 4, 3),
        ("fwd d128 pack8 split2 64x64 w4 s2 maxnreg168 call11", fwd_src(128, 8, 16, 128, 64, split=2), 4, 2, {"maxnreg": 168}),
        ("fwd d128 pack8 split2 64x32 w4 s3 maxnreg168 call11", fwd_src(128, 8, 16, 128, 32, split=2), 4, 3, {"maxnreg": 168}),
        ("fwd d128 pack8 split2 64x32 w4 s3 call11", fwd_src(128, 8, 16, 128, 32, split=2), 4, 3),
        ("fwd d128 pack8 128x64 w8 s2 maxnreg128 call11", fwd_src(128, 8, 16, 128, 64), 8, 2, {"maxnreg": 128}),
        ("ref_fwd d128 128x64 w8 s2 maxnreg128 call11", ref_fwd_src(128, 128, 64), 8, 2, {"maxnreg": 128}),
    ]
    # Ninth pass (kernel2, call17): the gathered forward (fwdGather G: partial steps of <= G bands in
    # one pipelined loop; full tiles from an index list, or the runs loop with 'runs')
    for g in (1, 2):
        out += [(f"fwd gather{g} d128 pack8 128x64 w8 s3 call17", gather_src(128, 8, 16, 128, 64, g), 8, 3),
                (f"fwd gather{g} d128 pack8 split2 64x64 w4 s3 call17", gather_src(128, 8, 16, 128, 64, g, split=2), 4, 3),
                (f"fwd gather{g} runs d128 pack8 128x64 w8 s3 call17", gather_src(128, 8, 16, 128, 64, g, full=False), 8, 3),
                (f"fwd gather{g} runs d128 pack8 split2 64x64 w4 s3 call17", gather_src(128, 8, 16, 128, 64, g, full=False, split=2), 4, 3)]
    out += [("fwd gather2 d64 pack8 128x128 w8 s3 call17", gather_src(64, 8, 16, 128, 128, 2), 8, 3),
            ("fwd gather2 d128 pack1 128x64 w8 s3 call17", gather_src(128, 1, 128, 128, 64, 2), 8, 3)]
    # Ninth pass (call16): dK/dV reading LSE / DELTA packed [B, KV heads, S, pack] (tuning.bwdPackLse), at
    # the default 32-row steps and at flex's 64-row steps (partial tiles 16 / 32 rows), two launches and fused;
    # pack 1 (heads 4:4, 1:1) at 16 and 32 rows
    for pl in (False, True):
        tag = " plse" if pl else ""
        out += [
            (f"dkdv d128 pack8 kb128 subm32 w8 s3{tag} ninth", dkdv_src(128, 8, 16, 128, 128, 32, 0, plse=pl), 8, 3),
            (f"dkdv d128 pack8 kb128 subm64 part16 w8 s3{tag} ninth", dkdv_src(128, 8, 16, 128, 128, 64, 0, submp=16, plse=pl), 8, 3),
            (f"bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s3{tag} ninth", fused_src(128, 8, 16, 128, 128, 32, 64, plse=pl), 8, 3),
            (f"bwd fused d128 pack8 kb128 subm64 part16 + dq 128x64 w8 s3{tag} ninth",
             fused_src(128, 8, 16, 128, 128, 64, 64, submp=16, plse=pl), 8, 3),
            (f"bwd fused d128 pack8 kb128 subm64 part32 + dq 128x64 w8 s3{tag} ninth",
             fused_src(128, 8, 16, 128, 128, 64, 64, submp=32, plse=pl), 8, 3),
            (f"bwd fused split-list d128 pack8 kb128 subm64 part16 + dq 128x64 w8 s3{tag} ninth",
             fused_src(128, 8, 16, 128, 128, 64, 64, submp=16, items=True, plse=pl), 8, 3),
            (f"bwd fused d128 pack1 kb128 subm16 + dq 128x64 w8 s3{tag} ninth", fused_src(128, 1, 128, 128, 128, 16, 64, plse=pl), 8, 3),
            (f"bwd fused d128 pack1 kb128 subm32 part16 + dq 128x64 w8 s3{tag} ninth",
             fused_src(128, 1, 128, 128, 128, 32, 64, submp=16, plse=pl), 8, 3),
            (f"dkdv d64 pack8 kb64 subm64 w4 s2{tag} ninth", dkdv_src(64, 8, 16, 128, 64, 64, 0, plse=pl), 4, 2),
            # one stage deeper (the 3rd stage gave +11-16% in call10): 192 KB, still one program per SM
            (f"bwd fused d128 pack8 kb128 subm32 + dq 128x64 w8 s4{tag} ninth", fused_src(128, 8, 16, 128, 128, 32, 64, plse=pl), 8, 4),
        ]
    # Eleventh pass (call21): 64-row programs (heads 4:4 with 64-blocks: 64 tokens x 1 head, 64-key tiles). The
    # descriptor's 8 warps put 8 warps along M on 64 rows: both warpgroups compute the whole S (HGMMA.64x32 x16
    # per step instead of 64x64 x8) and its exp2; 4 warps (one warpgroup) do not, and fit 2 programs per SM
    out += [("fwd d128 pack1 (64 tok) 64x64 w8 s3 * eleventh", fwd_src(128, 1, 64, 64, 64), 8, 3),
            ("fwd d128 pack1 (64 tok) 64x64 w4 s3 eleventh", fwd_src(128, 1, 64, 64, 64), 4, 3),
            ("fwd gather2 d128 pack1 (64 tok) 64x64 w8 s3 eleventh", gather_src(128, 1, 64, 64, 64, 2), 8, 3),
            ("fwd gather2 d128 pack1 (64 tok) 64x64 w4 s3 eleventh", gather_src(128, 1, 64, 64, 64, 2), 4, 3),
            ("bwd fused d128 pack1 (64 tok) kb64 subm32 part16 + dq 64x64 w8 s3 plse * eleventh",
             fused_src(128, 1, 64, 64, 64, 32, 64, submp=16, plse=True), 8, 3),
            ("bwd fused d128 pack1 (64 tok) kb64 subm16 part16 + dq 64x32 w4 s3 plse eleventh",
             fused_src(128, 1, 64, 64, 64, 16, 32, submp=16, plse=True), 4, 3),
            ("dkdv d128 pack1 (64 tok) kb64 subm16 part16 w4 s3 plse eleventh", dkdv_src(128, 1, 64, 64, 64, 16, 0, submp=16, plse=True), 4, 3),
            ("dq d128 pack1 (64 tok) 64x32 w4 s3 eleventh", dq_src(128, 1, 64, 64, 32), 4, 3)]
    out += dims_configs()
    # the DELTA launch writing the packed LSE / DELTA copies (replaces two torch copies per backward)
    out += [(f"delta d128 pack{p}{' packed' if pk else ''} w4", delta_src(128, p, pk), 4, 1) for p, pk in ((8, False), (8, True), (1, True))]
    return out


def dims_configs():
    """Thirteenth pass (head dims, 'dims'): d 16 / 32 (the d 64 shapes), 80 / 96 (padded to 128 columns:
    the d 128 shapes, masked columns) and 192 / 256 (256 columns: smaller tiles). '*': the descriptor's
    choice (src/kernels/gpu/triton_ranges.ts rangesTuning); none of them measured on a GPU."""
    out = []
    for d in (16, 32):
        out += [(f"fwd d{d} pack8 128x128 w8 s3 * dims", fwd_src(d, 8, 16, 128, 128), 8, 3),
                (f"fwd d{d} pack1 128x128 w8 s3 * dims", fwd_src(d, 1, 128, 128, 128), 8, 3),
                (f"dkdv d{d} pack8 kb64 subm64 w4 s2 * dims", dkdv_src(d, 8, 16, 128, 64, 64, 0), 4, 2),
                (f"dkdv d{d} pack1 kb128 subm32 w8 s2 * dims", dkdv_src(d, 1, 128, 128, 128, 32, 0), 8, 2),
                (f"dq d{d} pack8 128x64 w8 s2 * dims", dq_src(d, 8, 16, 128, 64), 8, 2),
                (f"delta d{d} pack8 w4 dims", delta_src(d, 8, False), 4, 1)]
    for d in (80, 96):
        out += [(f"fwd d{d} pack8 128x64 w8 s3 * dims", fwd_src(d, 8, 16, 128, 64), 8, 3),
                (f"fwd d{d} pack1 128x64 w8 s3 * dims", fwd_src(d, 1, 128, 128, 64), 8, 3),
                (f"bwd fused d{d} pack8 kb128 subm64 part32 + dq 128x64 w8 s3 plse dims", fused_src(d, 8, 16, 128, 128, 64, 64, submp=32, plse=True), 8, 3),
                (f"bwd fused d{d} pack8 kb128 subm32 + dq 128x64 w8 s3 plse * dims", fused_src(d, 8, 16, 128, 128, 32, 64, plse=True), 8, 3),
                (f"bwd fused d{d} pack1 kb128 subm16 + dq 128x64 w8 s3 plse * dims", fused_src(d, 1, 128, 128, 128, 16, 64, plse=True), 8, 3),
                (f"dkdv d{d} pack8 kb128 subm32 w8 s3 plse dims", dkdv_src(d, 8, 16, 128, 128, 32, 0, plse=True), 8, 3),
                (f"dq d{d} pack8 128x64 w8 s2 dims", dq_src(d, 8, 16, 128, 64), 8, 2),
                (f"dkdv_reduce d{d} 32 rows w4 dims", reduce_src(d, 128, 32), 4, 1),
                (f"delta d{d} pack8 packed w4 dims", delta_src(d, 8, True), 4, 1)]
    # 256 columns (d 256, and 192 padded): the descriptor's choice, and what was tried against it
    for d in (256, 192):
        out += [(f"fwd d{d} pack8 128x32 w8 s3 * dims", fwd_src(d, 8, 16, 128, 32), 8, 3),
                (f"fwd d{d} pack1 128x32 w8 s3 * dims", fwd_src(d, 1, 128, 128, 32), 8, 3),
                (f"dkdv dV d{d} pack8 kb64 subm16 w8 s2 plse * dims", dkdv_src(d, 8, 16, 128, 64, 16, 0, plse=True, out=1), 8, 2),
                (f"dkdv dK d{d} pack8 kb64 subm16 w8 s2 plse * dims", dkdv_src(d, 8, 16, 128, 64, 16, 0, plse=True, out=2), 8, 2),
                (f"dkdv dK d{d} pack1 kb64 subm16 w8 s2 plse * dims", dkdv_src(d, 1, 128, 128, 64, 16, 0, plse=True, out=2), 8, 2),
                (f"dkdv split-list dK d{d} pack8 kb64 subm16 w8 s2 plse * dims", dkdv_src(d, 8, 16, 128, 64, 16, 0, plse=True, out=2, items=True), 8, 2),
                (f"dq d{d} pack8 128x16 w8 s2 * dims", dq_src(d, 8, 16, 128, 16), 8, 2),
                (f"dkdv_reduce d{d} 32 rows w4 * dims", reduce_src(d, 128, 32), 4, 1),
                (f"delta d{d} pack8 packed w4 * dims", delta_src(d, 8, True), 4, 1)]
    out += [("fwd d256 pack8 128x64 w8 s2 dims", fwd_src(256, 8, 16, 128, 64), 8, 2),
            ("fwd d256 pack8 128x32 w8 s2 dims", fwd_src(256, 8, 16, 128, 32), 8, 2),
            ("fwd d256 pack8 64x32 w4 s3 dims", fwd_src(256, 8, 8, 128, 32), 4, 3),
            ("dkdv d256 pack8 kb64 subm16 w8 s2 plse dims", dkdv_src(256, 8, 16, 128, 64, 16, 0, plse=True), 8, 2),
            ("dkdv d256 pack8 kb64 subm32 w8 s2 plse dims", dkdv_src(256, 8, 16, 128, 64, 32, 0, plse=True), 8, 2),
            ("dkdv d256 pack8 kb32 subm16 w4 s2 plse dims", dkdv_src(256, 8, 16, 128, 32, 16, 0, plse=True), 4, 2),
            ("dkdv dK d256 pack8 kb64 subm32 w8 s2 plse dims", dkdv_src(256, 8, 16, 128, 64, 32, 0, plse=True, out=2), 8, 2),
            ("dkdv dV d256 pack8 kb64 subm32 w8 s2 plse dims", dkdv_src(256, 8, 16, 128, 64, 32, 0, plse=True, out=1), 8, 2),
            ("dq d256 pack8 128x32 w8 s2 dims", dq_src(256, 8, 16, 128, 32), 8, 2),
            ("dq d256 pack8 64x32 w8 s2 dims", dq_src(256, 8, 8, 128, 32), 8, 2)]
    return out


def per_sm(regs, warps, smem):
    """Programs of this kernel one Hopper SM holds at once: 64K registers (allocated per warp in
    units of 256), 228 KB of shared memory (1 KB of it reserved per program), 64 warps."""
    per_warp = -(-regs * 32 // 256) * 256
    return min(65536 // (per_warp * warps), 233472 // (smem + 1024), 64 // warps)


def ptxas_v(ptx):
    with tempfile.TemporaryDirectory() as t:
        p = os.path.join(t, "k.ptx")
        with open(p, "w") as f:
            f.write(ptx)
        r = subprocess.run([os.path.join(BIN, "ptxas"), "-v", "--gpu-name=sm_90a", p, "-o", os.path.join(t, "k.cubin")],
                           capture_output=True, text=True, check=True)
    log = r.stderr + r.stdout
    regs = int(re.search(r"Used (\d+) registers", log).group(1))
    st = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log)
    return regs, int(st.group(1)), int(st.group(2)), log


def sass_mma(cubin):
    with tempfile.TemporaryDirectory() as t:
        p = os.path.join(t, "k.cubin")
        with open(p, "wb") as f:
            f.write(cubin)
        sass = subprocess.run([os.path.join(BIN, "cuobjdump"), "-sass", p], capture_output=True, text=True, check=True).stdout
    return len(re.findall(r"\bHGMMA\.", sass)), len(re.findall(r"\bHMMA\.", sass)), sass


def loop_spills(sass):
    """Spill instructions (STL / LDL) inside an innermost loop of the SASS (the step loops): between a
    backward branch's target and the branch, for loops that hold no other loop. Spills outside them
    (saved before the loops, reloaded per run or for the final stores) cost per program or run, not per step."""
    code = [(int(a, 16), t) for a, t in re.findall(r"/\*([0-9a-f]{4,})\*/\s+([^;]*);", sass)]
    loops = [(int(m.group(1), 16), a) for a, t in code for m in [re.search(r"\bBRA\s+(?:`\()?0x([0-9a-f]+)", t)] if m and int(m.group(1), 16) < a]
    inner = [(lo, hi) for lo, hi in loops if not any((lo, hi) != (l2, h2) and lo <= l2 and h2 <= hi for l2, h2 in loops)]
    return sum(1 for a, t in code if re.search(r"\b(?:STL|LDL)\b", t) and any(lo <= a <= hi for lo, hi in inner))



def dump_asm(dirname, name, k, sass):
    """The compiled kernel's TTGIR, PTX and SASS as <dirname>/<name>.{ttgir,ptx,sass}."""
    os.makedirs(dirname, exist_ok=True)
    stem = os.path.join(dirname, re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_"))
    for ext, text in (("ttgir", k.asm["ttgir"]), ("ptx", k.asm["ptx"]), ("sass", sass)):
        with open(f"{stem}.{ext}", "w") as f:
            f.write(text)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--dump", default="", help="folder to write each kernel's ttgir / ptx / sass")
    ap.add_argument("--json", default="", help="also write the rows as JSON to this file")
    a = ap.parse_args()
    rows = []
    print("| kernel, config (* = descriptor's choice) | regs/thread | spill st/ld (bytes) | smem (bytes) | programs/SM | HGMMA | HMMA | ring buffers | atomics |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, src, warps, stages, *extra in configs():
        if a.only and not any(o in name for o in a.only.split(",")):
            continue
        try:
            k = triton.compile(src, target=TARGET, options={"num_warps": warps, "num_stages": stages, **(extra[0] if extra else {})})
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"| {name} | compile failed: {str(e).splitlines()[0][:120]} | | | | | | | |", flush=True)
            rows.append({"name": name, "error": str(e).splitlines()[0][:300]})
            continue
        regs, sst, sld, _ = ptxas_v(k.asm["ptx"])
        hg, hm, sass = sass_mma(k.asm["cubin"])
        if a.dump:
            dump_asm(a.dump, name, k, sass)
        piped = len(re.findall(r"ttg\.local_alloc : \(\) -> !ttg\.memdesc<\d+x", k.asm["ttgir"]))
        kv = len(re.findall(r"ttg\.local_alloc : \(\) -> !ttg\.memdesc<\d+x\d+x\d+xbf16", k.asm["ttgir"]))  # K/V tile rings (not scalars)
        atomics = len(re.findall(r"^\s*(?:@%p\d+\s+)?(?:atom|red)\.", k.asm["ptx"], re.M))  # PTX atomics (none: deterministic)
        sm = per_sm(regs, warps, k.metadata.shared)
        kvs = f" ({kv} K/V)" if kv != piped else ""
        shapes = {}  # HGMMA instruction shapes (MxNxK) in the SASS: e.g. 64x32x16 where two warpgroups split a 64-row S
        for m in re.findall(r"\bHGMMA\.(\d+x\d+x\d+)", sass):
            shapes[m] = shapes.get(m, 0) + 1
        inloop = loop_spills(sass) if sst + sld else 0
        rows.append({"name": name, "regs": regs, "spillStores": sst, "spillLoads": sld, "loopSpills": inloop, "smem": k.metadata.shared, "perSm": sm, "hgmma": hg,
                     "hmma": hm, "rings": piped, "kvRings": kv, "atomics": atomics, "hgmmaShapes": shapes})
        spills = f"{sst} / {sld}" + (f" ({inloop} in step loops)" if sst + sld else "")
        print(f"| {name} | {regs} | {spills} | {k.metadata.shared} | {sm} | {hg} | {hm} | {piped}{kvs} | {atomics} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
