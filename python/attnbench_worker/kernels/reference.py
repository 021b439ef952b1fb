"""reference: attention in float32 torch over dense score chunks, with the mask from the slices.

The partial-attention entry only (context parallelism, see base.PartialStep): CP's kernel on CPU
tensors (gloo runs) and small sizes, and the single-device reference every CP run is checked
against. Any device; memory per chunk ~ heads x chunk x Sk x 4 bytes x 3.

Backward of one block from the final (O, L) (FA2 algorithm 2 with the final statistics):
    P = exp(S - L) on the block's unmasked pairs, D = rowsum(dO * O),
    dV = P^T dO,  dS = P * (dO V^T - D),  dQ = scale dS K,  dK = scale dS^T Q.
"""

import math

from .base import module_available

ID = "reference"
GROUP = "torch"
CHUNK_BYTES = {"cuda": 1 << 32, "cpu": 1 << 27}


def available():
    return module_available("torch")


def _chunk(hq, sk, device):
    budget = CHUNK_BYTES.get(device.type, 1 << 27)
    return max(1, min(4096, budget // max(1, hq * sk * 4 * 3)))


def _expand(x, group):
    """[Tk, Hkv, D] -> [Tk, Hkv * group, D]: query head h reads KV head h // group."""
    return x if group == 1 else x.repeat_interleave(group, dim=1)


def _scores(qc, ke, step, q0, q1):
    """Masked scores [H, rows, Sk] of query rows q0..q1 (float32)."""
    import torch

    s = torch.einsum("qhd,khd->hqk", qc, ke) * step.scale
    allowed = step.slice_mask().dense_rows(0, q0, q1)
    return s.masked_fill_(~allowed[None], -math.inf)


def partial_forward(q, k, v, step):
    import torch

    sq, hq, d = q.shape
    g = hq // k.shape[1]
    out = torch.zeros(sq, hq, d, dtype=q.dtype, device=q.device)
    lse = torch.full((sq, hq), -math.inf, dtype=torch.float32, device=q.device)
    ke, ve = _expand(k, g).float(), _expand(v, g).float()
    c = _chunk(hq, step.seqlen_k, q.device)
    for q0 in range(0, sq, c):
        q1 = min(sq, q0 + c)
        s = _scores(q[q0:q1].float(), ke, step, q0, q1)
        l = torch.logsumexp(s, dim=-1)  # [H, cq]
        safe = torch.where(torch.isinf(l), torch.zeros_like(l), l)
        p = torch.exp(s - safe[..., None])
        out[q0:q1] = torch.einsum("hqk,khd->qhd", p, ve).to(q.dtype)
        lse[q0:q1] = l.transpose(0, 1)
    return out, lse


def partial_backward(q, k, v, o, lse, do, step):
    """dq [Tq, Hq, D], dk/dv [Tk, Hkv, D], float32 (dk/dv summed over the query heads of a group)."""
    import torch

    sq, hq, d = q.shape
    hk = k.shape[1]
    g = hq // hk
    dq = torch.zeros(sq, hq, d, dtype=torch.float32, device=q.device)
    dke = torch.zeros(k.shape[0], hq, d, dtype=torch.float32, device=q.device)
    dve = torch.zeros_like(dke)
    ke, ve = _expand(k, g).float(), _expand(v, g).float()
    c = _chunk(hq, step.seqlen_k, q.device)
    for q0 in range(0, sq, c):
        q1 = min(sq, q0 + c)
        qc, doc = q[q0:q1].float(), do[q0:q1].float()
        s = _scores(qc, ke, step, q0, q1)
        l = lse[q0:q1].float().transpose(0, 1)
        safe = torch.where(torch.isinf(l), torch.full_like(l, math.inf), l)
        p = torch.exp(s - safe[..., None])  # 0 on masked pairs and on rows without keys
        dd = (doc * o[q0:q1].float()).sum(-1).transpose(0, 1)  # [H, cq]
        dve += torch.einsum("hqk,qhd->khd", p, doc)
        dp = torch.einsum("qhd,khd->hqk", doc, ve)
        ds = p * (dp - dd[..., None])
        dq[q0:q1] = torch.einsum("hqk,khd->qhd", ds, ke) * step.scale
        dke += torch.einsum("hqk,qhd->khd", ds, qc) * step.scale
    if g > 1:
        dke = dke.reshape(k.shape[0], hk, g, d).sum(2)
        dve = dve.reshape(k.shape[0], hk, g, d).sum(2)
    return dq, dke, dve
