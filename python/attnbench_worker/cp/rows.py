"""Result rows of CP cases (src/results/schema.ts, suite `cp`, executor `torch`)."""


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
