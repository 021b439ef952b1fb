"""Dev tool for triton_ranges (issue 13): time tuning variants and the other kernels of one plan, in one process.

    python3 scripts/device/ranges_tune.py PLAN_DIR [--variants JSON] [--check] [--iters N] [--out FILE [--resume]]

PLAN_DIR is what `attnbench kernels ... --plan-dir PLAN_DIR` wrote (jobs of triton_ranges and of
other kernels). Every triton_ranges job runs once per variant (a dict merged over the job's
args.tuning); other kernels' jobs run once. Timing is the harness's (torch_exec.time_cuda, L2
flushed before each call, median). --check also compares with the float32 reference (S <= 8k).
Prints one JSON line per run and, last, a table: per case, each variant's ms and TFLOP/s and its
ratio to flex and sdpa_cudnn of the same case. --resume skips the runs --out already holds (a
device call cut short goes on in the next one); the table covers this call's runs only, so every
ratio is between runs of one call.
"""

import argparse
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import torch  # noqa: E402

from attnbench_worker import kernels, protocol  # noqa: E402
from attnbench_worker.filemode import read_jobs  # noqa: E402
from attnbench_worker.stats import quantile  # noqa: E402
from attnbench_worker.torch_exec import Ctx, check_errors, classify, flush_buffer, prepare, time_cuda  # noqa: E402


def case_of(job):
    s = job["shape"]
    # ids: <suite>:<kernel>:<family>:<params>:seed..|dir|executor (src/results/ids.ts)
    parts = job["id"].split("|")[0].split(":")
    fam, params = parts[2], parts[3]
    return f"{fam}/{s['seqlenQ']}/{s['headsQ']}:{s['headsKv']}/d{s['headDim']}/{job['direction']}" + (f"/{params}" if params != "-" else "")


def area_of(ctx):
    """Unmasked pairs averaged over the mask heads, from the bands (q0, q1, k0, k1, lo, hi)."""
    tot = 0
    for b in ctx.bands:
        if b.numel() == 0:
            continue
        n = (b[:, 1] - b[:, 0]).clamp(min=0)
        rows = torch.repeat_interleave(torch.arange(b.shape[0]), n)
        start = torch.repeat_interleave(b[:, 0], n)
        i = start + (torch.arange(int(n.sum())) - torch.repeat_interleave(torch.cumsum(n, 0) - n, n))
        lo = torch.maximum(b[rows, 2], i + b[rows, 4])
        hi = torch.minimum(b[rows, 3], i + b[rows, 5] + 1)
        tot += int((hi - lo).clamp(min=0).sum())
    return tot / len(ctx.bands)


