"""Dry run and summary for scripts/device/issue13.sh (issue 13). Standard library only: runs on the
CPU machine (no torch) and on the device machine.

    python3 scripts/device/issue13_plan.py PLAN_DIR --name N --budget S --kind kern|tune|ncu [--variants JSON]
        the cases `attnbench kernels ... --plan-dir PLAN_DIR` planned (jobs.jsonl; the mask slices
        read from its arrays file for the unmasked area) and a rough time estimate against the
        step's budget
    python3 scripts/device/issue13_plan.py --summary STAMP_FILE ROWS.jsonl...
        the rows written after STAMP_FILE's mtime: case, kernel, status, ms, TFLOP/s (the call's last table)

The estimate is a model, not a measurement: per job a fixed cost (worker start-up share, inputs,
L2 flushes, the tolerance check when S <= 8k), plus (warm-up + timed calls) x FLOPs / an assumed
rate (forward 300, backward 150 TFLOP/s: below flex on causal at 32k, issue 13), plus one compile
per kernel and shape class, fitted to the H100 calls 8 and 10 (below). It says whether a step
plausibly fits its budget; the GPU decides.
"""

import argparse
import collections
import datetime
import json
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from attnbench_worker.jsonl import iter_records  # noqa: E402

RATE = {"fwd": 300e12, "bwd": 150e12}
# Per-run costs, re-fitted (2026-12-05, seventh pass) to the H100 calls 8 and 10, whose tune steps
# the old constants (2.5 s fixed, 4 s check, compiles 6 / 15 s) over-estimated 3-7x: check_split
# took 18 s (estimate 102), ab_fwd32k 43 s (159), ab_bwd32k_occ 123 s (294; the commands log's
# timestamps). The rows' firstMs (first call, compile included): triton_ranges forward 0.9-2.6 s,
# backward 0.7-8.5 s; flex 1.7-5.7 s per shape (its wallS up to 17 s with the timing).
FIXED_S = 0.5
CHECK_S = 1.0  # the float32 reference and the error check at S <= 8k
# First compile per kernel and shape class, counted per step (an upper bound: Triton's cache keeps
# a call's compiles for its later steps). triton_ranges: one kernel forward, three backward (one
# when fused); flex: torch.compile of flex_attention.
COMPILE_S = {"triton_ranges": {"fwd": 2.5, "bwd": 6.0}, "flex": {"fwd": 10.0, "bwd": 15.0}}


def read_ints(ref, base):
    """An int32 array (ArrayRef: path, offset, nbytes, encoding raw | zlib) as a list."""
    path = ref["path"] if os.path.isabs(ref["path"]) else os.path.join(base, ref["path"])
    with open(path, "rb") as f:
        f.seek(ref["offset"])
        data = f.read(ref["nbytes"])
    if ref.get("encoding") == "zlib":
        data = zlib.decompress(data)
    return list(struct.unpack(f"<{len(data) // 4}i", data))


def sum_clamp(n, c, m):
    """sum over i in [0, n) of min(m, max(0, i + c)), in O(1)."""
    a, b = max(0, 1 - c), min(n, m - c)
    mid = (b - a) * (2 * c + a + b - 1) // 2 if b > a else 0
    return mid + max(0, n - max(0, m - c)) * m


def slice_area(q0, q1, k0, k1, kind):
    """Unmasked pairs of one slice (SPEC kinds: 0 full, 1 causal bottom-right, 2 invcausal top-left,
    3 bicausal); a causal and an invcausal slice of one rectangle have the same area."""
    nq, nk = q1 - q0, k1 - k0
    if nq <= 0 or nk <= 0:
        return 0
    if kind == 0:
        return nq * nk
    if kind in (1, 2):
        return sum_clamp(nq, nk - nq + 1, nk)
    return nq * (nk - nq + 1) if nk >= nq else 0


def job_area(job, base):
    """Unmasked pairs averaged over the mask heads, from the job's slices."""
    areas = []
    for h in job["slices"]:
        q = read_ints(h["qRanges"], base)
        k = read_ints(h["kRanges"], base)
        t = read_ints(h["types"], base)
        areas.append(sum(slice_area(q[2 * i], q[2 * i + 1], k[2 * i], k[2 * i + 1], t[i]) for i in range(len(t))))
    return sum(areas) / max(1, len(areas))


