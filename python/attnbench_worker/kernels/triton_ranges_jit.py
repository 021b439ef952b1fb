"""triton_ranges: the @triton.jit helpers its forward and backward kernels share (issue 13).

The band mask (a band: rows [q0, q1) x keys [k0, k1) with lo <= key - row <= hi, six int32s per
band in BANDS, the ids of the bands that cut a partial tile in SIDS), a full run's and a partial tile's header,
the first inner step of a partial tile, the packed rows of a query tile (P query heads of one KV
group stacked along M), the program -> work-list row mapping of both launch modes, the online
softmax update of a masked step (also triton_blocksparse's forward), and the loads / stores of
[rows, head dim] tiles: a head dim D that is not a power of two (80, 96, 192) runs as DP columns
(the next power of two: tl.arange needs one) with columns >= D masked off (read as zeros, never
stored); where D == DP the masks are exactly the unpadded kernel's. Triton
inlines these into each kernel; the ahead-of-time compile (scripts/kernel-aot.py) checks that the
kernels built from them stay spill-free with HGMMA.
"""

import triton
import triton.language as tl


@triton.jit
def _band_in(BANDS, SIDS, i, tok, key):
    bid = tl.load(SIDS + i).to(tl.int64) * 6
    q0 = tl.load(BANDS + bid)
    q1 = tl.load(BANDS + bid + 1)
    k0 = tl.load(BANDS + bid + 2)
    k1 = tl.load(BANDS + bid + 3)
    lo = tl.load(BANDS + bid + 4)
    hi = tl.load(BANDS + bid + 5)
    dd = key - tok
    return (tok >= q0) & (tok < q1) & (key >= k0) & (key < k1) & (dd >= lo) & (dd <= hi)


@triton.jit
def band_keep(BANDS, SIDS, s0, sn, tok, key, R: tl.constexpr, C: tl.constexpr, MAXB: tl.constexpr):
    """[R, C] bool: the (query token, key) pairs inside one of the listed bands; tok and key are
    [R, 1] / [1, C] (forward, dQ) or [1, C] / [R, 1] (dK/dV, keys along the rows).
    MAXB = 0: a loop over the sn bands (any number; the loop makes the caller's key-step loop a
    non-innermost loop, which Triton does not software-pipeline). MAXB > 0: unrolled over MAXB
    slots, those >= sn masked off (the caller guarantees sn <= MAXB), so the caller's loop can be
    pipelined (the notes' AOT section)."""
    keep = tl.zeros([R, C], tl.int32)
    if MAXB > 0:
        for u in tl.static_range(MAXB):
            inside = _band_in(BANDS, SIDS, s0 + tl.minimum(u, sn - 1), tok, key)
            keep = tl.where(inside & (u < sn), 1, keep)
    else:
        for u in range(sn):
            keep = tl.where(_band_in(BANDS, SIDS, s0 + u, tok, key), 1, keep)
    return keep != 0


@triton.jit
def run_of(RUNS, ri):
    """Full run ri of a list: the column tiles [c0, c1) (key tiles forward and dQ, query tiles dK/dV)."""
    c0 = tl.load(RUNS + 2 * ri)
    c1 = tl.load(RUNS + 2 * ri + 1)
    return c0, c1


@triton.jit
def part_of(PARTS, pi):
    """Partial tile pi of a list: (column tile, first band slot, band count, lo, hi); [lo, hi) are
    the columns (keys forward, query tokens backward) its bands touch."""
    c = tl.load(PARTS + 5 * pi)
    s0 = tl.load(PARTS + 5 * pi + 1)
    sn = tl.load(PARTS + 5 * pi + 2)
    lo = tl.load(PARTS + 5 * pi + 3)
    hi = tl.load(PARTS + 5 * pi + 4)
    return c, s0, sn, lo, hi


@triton.jit
def first_step(lo, c, T, STEP: tl.constexpr):
    """The first inner step (of STEP columns, aligned to tile c of T columns) that holds column lo."""
    return lo - (lo - c * T) % STEP


@triton.jit
def tile_rows(qt, hg, half, SQ, P: tl.constexpr, TQ: tl.constexpr, NR: tl.constexpr, BM: tl.constexpr):
    """Rows half * BM + [0, BM) of query tile qt for KV head hg (half > 0 when a tile is split over
    programs): row r is token qt * TQ + r // P, query head hg * P + r % P; rows >= NR (a group that
    is not a power of two pads the tile) and tokens >= SQ are off."""
    rows = half * BM + tl.arange(0, BM)
    tok = qt * TQ + rows // P
    head = hg * P + rows % P
    row_ok = tok < SQ
    row_ok = row_ok & (rows < NR)
    return tok, head, row_ok


@triton.jit
def packed_rows(m0, rows, hg, P: tl.constexpr, SUBM: tl.constexpr):
    """Token and query head of packed rows m0 + rows (packed row = token * P + head in group)."""
    if SUBM % P == 0:  # m0 is a multiple of P (P a power of two <= SUBM)
        tok = m0 // P + rows // P
        head = hg * P + rows % P
    else:
        tok = (m0 + rows) // P
        head = hg * P + (m0 + rows) % P
    return tok, head


@triton.jit
def dmask(rows_ok, offs_d, D: tl.constexpr, DP: tl.constexpr):
    """The mask of a [R, DP] tile from its rows' rows_ok [R]: rows_ok[:, None] when the head dim is
    a power of two (D == DP), else also the head dim's columns < D."""
    if D == DP:
        m = rows_ok[:, None]
    else:
        m = rows_ok[:, None] & (offs_d < D)[None, :]
    return m


@triton.jit
def load_cols(ptrs, offs_d, D: tl.constexpr, DP: tl.constexpr):
    """A [R, DP] tile whose rows all exist: unmasked when D == DP, else columns >= D read zeros."""
    if D == DP:
        t = tl.load(ptrs)
    else:
        t = tl.load(ptrs, mask=(offs_d < D)[None, :], other=0.0)
    return t


@triton.jit
def kv_tile(base, kk, offs_s, offs_d, sks, SK, BOUNDED: tl.constexpr, D: tl.constexpr, DP: tl.constexpr):
    """Keys kk + [0, SUBN) of K or V from base (batch b's key 0 of KV head hg) by pointers;
    BOUNDED: keys >= SK read zeros (partial tiles; a full run never reaches them). Columns >= D
    (a padded head dim) read zeros, so they add nothing to S and leave zeros in the output's."""
    if BOUNDED:
        offs_n = kk + offs_s
        t = tl.load(base + offs_n.to(tl.int64)[:, None] * sks + offs_d[None, :], mask=dmask(offs_n < SK, offs_d, D, DP), other=0.0)
    else:
        t = load_cols(base + (kk + offs_s).to(tl.int64)[:, None] * sks + offs_d[None, :], offs_d, D, DP)
    return t


@triton.jit
def masked_softmax(s, keep, m_i, l_i):
    """The online-softmax update of one masked step (triton_ranges' partial tiles, triton_blocksparse's
    blocks): s = the step's scaled scores (log2 units), (row, key) pairs outside keep dropped; a row
    with no key so far keeps m = -inf and adds nothing. Returns p, alpha (the rescale of the row's
    running sums), the new m and l."""
    s = tl.where(keep, s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
    p = tl.exp2(s - m_safe[:, None])
    alpha = tl.exp2(m_i - m_safe)
    l_i = l_i * alpha + tl.sum(p, 1)
    return p, alpha, m_new, l_i
