"""The measurement record of one CP case and direction: what this executor measured, nothing
derived. TypeScript turns records into result rows (src/cp/torch/rows.ts: ids, FLOPs, TFLOP/s,
per-rank FLOPs and bytes from the manifest), as it does for the kernel worker's results.

    {"record": "cp.measurement", "version": 1, "case": <manifest case id>, "direction": "fwd",
     "mode": "virtual" | "dist", "tag": "virtual<P>" | "dist-<backend>", "device": "cuda" | "cpu",
     "kernel": <the partial kernel that ran, resolved: never "auto">, "dtype": <executed dtype>,
     "status": <shared status>,
     "message": <one line or null>, "ranks": [{"medianMs", "p20Ms", "p80Ms", "samples"}, ...] (rank
     order) or null, "compileMs": <first run, ms, or null>, "memory": {...} | null,
     "error": {...} | null, "notes": [...], "env": {...}}
"""

from ..jsonl import iter_records

RECORD = "cp.measurement"
VERSION = 1


def mode_tag(case, opts):
    return f"virtual{case['world']}" if opts.mode == "virtual" else f"dist-{opts.backend}"


def record_key(case_id, direction, tag, device, kernel):
    """What --resume compares (the TypeScript row id holds the same five parts, src/results/case-id.ts).
    `kernel` is the resolved partial kernel (partial.resolve_kernel_name: never 'auto'): one job
    folder and its raw records serve runs with different --kernel, and each kernel is its own case."""
    return (case_id, direction, tag, device, kernel)


def make_record(doc, direction, opts, env, kernel_name, status, message=None, per_rank=None, error=None, memory=None,
                compile_ms=None, notes=()):
    case = doc["case"]
    return {
        "record": RECORD, "version": VERSION, "case": case["id"], "direction": direction, "mode": opts.mode,
        "tag": mode_tag(case, opts), "device": opts.device.type, "kernel": kernel_name,
        "dtype": opts.dtype or case["dtype"], "status": status, "message": message,
        "ranks": [dict(t) for t in per_rank] if per_rank else None, "compileMs": compile_ms, "memory": memory,
        "error": error, "notes": list(notes), "env": env,
    }


def finished_ids(path):
    """Keys (record.record_key) of ok measurement records in a result file (for --resume); a
    missing file has none, a line cut short by a killed run is skipped."""
    return {record_key(r.get("case"), r.get("direction"), r.get("tag"), r.get("device"), r.get("kernel"))
            for r in iter_records(path) if r.get("status") == "ok" and "case" in r}