def plan(a):
    base = a.plan
    with open(os.path.join(base, "jobs.jsonl")) as f:
        jobs = [json.loads(line) for line in f if line.strip()]
    only = [x for x in (a.only or "").split(",") if x]  # ranges_tune.py --only: case-id substrings to keep
    jobs = [j for j in jobs if not only or any(x in j["id"] for x in only)]
    variants = len(json.loads(a.variants)) if a.variants else 1
    groups = collections.OrderedDict()
    compiled = set()
    total = 0.0
    for j in jobs:
        s = j["shape"]
        fam = j["id"].split("|")[0].split(":")[2]
        area = job_area(j, base)
        flops = 4 * area * s["headsQ"] * s["headDim"] * (2.5 if j["direction"] == "bwd" else 1.0)
        runs = variants if j["kernel"] == "triton_ranges" else 1
        t = j["timing"]
        calls = (5 + a.iters) if a.iters else (t["warmup"] + t["iters"])  # ranges_tune.py: 5 warm-ups
        est = runs * (FIXED_S + calls * flops / RATE[j["direction"]])
        if max(s["seqlenQ"], s["seqlenK"]) <= j["check"]["upTo"]:
            est += CHECK_S * runs
        key = (j["kernel"], j["direction"], s["headsQ"], s["headsKv"], s["headDim"], j["mask"]["format"])
        if key not in compiled:
            compiled.add(key)
            est += runs * COMPILE_S.get(j["kernel"], {}).get(j["direction"], 3.0)
        if a.kind == "ncu":
            est *= 2  # profiled replays of a few launches
        g = (j["kernel"], j["direction"], s["seqlenQ"], f"{s['headsQ']}:{s['headsKv']}", s["headDim"])
        e = groups.setdefault(g, {"n": 0, "fams": set(), "est": 0.0})
        e["n"] += 1
        e["fams"].add(fam)
        e["est"] += est
        total += est
    print(f"== {a.name} ({a.kind}): {len(jobs)} jobs" + (f" x {variants} variants of triton_ranges" if variants > 1 else "")
          + f"; estimate {total:.0f} s of a {a.budget} s budget" + ("  ** over its budget: cut short there, it resumes when the call runs again **" if total > a.budget else ""))
    for (k, d, sq, heads, hd), e in groups.items():
        fams = ",".join(sorted(e["fams"]))
        print(f"   {k:14s} {d} S={sq:<8d} {heads:6s} d{hd}: {e['n']:3d} jobs ~{e['est']:.0f}s  [{fams[:110]}]")
    return total


def summary(stamp, files):
    since = datetime.datetime.fromtimestamp(os.path.getmtime(stamp), datetime.timezone.utc) if os.path.exists(stamp) else None
    print("\n| case | kernel | status | ms | TFLOP/s | peak GiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in files:
        for r in iter_records(path):
            date = (r.get("env") or {}).get("date")
            if since and date:
                try:
                    if datetime.datetime.fromisoformat(date.replace("Z", "+00:00")) < since:
                        continue
                except ValueError:
                    pass
            ms = (r.get("times") or {}).get("medianMs")
            tf = r.get("tflops")
            mem = (r.get("memory") or {}).get("peakDeltaBytes")
            case = r.get("id", "?").split(":", 1)[-1]
            print(f"| {case[:60]} | {r.get('kernel')}{'/' + r['scheme'] if r.get('scheme') else ''} | {r.get('status')} | "
                  f"{'-' if ms is None else round(ms, 3)} | {'-' if tf is None else round(tf)} | {'-' if mem is None else round(mem / 2**30, 2)} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan", nargs="?")
    ap.add_argument("--name", default="step")
    ap.add_argument("--budget", type=float, default=540)
    ap.add_argument("--kind", default="kern")
    ap.add_argument("--variants", default="[{}]")
    ap.add_argument("--iters", type=int, default=0, help="timed calls of ranges_tune.py (tune steps; 0: the jobs' own)")
    ap.add_argument("--only", default="", help="ranges_tune.py --only (tune steps): comma-separated case-id substrings to keep")
    ap.add_argument("--summary", nargs="+", metavar=("STAMP", "ROWS"))
    a = ap.parse_args()
    if a.summary:
        summary(a.summary[0], a.summary[1:])
    elif a.plan:
        plan(a)
    else:
        ap.error("PLAN_DIR or --summary")


if __name__ == "__main__":
    sys.exit(main())
