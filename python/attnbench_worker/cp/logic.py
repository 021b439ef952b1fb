"""Plan logic without tensors (standard library only): buffer layouts, token maps, group order,
what each step reads and writes, a phase's inputs and outputs, and per-row key ranges of a mask.

Buffer layout (batch 1, every part contiguous, tokens first):

    tensor      parts (name: shape)                          heads
    q, do       x: [T, H, D]                                 q heads
    o           x: [T, H, D], lse: [T, H] float32            q heads
    lse         lse: [T, H] float32                          q heads
    dq          x: [T, H, D] (gradient dtype)                q heads
    k, v        x: [T, H, D]                                 kv heads
    kv          k: [T, H, D], v: [T, H, D]                   kv heads
    dk, dv      x: [T, H, D] (gradient dtype)                kv heads
    dkv         k: [T, H, D], v: [T, H, D] (gradient dtype)  kv heads

T is the number of tokens the buffer holds (its ranges concatenated), H its head count. An `o`
buffer always carries the log-sum-exp of its rows, so that partial results can be merged and sent
together; `lse` alone is the log-sum-exp without the output.
"""

from ..slicemask import all_row_ranges, bands_from_slices
from ..tables import CP_AUTO_CUDA, CP_AUTO_FALLBACK, SLICE_KINDS, STEP_KINDS, TENSOR_KINDS  # noqa: F401 - shared with TypeScript

# Slice kinds in the int32 slice arrays [n, 5] = (qStart, qEnd, kStart, kEnd, kind): SLICE_KINDS codes.
Q_HEAD_TENSORS = ("q", "o", "lse", "do", "dq")
KV_HEAD_TENSORS = ("k", "v", "kv", "dk", "dv", "dkv")
TENSORS = Q_HEAD_TENSORS + KV_HEAD_TENSORS
GRAD_TENSORS = ("dq", "dk", "dv", "dkv")
COMM_KINDS = ("p2p", "all_to_all", "all_gather", "reduce_scatter")
COMPUTE_KINDS = ("attn", "merge", "attn_bwd", "accumulate", "copy")
assert set(TENSORS) == set(TENSOR_KINDS) and set(COMM_KINDS + ("wait",) + COMPUTE_KINDS) == set(STEP_KINDS), "tables.json drifted"


class PlanError(ValueError):
    """A plan (manifest) that cannot be executed: names the rank and step where possible."""


def parts_of(tensor):
    """Part names of a buffer of this tensor kind, in wire order."""
    if tensor in ("kv", "dkv"):
        return ("k", "v")
    if tensor == "o":
        return ("x", "lse")
    if tensor == "lse":
        return ("lse",)
    if tensor in TENSORS:
        return ("x",)
    raise PlanError(f"unknown tensor kind {tensor!r}")


def ranges_len(ranges):
    return sum(e - s for s, e in ranges)


def buffer_tokens(desc):
    return ranges_len(desc["tokens"])


def buffer_heads(desc):
    s, e = desc["heads"]
    return e - s


def part_shape(desc, part, head_dim):
    """Shape of one part of a buffer (see the module docstring)."""
    t = buffer_tokens(desc)
    h = buffer_heads(desc)
    return (t, h) if part == "lse" else (t, h, head_dim)


def overlap_runs(a, b):
    """Token runs (a_offset, b_offset, length) where the concatenated ranges a and b hold the same
    global tokens (every pair of overlapping ranges; neither needs to contain the other)."""
    runs = []
    aoff = 0
    for a0, a1 in a:
        boff = 0
        for b0, b1 in b:
            s, e = max(a0, b0), min(a1, b1)
            if e > s:
                runs.append((aoff + s - a0, boff + s - b0, e - s))
            boff += b1 - b0
        aoff += a1 - a0
    return runs


def coalesced_runs(a, b):
    """overlap_runs(a, b) with neighbours joined: a run that continues the previous one in both a
    and b (the same tokens in the same order, e.g. a rank's own K/V copied into the front of a
    concatenated buffer) becomes one. The executor copies a run per part with one kernel launch,
    so dispatch's own-K/V copy of 7-15 document ranges takes one launch per part, not one per range."""
    out = []
    for ao, bo, n in overlap_runs(a, b):
        if out and out[-1][0] + out[-1][2] == ao and out[-1][1] + out[-1][2] == bo:
            out[-1] = (out[-1][0], out[-1][1], out[-1][2] + n)
        else:
            out.append((ao, bo, n))
    return out


def head_offset(sub_heads, full_heads, what):
    """Offset of the head range `sub_heads` inside `full_heads`, or PlanError."""
    if sub_heads[0] < full_heads[0] or sub_heads[1] > full_heads[1]:
        raise PlanError(f"{what}: heads {list(sub_heads)} are not inside {list(full_heads)}")
    return sub_heads[0] - full_heads[0]


