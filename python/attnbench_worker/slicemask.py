"""Slice semantics, once for the whole worker: the pure-python band form (py_ref, CP plan checks,
tests) and, on tensors, a vectorised mask predicate (flex mask_mod, dense masks, the references).

The worker holds no mask logic of its own: it evaluates the slices it was sent, exactly as SPEC 2
defines them. A slice (qStart, qEnd, kStart, kEnd, kind) is a band: rows [q0, q1), columns
[k0, k1), and lo <= j - i <= hi (global indices; kinds map to lo/hi as in src/mask/band.ts, with
d = (k1 - k0) - (q1 - q0): causal hi = k0 - q0 + d, invcausal lo = k0 - q0, bicausal both, full
neither). Row i of a band unmasks columns [max(k0, i + lo), min(k1, i + hi + 1)).

Predicate layout: the q axis of every head is cut at every slice's q0 and q1 into elementary
intervals; inside one interval the same slices cover every row, and since slices are disjoint
their column ranges keep one left-to-right order on every row. Per interval the slices are stored
in that order, so (q, k) is decided by a lookup row -> interval and a fixed-depth bisection over
the interval's slices: O(log n) gathers per element, no S x S anything.

Only the tensor parts need torch (imported when present; the pure-python parts run without it).
"""

import math

from .tables import ENV_KNOBS, SLICE_KINDS

try:
    import torch
except ImportError:  # pure-python users (py_ref, CP plan logic, CI without torch)
    torch = None

BIG = 1 << 40  # "unbounded" diagonal offset
KINDS = SLICE_KINDS  # wire codes: 0 full, 1 causal, 2 invcausal, 3 bicausal
# Up to this many slices per interval the predicate scans them instead of bisecting. Was 4: CP
# steps over zigzag-gathered keys reach 5 on causal/full_document at P = 8 (a long document's keys
# arrive in several pieces), took the bisection, and flex failed to compile on an H100 (2026-12-05,
# results/h100/cp/issue13-paper_cp_p8.jsonl: "No valid triton configs ... Required: 1183744" bytes
# of shared memory) for ring_allgather, usp and loongtrain. The scan's loads depend on the row only;
# the scan is unrolled to the mask's own maximum, so masks with <= 4 per interval are unchanged.
# 16 is not yet run on a GPU (next device call: issue13.sh call10's paper_cp_p8 step).
LINEAR_MAX = 16
# flex_mask_mod 'auto': row tables up to this many slices per interval (documents: 1-2; share_question 3)
ROWS_MAX = 8
# The forms flex_mask_mod takes (and ATTNBENCH_FLEX_MASK / ATTNBENCH_FLEX_CP_MASK name: kernels/flex.py)
FLEX_MASK_FORMS = ENV_KNOBS["ATTNBENCH_FLEX_MASK"]


# --- pure python ----------------------------------------------------------------------------------
def band(q0, q1, k0, k1, t):
    """(q0, q1, k0, k1, lo, hi) with lo <= j - i <= hi; None for unbounded (SPEC 2, src/mask/band.ts)."""
    if not 0 <= t < len(KINDS):
        raise ValueError(f"slice kind {t} is not one of 0..{len(KINDS) - 1} ({', '.join(KINDS)})")
    d = (k1 - k0) - (q1 - q0)
    base = k0 - q0
    lo = base if KINDS[t] in ("invcausal", "bicausal") else None
    hi = base + d if KINDS[t] in ("causal", "bicausal") else None
    return (q0, q1, k0, k1, lo, hi)


def bands_from_lists(q_ranges, k_ranges, types):
    """Flat wire arrays (qRanges [n*2], kRanges [n*2], types [n]) -> bands."""
    return [band(q_ranges[2 * s], q_ranges[2 * s + 1], k_ranges[2 * s], k_ranges[2 * s + 1], types[s]) for s in range(len(types))]


def bands_from_slices(slices):
    """(qStart, qEnd, kStart, kEnd, kind) tuples -> bands."""
    return [band(*s) for s in slices]


def band_row(b, i):
    """The column range [a, e) of band b on row i, or None (row outside, or empty)."""
    q0, q1, k0, k1, lo, hi = b
    if not q0 <= i < q1:
        return None
    a = k0 if lo is None else max(k0, i + lo)
    e = k1 if hi is None else min(k1, i + hi + 1)
    return (a, e) if e > a else None


def row_ranges(bands, i):
    """Unmasked column ranges of row i, sorted (each band gives one contiguous range)."""
    return sorted(r for r in (band_row(b, i) for b in bands) if r is not None)


