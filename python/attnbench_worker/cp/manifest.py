"""CP job files (standard library only): the manifest one Plan becomes, its validation, and the
int32 arrays it references. Written by src/cp/torch/manifest.ts; the format is documented there
and in python/attnbench_worker/cp/README.md.

A manifest is one case (scheme x mask x world x shape) with every rank's program. An index file
(`{"format": "attnbench.cp.index", "manifests": [paths]}`) lists several, run in one launch.
"""

import json
import os

from ..arrays import ArrayError, is_array_ref, load_list, validate_ref
from ..tables import CP_INDEX_FORMAT as INDEX_FORMAT
from ..tables import CP_JOB_FORMAT as JOB_FORMAT
from ..tables import CP_JOB_VERSION as JOB_VERSION
from ..tables import DIRECTIONS, DTYPES
from .logic import COMM_KINDS, PlanError, STEP_KINDS, TENSORS, step_reads_writes

# The 'slices' format of src/mask/adapters (PROTOCOL.md: JobSlices).
SLICE_ARRAYS = ("qRanges", "kRanges", "types")


class ManifestError(ValueError):
    """A job file that does not follow the format: one line naming the file and the field."""


def _req(obj, key, where, types):
    if key not in obj or not isinstance(obj[key], types) or isinstance(obj[key], bool) and bool not in types:
        raise ManifestError(f"{where}.{key} is missing or has the wrong type")
    return obj[key]


def _range(v, where):
    if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v) and 0 <= v[0] <= v[1]):
        raise ManifestError(f"{where} must be a range [start, end] with 0 <= start <= end")
    return v


def expand_paths(paths):
    """Manifest paths from a mix of manifests and index files (relative entries resolve against
    the index's folder)."""
    out = []
    for p in paths:
        doc = _read_json(p)
        if isinstance(doc, dict) and doc.get("format") == INDEX_FORMAT:
            base = os.path.dirname(os.path.abspath(p))
            for m in doc.get("manifests", []):
                out.append(m if os.path.isabs(m) else os.path.join(base, m))
        else:
            out.append(p)
    return out


