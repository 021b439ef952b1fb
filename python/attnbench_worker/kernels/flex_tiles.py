"""Tile sizes for flex_attention on sparse blocks smaller than its 128 default (no torch import).

flex's Triton templates need tiles that divide the BlockMask's block size. The forward takes
BLOCK_M x BLOCK_N; the backward has a dK/dV loop (BLOCK_M1 query rows x BLOCK_N1 keys, BLOCK_N1 a
multiple of BLOCK_M1) and a dQ loop (BLOCK_M2 x BLOCK_N2, BLOCK_M2 a multiple of BLOCK_N2). With 64
blocks and head_dim 128 the backward's default pipelining (3 stages) overflows shared memory on
Hopper, every autotune choice fails and inductor raises NoValidChoicesError (issue 17); one stage
and 4 warps fit. The options are prefixed fwd_ / bwd_ (torch >= 2.7 reads them per direction), so
the forward keeps its own pipelining. (They did not fit either: torch 2.11 on H100 / H200 still
raised NoValidChoicesError on every 64-block backward, 2026-12-06; the backward now takes 128-blocks
and a block bitmap by default, flex_coarse.py.)
"""


def tile_options(bq, bk):
    """kernel_options for sparse blocks bq x bk, or None when the defaults (128) fit."""
    if bq >= 128 and bk >= 128:
        return None
    m, n = min(64, bq), min(64, bk)
    m1 = min(32, m)
    m2 = m
    return {
        "fwd_BLOCK_M": m,
        "fwd_BLOCK_N": n,
        "bwd_BLOCK_M1": m1,
        "bwd_BLOCK_N1": n,
        "bwd_BLOCK_M2": m2,
        "bwd_BLOCK_N2": min(32, n),
        "bwd_num_stages": 1,
        "bwd_num_warps": 4,
    }