def all_row_ranges(bands, seqlen_q, seqlen_k=None):
    """Per row (0..seqlen_q-1): its sorted unmasked column ranges. ValueError when a band reaches
    past seqlen_k (when given)."""
    rows = [[] for _ in range(seqlen_q)]
    for b in bands:
        for i in range(max(0, b[0]), min(seqlen_q, b[1])):
            r = band_row(b, i)
            if r is not None:
                if seqlen_k is not None and r[1] > seqlen_k:
                    raise ValueError("mask slice reaches past seqlenK")
                rows[i].append(r)
    for r in rows:
        r.sort()
    return rows


def area(bands, seqlen_q):
    """Unmasked (row, column) pairs."""
    return sum(e - a for r in all_row_ranges(bands, seqlen_q) for a, e in r)


def dense_from_bands(bands, sq, sk):
    """Row-major list of lists of booleans, by testing every cell against every band."""
    m = [[False] * sk for _ in range(sq)]
    for q0, q1, k0, k1, lo, hi in bands:
        for i in range(max(0, q0), min(sq, q1)):
            row = m[i]
            for j in range(max(0, k0), min(sk, k1)):
                d = j - i
                if (lo is None or d >= lo) and (hi is None or d <= hi):
                    row[j] = True
    return m


# --- tensors --------------------------------------------------------------------------------------
def bands_from_arrays(q_ranges, k_ranges, types):
    """int32 tensors [n,2], [n,2], [n] (CPU) -> int64 [n, 6] rows (q0, q1, k0, k1, lo, hi)."""
    q = q_ranges.to(torch.int64).reshape(-1, 2)
    k = k_ranges.to(torch.int64).reshape(-1, 2)
    t = types.to(torch.int64).reshape(-1)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) > 3):
        raise ValueError("slice types must be 0 full, 1 causal, 2 invcausal, 3 bicausal")
    q0, q1, k0, k1 = q[:, 0], q[:, 1], k[:, 0], k[:, 1]
    d = (k1 - k0) - (q1 - q0)
    base = k0 - q0
    big = torch.full_like(q0, BIG)
    lo = torch.where((t == 2) | (t == 3), base, -big)
    hi = torch.where((t == 1) | (t == 3), base + d, big)
    return torch.stack([q0, q1, k0, k1, lo, hi], dim=1)


