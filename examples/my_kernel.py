"""my_kernel: an external attention kernel for attnbench, in one file (README "Bring your own kernel").

    attnbench --kernel-module examples/my_kernel.py doctor
    attnbench --kernel-module examples/my_kernel.py kernels --executor torch --kernel my_kernel --family causal --seqlen 64
    attnbench --kernel-module examples/my_kernel.py cp run --executor torch --kernel my_kernel ...   (torch: the partial entry)

It declares itself the way the built-in kernels do (python/attnbench_worker/kernels/external.py):
an ID, the process GROUP it runs in, its CAPS (the fields of a TypeScript KernelDescriptor),
available(), and its entry points. This one is pure python for the kernel suite (GROUP 'py': no
torch needed, tiny shapes) and has the partial-attention entry for context parallelism (torch).
"""

import math
import random

from attnbench_worker.kernels.base import Unsupported
from attnbench_worker.slicemask import row_ranges

ID = "my_kernel"
GROUP = "py"
DESCRIPTION = "example external kernel: attention row by row over the slices' key ranges (pure python)"
CAPS = {"formats": ["slices"], "backward": False, "gqa": "native", "dtypes": ["float32", "bfloat16", "float16"], "perHeadMask": True}


def available():
    return None  # or a one-line reason: "package foo is not installed"


def _inputs(seed, s, hq, hkv, n, d):
    rng = random.Random(seed)
    return [[[[rng.gauss(0.0, 1.0) for _ in range(d)] for _ in range(n)] for _ in range(h)] for h in (hq, hkv, hkv)]


def run(job, bands_per_head):
    """Kernel-suite entry of a 'py' kernel: (forward(), reference()) on the job's inputs.

    bands_per_head: per mask head, the slices as bands (slicemask.band); row_ranges(bands, i) gives
    the unmasked key ranges of query row i. The worker times forward() and compares it with
    reference() (here: the same attention with the dense mask, computed independently by the worker's helpers)."""
    s = job["shape"]
    if job["direction"] != "fwd":
        raise Unsupported("my_kernel computes the forward pass only")
    if s["batch"] * s["headsQ"] * s["seqlenQ"] * s["seqlenK"] * s["headDim"] > 2_000_000:
        raise Unsupported("my_kernel is pure python: tiny shapes only")
    hq, hkv, n, d = s["headsQ"], s["headsKv"], s["seqlenQ"], s["headDim"]
    q, k, v = _inputs(job["seed"], s, hq, hkv, n, d)
    scale = 1.0 / math.sqrt(d)
    group = hq // hkv

    def attention(cols_of):
        out = []
        for h in range(hq):
            kh = h // group
            bands = bands_per_head[kh if len(bands_per_head) > 1 else 0]
            rows = []
            for i in range(n):
                cols = cols_of(bands, i)
                if not cols:
                    rows.append([0.0] * d)
                    continue
                sc = [scale * sum(a * b for a, b in zip(q[h][i], k[kh][j])) for j in cols]
                m = max(sc)
                w = [math.exp(x - m) for x in sc]
                z = sum(w)
                rows.append([sum(w[t] * v[kh][j][c] for t, j in enumerate(cols)) / z for c in range(d)])
            out.append(rows)
        return [out]

    def forward():
        return attention(lambda bands, i: [j for a, e in row_ranges(bands, i) for j in range(a, e)])

    def reference():
        from attnbench_worker.slicemask import dense_from_bands

        dense = {}

        def cols(bands, i):
            key = id(bands)
            if key not in dense:
                dense[key] = dense_from_bands(bands, n, s["seqlenK"])
            return [j for j, on in enumerate(dense[key][i]) if on]

        return attention(cols)

    return forward, reference


# --- partial-attention entry: context parallelism (torch tensors; python/PROTOCOL.md) --------------
def partial_available(device):
    try:
        import torch  # noqa: F401
    except ImportError:
        return "my_kernel's partial entry needs torch"
    return None


def partial_forward(q, k, v, step):
    """q [Tq, Hq, D], k/v [Tk, Hkv, D] -> o like q, lse [Tq, Hq] float32 (-inf on rows without keys)."""
    import torch

    g = q.shape[1] // k.shape[1]
    ke, ve = k.repeat_interleave(g, 1).float(), v.repeat_interleave(g, 1).float()
    s = torch.einsum("qhd,khd->hqk", q.float(), ke) * step.scale
    s = s.masked_fill(~step.slice_mask().dense_rows(0, 0, step.seqlen_q)[None], -math.inf)
    lse = torch.logsumexp(s, -1)
    p = torch.exp(s - torch.where(torch.isinf(lse), torch.zeros_like(lse), lse)[..., None])
    return torch.einsum("hqk,khd->qhd", p, ve).to(q.dtype), lse.transpose(0, 1).contiguous()


def partial_backward(q, k, v, o, lse, do, step):
    """Gradients of this block from the final (o, lse) of its rows (FA2 algorithm 2)."""
    import torch

    hk, g = k.shape[1], q.shape[1] // k.shape[1]
    ke, ve = k.repeat_interleave(g, 1).float(), v.repeat_interleave(g, 1).float()
    qf, dof = q.float(), do.float()
    s = torch.einsum("qhd,khd->hqk", qf, ke) * step.scale
    s = s.masked_fill(~step.slice_mask().dense_rows(0, 0, step.seqlen_q)[None], -math.inf)
    fin = lse.float().transpose(0, 1)
    p = torch.exp(s - torch.where(torch.isinf(fin), torch.full_like(fin, math.inf), fin)[..., None])
    ds = p * (torch.einsum("qhd,khd->hqk", dof, ve) - (dof * o.float()).sum(-1).transpose(0, 1)[..., None])
    dq = torch.einsum("hqk,khd->qhd", ds, ke) * step.scale
    dk = (torch.einsum("hqk,qhd->khd", ds, qf) * step.scale).reshape(k.shape[0], hk, g, -1).sum(2)
    dv = torch.einsum("hqk,qhd->khd", p, dof).reshape(k.shape[0], hk, g, -1).sum(2)
    return dq, dk, dv