def lse_error(ctx, q0, k0, v0):
    """Max abs error of triton_ranges' lse (natural log) against float32, per head (S <= 8k)."""
    from attnbench_worker.kernels import triton_ranges as tr
    args = {k: ctx.arg(k) for k in ("heads", "tileQ", "tileK", "tuning", "bands", "fwd", "bwd")}
    ls = tr.Lists(args, ctx.hq, ctx.hkv, ctx.d, ctx.device)
    q, k, v = (x.transpose(1, 2).contiguous() for x in (q0, k0, v0))
    _, lse2 = tr.forward(q, k, v, ls, ctx.scale)
    lse = torch.where(torch.isinf(lse2), torch.full_like(lse2, float("-inf")), lse2 * tr.LN2)[0]  # [S, Hq]
    worst = 0.0
    sm = ctx.slice_mask
    kk = torch.arange(ctx.sk, device=ctx.device)
    qq = torch.arange(ctx.sq, device=ctx.device)
    for h in range(ctx.hq):
        mh = h // ctx.group if len(ctx.bands) > 1 else 0
        m = sm.predicate(mh, qq[:, None], kk[None, :])
        s = (q0[0, h].float() @ k0[0, h // ctx.group].float().T) * ctx.scale
        ref = torch.logsumexp(s.masked_fill(~m, float("-inf")), dim=1)
        both_inf = torch.isinf(ref) & torch.isinf(lse[:, h])
        d = (ref - lse[:, h].float()).abs().masked_fill(both_inf, 0.0)
        worst = max(worst, float(d.max()))
    return worst


def run_one(job, base, iters, check, flops):
    mod = kernels.load(job["kernel"])
    ctx = Ctx(job, base, torch.device("cuda"))
    t0 = time.time()
    rec = {"case": case_of(job), "kernel": job["kernel"]}
    if flops is None:
        f = 4 * area_of(ctx) * ctx.hq * ctx.d
        flops = f * 2.5 if job["direction"] == "bwd" else f
    try:
        call, prep, q0, k0, v0 = prepare(ctx, mod)
        rec["firstMs"] = prep.setup()
        if check and max(ctx.sq, ctx.sk) <= 8192:
            rec["error"] = check_errors(ctx, call, q0, k0, v0)
            if job["kernel"] == "triton_ranges" and job["direction"] == "fwd":
                rec["lseMaxAbs"] = lse_error(ctx, q0, k0, v0)
        flush = flush_buffer(ctx.device)
        ms = quantile(time_cuda(prep.timed, 5, iters, flush), 0.5)
        torch.cuda.reset_peak_memory_stats()
        base_mem = torch.cuda.memory_allocated()
        prep.timed()
        torch.cuda.synchronize()
        rec.update(ms=ms, tflops=flops / ms / 1e9 if flops else None, peakGiB=(torch.cuda.max_memory_allocated() - base_mem) / 2**30,
                   notes=call.notes)
        del prep, flush, call
    except Exception as e:  # noqa: BLE001 - report and go on
        rec["status"], rec["message"], _ = classify(e)
    rec["wallS"] = round(time.time() - t0, 1)
    ctx._args.clear()
    torch.cuda.empty_cache()
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--variants", default="[{}]")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--out")
    ap.add_argument("--only", default="", help="comma-separated substrings of case ids to keep")
    ap.add_argument("--resume", action="store_true", help="skip (case, kernel, variant) runs that --out already holds")
    a = ap.parse_args()
    variants = json.loads(a.variants)
    jobs = read_jobs(os.path.join(a.plan, "jobs.jsonl"))
    only = [s for s in a.only.split(",") if s]
    done = set()
    if a.resume and a.out:
        from attnbench_worker.jsonl import iter_records
        done = {(r.get("case"), r.get("kernel"), r.get("variant")) for r in iter_records(a.out)}
    call_id = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # ratios only between runs of one call
    out = open(a.out, "a") if a.out else None
    table = {}
    for job in jobs:
        if only and not any(s in job["id"] for s in only):
            continue
        protocol.validate_job(job)
        flops = None
        runs = [(json.dumps(v, separators=(",", ":")), v) for v in variants] if job["kernel"] == "triton_ranges" else [("", None)]
        for name, v in runs:
            if (case_of(job), job["kernel"], name) in done:
                print(f"(resumed: {case_of(job)} {job['kernel']} {name} is in {a.out})", flush=True)
                continue
            j = copy.deepcopy(job)
            if v:
                j["mask"]["args"]["tuning"] = {**j["mask"]["args"].get("tuning", {}), **v}
            rec = run_one(j, a.plan, a.iters, a.check, flops)
            rec["variant"] = name
            rec["call"] = call_id
            line = json.dumps(rec)
            print(line, flush=True)
            if out:
                out.write(line + "\n")
                out.flush()
            table.setdefault(rec["case"], []).append(rec)
    print("\n| case | kernel | variant | ms | TFLOP/s | x flex | x sdpa_cudnn | max err (out, dq, dk, dv) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for case, recs in table.items():
        ref = {r["kernel"]: r.get("ms") for r in recs if r["kernel"] != "triton_ranges"}
        for r in recs:
            ms = r.get("ms")
            rat = lambda k: f"{ref[k] / ms:.2f}" if ms and ref.get(k) else "-"  # noqa: E731
            err = r.get("error") or {}
            errs = ",".join(f"{(err.get(k) or {}).get('maxAbs', float('nan')):.3g}" for k in ("out", "dq", "dk", "dv") if k in err)
            if errs:
                errs += f" tol {'FAIL' if err.get('exceedsTolerance') else 'ok'}" + (f" lse {r['lseMaxAbs']:.3g}" if "lseMaxAbs" in r else "")
            tf = r.get("tflops")
            print(f"| {case} | {r['kernel']} | {r['variant']} | {ms if ms is None else round(ms, 3)} | {'-' if tf is None else round(tf)} | "
                  f"{rat('flex')} | {rat('sdpa_cudnn')} | {errs or r.get('message', '')[:80]} |")


if __name__ == "__main__":
    main()