def _read_json(path):
    """The JSON document in a job file; a ManifestError naming the file when it is unreadable or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise ManifestError(f"cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None


def load_manifest(path):
    doc = _read_json(path)
    validate_manifest(doc, path)
    doc["_base"] = os.path.dirname(os.path.abspath(path))
    doc["_path"] = path
    return doc


def validate_manifest(doc, where="manifest"):
    if not isinstance(doc, dict) or doc.get("format") != JOB_FORMAT:
        raise ManifestError(f"{where}: not a CP job manifest (format must be {JOB_FORMAT!r})")
    if doc.get("version") != JOB_VERSION:
        raise ManifestError(f"{where}: manifest version {doc.get('version')!r}, this worker reads {JOB_VERSION}")
    case = _req(doc, "case", where, (dict,))
    for k in ("id", "scheme", "family", "dtype"):
        _req(case, k, f"{where}.case", (str,))
    for k in ("seqlen", "headsQ", "headsKv", "headDim", "world", "warmup", "iters", "checkUpTo", "inputSeed"):
        v = _req(case, k, f"{where}.case", (int,))
        if v < 0:
            raise ManifestError(f"{where}.case.{k} must be >= 0")
    if case["dtype"] not in DTYPES:
        raise ManifestError(f"{where}.case.dtype must be one of {', '.join(DTYPES)}")
    kernel = case.get("kernel", "auto")
    if not isinstance(kernel, str) or not kernel:
        raise ManifestError(f"{where}.case.kernel must be 'auto' or a kernel id with a partial-attention entry")
    tol = case.get("tolerance")
    if tol is not None and (not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol < 0):
        raise ManifestError(f"{where}.case.tolerance must be a number >= 0")
    if case["headsQ"] % max(case["headsKv"], 1):
        raise ManifestError(f"{where}.case: headsQ {case['headsQ']} is not a multiple of headsKv {case['headsKv']}")
    for d in case.get("directions", ["fwd", "bwd"]):
        if d not in DIRECTIONS:
            raise ManifestError(f"{where}.case.directions: unknown direction {d!r}")
    masks = _req(doc, "masks", where, (list,))
    for i, m in enumerate(masks):
        _mask_entry(m, f"{where}.masks[{i}]")
    _mask_entry(_req(doc, "mask", where, (dict,)), f"{where}.mask")
    groups = doc.get("groups", {})
    if not isinstance(groups, dict):
        raise ManifestError(f"{where}.groups must be an object")
    ranks = _req(doc, "ranks", where, (list,))
    if len(ranks) != case["world"]:
        raise ManifestError(f"{where}: {len(ranks)} rank programs for world {case['world']}")
    for r, prog in enumerate(ranks):
        _program(prog, r, len(masks), case, f"{where}.ranks[{r}]")
    return doc


def _mask_entry(m, where):
    if not isinstance(m, dict):
        raise ManifestError(f"{where} must be an object")
    for k in ("seqlenQ", "seqlenK"):
        _req(m, k, where, (int,))
    try:
        sl = _req(m, "slices", where, (dict,))
        for k in SLICE_ARRAYS:
            validate_ref(_req(sl, k, f"{where}.slices", (dict,)), f"{where}.slices.{k}")
        # Each kernel's ready arguments for this mask (src/cp/torch/partial-arrays.ts): arrays or numbers.
        per_kernel = m.get("arrays", {})
        if not isinstance(per_kernel, dict):
            raise ManifestError(f"{where}.arrays must be an object (kernel id -> arguments)")
        for kid, args in per_kernel.items():
            if not isinstance(args, dict):
                raise ManifestError(f"{where}.arrays.{kid} must be an object")
            for name, v in args.items():
                w = f"{where}.arrays.{kid}.{name}"
                if is_array_ref(v):
                    validate_ref(v, w)
                elif not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise ManifestError(f"{w} must be a binary array reference or a number")
    except ArrayError as e:
        raise ManifestError(str(e)) from None


def _program(prog, r, n_masks, case, where):
    if not isinstance(prog, dict) or prog.get("rank") != r:
        raise ManifestError(f"{where}: rank programs must be listed in rank order (expected rank {r})")
    for rg in _req(prog, "owned", where, (list,)):
        _range(rg, f"{where}.owned[]")
    bufs = _req(prog, "buffers", where, (dict,))
    for name, d in bufs.items():
        w = f"{where}.buffers.{name}"
        if d.get("tensor") not in TENSORS:
            raise ManifestError(f"{w}.tensor: unknown tensor kind {d.get('tensor')!r}")
        for rg in _req(d, "tokens", w, (list,)):
            _range(rg, f"{w}.tokens[]")
        hs = _range(_req(d, "heads", w, (list,)), f"{w}.heads")
        limit = case["headsQ"] if d["tensor"] in ("q", "o", "lse", "do", "dq") else case["headsKv"]
        if hs[1] > limit:
            raise ManifestError(f"{w}.heads {hs} exceeds the {limit} heads of its kind")
    world = case["world"]
    for phase in ("forward", "backward"):
        for i, st in enumerate(_req(prog, phase, where, (list,))):
            sw = f"{where}.{phase}[{i}]"
            if not isinstance(st, dict) or st.get("kind") not in STEP_KINDS:
                raise ManifestError(f"{sw}: unknown step kind {st.get('kind') if isinstance(st, dict) else st!r}")
            k = st["kind"]
            if k in ("attn", "attn_bwd"):
                mi = st.get("mask")
                if not isinstance(mi, int) or not 0 <= mi < n_masks:
                    raise ManifestError(f"{sw}.mask must index masks[] (0..{n_masks - 1})")
                _range(st.get("heads"), f"{sw}.heads")
            if k == "p2p":
                for op in _req(st, "ops", sw, (list,)):
                    if op.get("op") not in ("send", "recv") or not isinstance(op.get("peer"), int) or not 0 <= op["peer"] < world:
                        raise ManifestError(f"{sw}: p2p op needs op send|recv and a peer in 0..{world - 1}")
            if k in COMM_KINDS and k != "p2p":
                g = _req(st, "group", sw, (list,))
                if r not in g or any(not isinstance(x, int) or not 0 <= x < world for x in g):
                    raise ManifestError(f"{sw}.group {g} must hold this rank and ranks of 0..{world - 1}")
            try:
                reads, writes = step_reads_writes(st)
            except (KeyError, TypeError) as e:
                raise ManifestError(f"{sw}: missing field {e}") from None
            except PlanError as e:
                raise ManifestError(f"{sw}: {e}") from None
            for n in reads + writes:
                if n not in bufs:
                    raise ManifestError(f"{sw}: buffer {n!r} is not declared in the rank's buffers")


def load_slices(mask_entry, base):
    """The mask's slices as (qStart, qEnd, kStart, kEnd, kind) tuples (pure python)."""
    s = mask_entry["slices"]
    q, k, t = (load_list(s[n], base) for n in SLICE_ARRAYS)
    return [(q[2 * i], q[2 * i + 1], k[2 * i], k[2 * i + 1], t[i]) for i in range(len(t))]


def all_groups(doc):
    """Every distinct group (as torch orders it: sorted tuple) named in groups{} or used by a step
    of any rank, sorted, so that every process creates them in the same order."""
    seen = set()
    for lists in doc.get("groups", {}).values():
        for g in lists:
            seen.add(tuple(sorted(g)))
    for prog in doc["ranks"]:
        for phase in ("forward", "backward"):
            for st in prog[phase]:
                if "group" in st:
                    seen.add(tuple(sorted(st["group"])))
    return sorted(seen, key=lambda g: (len(g), g))
