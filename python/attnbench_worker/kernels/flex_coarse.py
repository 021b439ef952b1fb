"""flex on masks of blocks finer than its 128 tiles (block_sparse with 64-blocks): the block table
coarsened to 128 x 128, with the fine blocks resolved by a block-bitmap mask_mod.

Why: given the mask's own 64-blocks, flex needs 64-wide tiles, and its backward then finds no
kernel configuration that fits (NoValidChoicesError on every H100 / H200 run of the block_sparse
preset, issue 17; flex_tiles.py's one-stage tiles do not help), so the suite had no flex backward
to compare with. A user would keep flex's 128 tiles and say which 64-blocks are kept in the mask_mod:
one gather per cell from a [mask heads, query blocks, key blocks] bitmap. 128-blocks whose 64-blocks
are all kept are full (no mask_mod), all dropped are skipped, the rest are partial.

ATTNBENCH_FLEX_BLOCK: 'auto' (default: the coarse form in the backward, where the fine one has no
kernel; the fine one in the forward, where it runs), 'native' (always the mask's own blocks), '128'
(always the coarse form). Only tables whose fine blocks are all full or empty (block masks aligned
to their block) and whose bitmap stays small can be coarsened; others keep their blocks.
"""

import math

import torch

from ..tables import env_knob

COARSE = 128
MAX_BITMAP_CELLS = 1 << 26  # [mask heads, query blocks, key blocks]: 64 MiB of bool at most


def block_form(direction, block):
    """'coarse' or 'native' for a table of `block`-token blocks in this direction."""
    forced = env_knob("ATTNBENCH_FLEX_BLOCK", "auto")
    if block >= COARSE or COARSE % block != 0 or forced == "native":
        return "native"
    if forced == "128":
        return "coarse"
    return "coarse" if direction == "bwd" else "native"


def fine_map(kvn, kvi, fkvn, fkvi, nbk):
    """[H, nbq, nbk] int8 from BlockMask-style tables: 0 empty, 1 partial, 2 full."""
    h, nbq = kvn.shape
    out = torch.zeros((h, nbq, nbk + 1), dtype=torch.int8, device=kvn.device)  # column nbk: a sink for padding

    def mark(num, idx, value):
        if num is None:
            return
        cols = torch.arange(idx.shape[-1], device=idx.device)
        live = cols[None, None, :] < num[..., None].to(cols.dtype)
        out.scatter_(2, torch.where(live, idx.long(), nbk), value)

    mark(kvn, kvi, 1)
    mark(fkvn, fkvi, 2)
    return out[..., :nbk]


def coarsen(fmap, factor):
    """[H, nbq, nbk] fine kinds -> [H, ceil(nbq / f), ceil(nbk / f)] coarse kinds (same coding). Fine
    blocks past the sequence's end (padding) count as neither: a coarse block is full when all its real
    fine blocks are full, empty when all are empty."""
    h, nq, nk = fmap.shape
    cq, ck = math.ceil(nq / factor), math.ceil(nk / factor)
    padded = torch.full((h, cq * factor, ck * factor), -1, dtype=torch.int8, device=fmap.device)
    padded[:, :nq, :nk] = fmap
    sub = padded.view(h, cq, factor, ck, factor).permute(0, 1, 3, 2, 4).reshape(h, cq, ck, factor * factor)
    real = sub >= 0
    full = ((sub == 2) | ~real).all(-1) & real.any(-1)
    empty = ((sub == 0) | ~real).all(-1)
    kind = torch.ones((h, cq, ck), dtype=torch.int8, device=fmap.device)
    kind[full] = 2
    kind[empty] = 0
    return kind


def tables(kind, value):
    """(num [H, nbq], indices [H, nbq, nbk]) of the blocks of `kind` == value, in key order."""
    sel = kind == value
    num = sel.sum(-1).to(torch.int32)
    idx = torch.argsort((~sel).to(torch.int8), dim=-1, stable=True).to(torch.int32)
    return num, idx


def coarse_tables(kvn, kvi, fkvn, fkvi, block, nbk):
    """-> (bitmap [H, nbq, nbk] bool of kept fine blocks, (kvn, kvi, fkvn, fkvi) at 128) or None when this
    table cannot be coarsened (partial fine blocks, or a bitmap over MAX_BITMAP_CELLS)."""
    if kvn.numel() * nbk > MAX_BITMAP_CELLS:
        return None
    fmap = fine_map(kvn, kvi, fkvn, fkvi, nbk)
    if bool((fmap == 1).any()):
        return None
    kind = coarsen(fmap, COARSE // block)
    return fmap == 2, tables(kind, 1) + tables(kind, 2)


def bitmap_mask_mod(bitmap, block, group_size=1):
    """mask_mod over query heads: (q, k) is kept when its fine block is (bitmap of the query head's mask head)."""
    per_head = bitmap.shape[0] > 1

    def mod(b, h, q_idx, kv_idx):
        hm = h // group_size if per_head else 0
        return bitmap[hm, q_idx // block, kv_idx // block]

    return mod