class SliceMask:
    """Predicate over one or several heads' slices; tensors live on `device`."""

    def __init__(self, heads_bands, seqlen_q, seqlen_k, device):
        self.seqlen_q, self.seqlen_k = seqlen_q, seqlen_k
        self.num_heads = len(heads_bands)
        self.device = device
        self.heads_bands = heads_bands  # CPU int64 [n, 6] per head
        self._rows = None  # row_tables, built on first use
        self._build(device)

    @classmethod
    def from_arrays(cls, heads, seqlen_q, seqlen_k, device):
        return cls([bands_from_arrays(*h) for h in heads], seqlen_q, seqlen_k, device)

    @classmethod
    def from_slices(cls, slices, seqlen_q, seqlen_k, device):
        """One head from an int tensor [n, 5] (qStart, qEnd, kStart, kEnd, kind), the CP step form."""
        s = slices.to("cpu").reshape(-1, 5)
        return cls([bands_from_arrays(s[:, 0:2], s[:, 2:4], s[:, 4])], seqlen_q, seqlen_k, device)

    def _build(self, device):
        sq = self.seqlen_q
        iv_bands, iv_off, iv_cnt, row_iv = [], [], [], []
        total_iv = 0
        total_sl = 0
        max_cnt = 0
        for bands in self.heads_bands:
            # Clip every band to its non-empty rows [max(q0, k0 - hi), min(q1, k1 - lo)): inside an
            # interval every slice then covers a non-empty column range on every row, which is what
            # keeps their left-to-right order fixed (an empty range would break the bisection).
            q0 = torch.maximum(bands[:, 0], bands[:, 2] - bands[:, 5])
            q1 = torch.minimum(bands[:, 1], bands[:, 3] - bands[:, 4])
            bands = torch.cat([q0[:, None], q1[:, None], bands[:, 2:]], dim=1)
            keep = (q1 > q0) & (bands[:, 3] > bands[:, 2])
            bands = bands[keep]
            q0, q1 = bands[:, 0], bands[:, 1]
            bounds = torch.unique(torch.cat([q0, q1, torch.tensor([0, sq], dtype=torch.int64)]))
            bounds = bounds[(bounds >= 0) & (bounds <= sq)]
            n_iv = bounds.numel() - 1
            a = torch.searchsorted(bounds, q0.contiguous())
            b = torch.searchsorted(bounds, q1.contiguous())
            cnt_per_slice = b - a
            sl = torch.repeat_interleave(torch.arange(bands.shape[0]), cnt_per_slice)
            starts = torch.repeat_interleave(a, cnt_per_slice)
            first = torch.repeat_interleave(torch.cumsum(cnt_per_slice, 0) - cnt_per_slice, cnt_per_slice)
            iv = starts + (torch.arange(sl.numel()) - first)
            # Column order inside an interval: left edge at the interval's first row, then right edge.
            r0 = bounds[iv]
            bb = bands[sl]
            left = torch.maximum(bb[:, 2], r0 + bb[:, 4])
            right = torch.minimum(bb[:, 3], r0 + bb[:, 5] + 1)
            order = _lexsort([right, left, iv])
            iv, bb = iv[order], bb[order]
            cnt = torch.bincount(iv, minlength=n_iv) if iv.numel() else torch.zeros(n_iv, dtype=torch.int64)
            off = torch.cumsum(cnt, 0) - cnt
            iv_bands.append(bb)
            iv_off.append(off + total_sl)
            iv_cnt.append(cnt)
            # row -> interval index (global over heads)
            lens = bounds[1:] - bounds[:-1]
            row_iv.append(torch.repeat_interleave(torch.arange(n_iv) + total_iv, lens))
            total_iv += n_iv
            total_sl += bb.shape[0]
            if cnt.numel():
                max_cnt = max(max_cnt, int(cnt.max()))
        bands = torch.cat(iv_bands) if total_sl else torch.zeros((1, 6), dtype=torch.int64)
        # One 1-D tensor per field: plain gathers, which FlexAttention can lower into its kernel.
        self.k0, self.k1, self.lo, self.hi = (bands[:, c].contiguous().to(device) for c in (2, 3, 4, 5))
        self.last = bands.shape[0] - 1
        self.iv_off = torch.cat(iv_off).to(device)
        self.iv_cnt = torch.cat(iv_cnt).to(device)
        self.row_iv = torch.cat(row_iv).to(device)  # [heads * Sq]
        self.steps = max(1, math.ceil(math.log2(max_cnt + 1)))
        # Few slices per interval (documents: one): test each slot in turn. Every gather then depends
        # on the row alone, so inside flex's kernel the loads are per-row vectors; the bisection's
        # gathers depend on (row, column), and Triton's pipeliner stages those 2-D tiles in shared
        # memory (flex on causal_document at 32k asked for 640 KiB of it and failed).
        self.max_per_interval = max_cnt
        self.num_slices = total_sl

    def predicate(self, h, q, k):
        """Boolean tensor: is (q, k) unmasked for mask head h? Broadcasts; h may be an int."""
        q = q.to(torch.int64) if torch.is_tensor(q) else q
        k = k.to(torch.int64) if torch.is_tensor(k) else k
        row = q if self.num_heads == 1 else h * self.seqlen_q + q
        e = self.row_iv[row]
        base = self.iv_off[e]
        if self.max_per_interval <= LINEAR_MAX:
            return self._scan(base, self.iv_cnt[e], q, k)
        lo = torch.zeros_like(base)
        hi = self.iv_cnt[e]
        # First slot whose left edge on row q is > k; the candidate is the slot before it.
        for _ in range(self.steps):
            active = lo < hi
            mid = torch.div(lo + hi, 2, rounding_mode="floor")
            s = torch.clamp(base + mid, max=self.last)
            left = torch.maximum(self.k0[s], q + self.lo[s])
            go_right = left <= k
            lo = torch.where(active & go_right, mid + 1, lo)
            hi = torch.where(active & ~go_right, mid, hi)
        t = lo - 1
        left, right = self._edges(torch.clamp(base + t, min=0, max=self.last), q)
        return (t >= 0) & (k >= left) & (k < right)

    def _edges(self, s, q):
        """Key range [left, right) of slice slot s on row q (empty when right <= left)."""
        return torch.maximum(self.k0[s], q + self.lo[s]), torch.minimum(self.k1[s], q + self.hi[s] + 1)

    def _scan(self, base, cnt, q, k):
        hit = (k < 0) & (q < 0) if torch.is_tensor(k) or torch.is_tensor(q) else False  # all False, broadcast shape
        for t in range(self.max_per_interval):
            left, right = self._edges(torch.clamp(base + t, max=self.last), q)
            hit = hit | ((t < cnt) & (k >= left) & (k < right))
        return hit

    def mask_mod(self, group_size=1, per_head=None):
        """A FlexAttention mask_mod over query heads (query head h -> mask head h // group)."""
        per_head = self.num_heads > 1 if per_head is None else per_head

        def mod(b, h, q_idx, kv_idx):
            mh = torch.div(h, group_size, rounding_mode="floor") if per_head else 0
            return self.predicate(mh, q_idx, kv_idx)

        return mod

    def row_tables(self):
        """The mask as per-row key ranges: (lo, hi) int32 [heads * Sq, R] (row h * Sq + q of mask head
        h), R a power of two >= the most slices in any interval, empty slots lo = hi = 0. `_scan`'s
        slots (`_edges`), evaluated once per row instead of per (row, key) pair."""
        if self._rows is None:
            sq = self.seqlen_q
            r = 1 << max(0, self.max_per_interval - 1).bit_length()  # fewer distinct mask_mods to compile
            q = torch.arange(self.num_heads * sq, device=self.device, dtype=torch.int64)
            e = self.row_iv[q]
            base, cnt = self.iv_off[e], self.iv_cnt[e]
            qq = q % sq  # the row inside its head
            lo_t = torch.zeros(q.numel(), r, dtype=torch.int32, device=self.device)
            hi_t = torch.zeros_like(lo_t)
            for t in range(self.max_per_interval):
                left, right = self._edges(torch.clamp(base + t, max=self.last), qq)
                ok = (t < cnt) & (right > left)
                lo_t[:, t] = torch.where(ok, left, 0).to(torch.int32)
                hi_t[:, t] = torch.where(ok, right, 0).to(torch.int32)
            self._rows = (lo_t, hi_t)
        return self._rows

    def row_mask_mod(self, group_size=1, per_head=None):
        """A FlexAttention mask_mod over per-row key ranges (row_tables): one gather per slot and row,
        where `mask_mod`'s predicate chains row -> interval -> slot -> edges. Same cells (test_slicemask);
        flex's backward runs it about twice as fast on documents (H100, 2026-12-06, issue13.sh call30)."""
        per_head = self.num_heads > 1 if per_head is None else per_head
        lo_t, hi_t = self.row_tables()
        slots, sq = lo_t.shape[1], self.seqlen_q

        def mod(b, h, q_idx, kv_idx):
            row = torch.div(h, group_size, rounding_mode="floor") * sq + q_idx if per_head else q_idx
            m = (kv_idx >= lo_t[row, 0]) & (kv_idx < hi_t[row, 0])
            for t in range(1, slots):
                m = m | ((kv_idx >= lo_t[row, t]) & (kv_idx < hi_t[row, t]))
            return m

        return mod

    def flex_mask_mod(self, form, group_size=1, per_head=None):
        """(mask_mod, form used) for flex: form 'slices' (the predicate), 'rows' (row tables) or 'auto'
        (rows where an interval holds at most ROWS_MAX slices, so a row's test stays a few compares;
        the predicate's bisection beyond)."""
        if form not in FLEX_MASK_FORMS:
            raise ValueError(f"flex mask form must be {', '.join(FLEX_MASK_FORMS)}, not {form!r}")
        if form == "auto":
            form = "rows" if self.max_per_interval <= ROWS_MAX else "slices"
        if form == "rows":
            return self.row_mask_mod(group_size, per_head), "rows"
        return self.mask_mod(group_size, per_head), "slices"

    def dense_rows(self, h, r0, r1):
        """Boolean [r1 - r0, Sk] block of mask head h."""
        q = torch.arange(r0, r1, device=self.device)[:, None]
        k = torch.arange(self.seqlen_k, device=self.device)[None, :]
        return self.predicate(h, q, k)

    def dense(self, chunk_elems=1 << 27):
        """Boolean [heads, Sq, Sk], built in row chunks."""
        out = torch.empty((self.num_heads, self.seqlen_q, self.seqlen_k), dtype=torch.bool, device=self.device)
        rows = max(1, chunk_elems // max(1, self.seqlen_k))
        for h in range(self.num_heads):
            for r0 in range(0, self.seqlen_q, rows):
                r1 = min(self.seqlen_q, r0 + rows)
                out[h, r0:r1] = self.dense_rows(h, r0, r1)
        return out


def _lexsort(keys):
    """Indices sorting by keys[-1], then keys[-2], ... (stable sorts from the least significant)."""
    idx = torch.arange(keys[0].numel())
    for key in keys:
        idx = idx[torch.sort(key[idx], stable=True).indices]
    return idx


def reference_dense(heads_bands, seqlen_q, seqlen_k, device):
    """Independent dense fill for the float32 reference: one broadcast band test per slice."""
    out = torch.zeros((len(heads_bands), seqlen_q, seqlen_k), dtype=torch.bool, device=device)
    for h, bands in enumerate(heads_bands):
        for q0, q1, k0, k1, lo, hi in bands.tolist():
            if q1 <= q0 or k1 <= k0:
                continue
            i = torch.arange(q0, q1, device=device)[:, None]
            j = torch.arange(k0, k1, device=device)[None, :]
            d = j - i
            out[h, q0:q1, k0:k1] |= (d >= lo) & (d <= hi)
    return out
