"""`python3 -m attnbench_worker validate FILE...`: checks job files the TypeScript side wrote
without running anything (standard library only): kernel jobs (`jobs.jsonl`, protocol.validate_job)
and CP job folders (`index.json` or manifests, cp/manifest.validate_manifest), reading every binary
array they reference. Prints one JSON summary; exit 0 when everything is valid, else 2.
src/contract/contract.test.ts runs it on files the real TypeScript writers produce."""

import json
import os

from . import arrays, protocol


def _refs(v):
    if arrays.is_array_ref(v):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from _refs(x)
    elif isinstance(v, list):
        for x in v:
            yield from _refs(x)


def _load_all(doc, base):
    n = 0
    for ref in _refs(doc):
        arrays.load_list(ref, base)
        n += 1
    return n


def validate_jobs_file(path):
    out = []
    base = os.path.dirname(os.path.abspath(path))
    from .filemode import check_input_file

    check_input_file(path)
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            try:
                job = json.loads(line)
            except json.JSONDecodeError as e:
                out.append({"file": path, "line": i + 1, "id": None, "ok": False, "error": f"malformed JSON ({e.msg})"})
                continue
            job = job.get("job", job) if isinstance(job, dict) and job.get("type") == "job" else job
            item = {"file": path, "line": i + 1, "id": job.get("id") if isinstance(job, dict) else None}
            try:
                protocol.validate_job(job)
                item.update(ok=True, arrays=_load_all(job, job.get("baseDir") or base))
            except (protocol.JobError, arrays.ArrayError) as e:
                item.update(ok=False, error=str(e))
            out.append(item)
    return out


def validate_cp(path):
    from .cp import manifest

    out = []
    for p in manifest.expand_paths([path]):
        item = {"file": p}
        try:
            doc = manifest.load_manifest(p)
            item.update(ok=True, id=doc["case"]["id"], arrays=_load_all({k: v for k, v in doc.items() if not k.startswith("_")}, doc["_base"]))
        except (manifest.ManifestError, arrays.ArrayError) as e:
            item.update(ok=False, error=str(e))
        out.append(item)
    return out


def validate(paths):
    items = []
    for p in paths:
        items.extend(validate_jobs_file(p) if p.endswith(".jsonl") else validate_cp(p))
    print(json.dumps({"ok": all(x["ok"] for x in items), "items": items}))
    return 0 if items and all(x["ok"] for x in items) else 2