def kv_heads_for(q_heads, heads_q, heads_kv):
    """KV heads used by the q-head range under GQA grouping: [floor(h0/g), ceil(h1/g))."""
    g = heads_q // heads_kv
    return (q_heads[0] // g, -(-q_heads[1] // g))


def kv_head_index(q_heads, kv_buf_heads, heads_q, heads_kv):
    """For each q head of the range, the index of its kv head inside a buffer holding kv_buf_heads."""
    g = heads_q // heads_kv
    idx = []
    for h in range(q_heads[0], q_heads[1]):
        kh = h // g
        if kh < kv_buf_heads[0] or kh >= kv_buf_heads[1]:
            raise PlanError(f"q head {h} needs kv head {kh}, which the kv buffer (heads {list(kv_buf_heads)}) lacks")
        idx.append(kh - kv_buf_heads[0])
    return idx


def gqa_grouping(idx):
    """If the per-q-head kv index is [0]*g + [1]*g + ... (uniform groups, in order), return
    (first kv index, number of kv heads); else None (the caller expands kv heads explicitly)."""
    if not idx:
        return None
    first = idx[0]
    n = idx[-1] - first + 1
    if len(idx) % n:
        return None
    g = len(idx) // n
    for t, v in enumerate(idx):
        if v != first + t // g:
            return None
    return first, n


def torch_group_order(group):
    """torch.distributed orders a group's members by global rank; a plan's group may list them in
    ring order. Returns (sorted tuple, perm) with perm[t] = index in `group` of torch group rank t."""
    key = tuple(sorted(group))
    if len(set(key)) != len(key):
        raise PlanError(f"group {list(group)} repeats a rank")
    pos = {r: i for i, r in enumerate(group)}
    return key, [pos[r] for r in key]


def step_reads_writes(step):
    """(names read, names written) by a step. `attn_bwd` reads and writes dq and dkv (accumulates)."""
    k = step["kind"]
    if k == "p2p":
        return ([o["buf"] for o in step["ops"] if o["op"] == "send"], [o["buf"] for o in step["ops"] if o["op"] == "recv"])
    if k == "all_to_all":
        return (list(step["send"]), list(step["recv"]))
    if k in ("all_gather", "reduce_scatter"):
        return ([step["input"]], [step["output"]])
    if k == "wait":
        return ([], [])
    if k == "attn":
        return ([step["q"], step["kv"]], [step["out"]])
    if k == "merge":
        return ([step["from"]], [step["into"]])
    if k == "attn_bwd":
        return ([step["q"], step["kv"], step["o"], step["lse"], step["dout"]], [step["dq"], step["dkv"]])
    if k == "accumulate":
        return ([step["from"]], [step["into"]])
    if k == "copy":
        return ([step["from"]], [step["into"]])
    raise PlanError(f"unknown step kind {k!r}")


def phase_inputs(steps):
    """Buffers read before any step of the phase writes them, in first-read order."""
    written = set()
    out = []
    for st in steps:
        reads, writes = step_reads_writes(st)
        for r in reads:
            if r not in written and r not in out:
                out.append(r)
        written.update(writes)
    return out


def phase_writes(steps):
    w = []
    for st in steps:
        for n in step_reads_writes(st)[1]:
            if n not in w:
                w.append(n)
    return w


# Well-known buffer names (src/cp/types.ts CP_INPUTS / CP_OUTPUTS).
CP_OUTPUTS = {"fwd": {"o": "o"}, "bwd": {"dq": "dq", "dkv": "dkv"}}


def default_outputs(program, phase):
    """Result buffers of a phase: the well-known outputs the rank declares (o; dq and dkv)."""
    return {kind: name for kind, name in CP_OUTPUTS[phase].items() if name in program["buffers"]}


def row_ranges(slices, seqlen_q, seqlen_k):
    """Per-row unmasked key ranges of a mask given as slices (qs, qe, ks, ke, kind) in local
    coordinates: a list (one per row) of sorted [lo, hi) ranges (slicemask: SPEC section 2)."""
    try:
        return all_row_ranges(bands_from_slices(slices), seqlen_q, seqlen_k)
    except ValueError as e:
        raise PlanError(str(e)) from None


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def percentile(xs, p):
    """Linear-interpolated percentile p in [0, 100]."""
    s = sorted(xs)
    if not s:
        return float("nan")
    x = (len(s) - 1) * p / 100.0
    lo = int(x)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (x - lo)


# --- the CP kernel id 'auto' (shared tables' cpAuto, src/kernels/cp-auto.ts) -------------------------

def case_shape(case, dtype=None):
    """What the 'auto' rule reads of a job's case entry: (heads_q, heads_kv, head_dim, dtype); `dtype`
    overrides the case's (the executed one, --dtype)."""
    return (case["headsQ"], case["headsKv"], case["headDim"], dtype or case["dtype"])


def auto_takes(candidate, heads_q, heads_kv, head_dim, dtype):
    """Whether an 'auto' candidate's limits (headDims, dtypes, maxGroup; None = any) take the shape
    (src/kernels/cp-auto.ts takesShape)."""
    c = candidate
    group = heads_q / heads_kv
    return ((c["headDims"] is None or head_dim in c["headDims"])
            and (c["dtypes"] is None or dtype in c["dtypes"])
            and (c["maxGroup"] is None or (group == int(group) and group <= c["maxGroup"])))


def auto_kernel(device_type, shape, usable):
    """The kernel 'auto' runs: on CUDA the first candidate (triton_ranges, then flex) whose limits take
    `shape` (case_shape; None: limits unchecked) and for which usable(id) holds (the kernel can run on
    this device: partial.kernel_problem), else the reference. TypeScript names rows and --resume keys
    by the same rule (src/results/case-id.ts cpKernelOf), assuming its first candidate can run."""
    if device_type == "cuda":
        for c in CP_AUTO_CUDA:
            if (shape is None or auto_takes(c, *shape)) and usable(c["kernel"]):
                return c["kernel"]
    return CP_AUTO_FALLBACK
