// Fast mask geometry for planners: areas, needed key columns and restricted masks over lists of
// token ranges. Same math as mask/slices.ts (bands), without generators in the hot loops, because
// planners ask millions of questions (every ring step of every rank at S = 16M, P = 1024).
import { bandArea, bandRowHi, bandRowLo, bandRows, bandToSlices, clipBand, sliceToBand, type Band } from '../../mask/band.js';
import { shiftSlice } from '../../mask/slices.js';
import type { Mask, Range, Slice } from '../../mask/types.js';

/** A list of ranges sorted by start, each with its offset in the original concatenation. */
interface SortedRanges {
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly offset: Float64Array;
}

function sortRanges(rs: readonly Range[]): SortedRanges {
  const order = rs.map((_, t) => t).sort((a, b) => rs[a].start - rs[b].start);
  const offsets = new Float64Array(rs.length);
  let o = 0;
  for (let t = 0; t < rs.length; t++) {
    offsets[t] = o;
    o += rs[t].end - rs[t].start;
  }
  const start = new Float64Array(rs.length);
  const end = new Float64Array(rs.length);
  const offset = new Float64Array(rs.length);
  order.forEach((t, n) => {
    start[n] = rs[t].start;
    end[n] = rs[t].end;
    offset[n] = offsets[t];
  });
  return { start, end, offset };
}

/** First index n with sr.end[n] > x (ranges are disjoint and sorted, so ends are sorted too). */
function firstEndAfter(sr: SortedRanges, x: number): number {
  let lo = 0;
  let hi = sr.end.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sr.end[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function rangesLength(rs: readonly Range[]): number {
  let n = 0;
  for (const r of rs) n += r.end - r.start;
  return n;
}

/** Sorted, merged union of ranges. */
export function mergeSorted(rs: readonly Range[]): Range[] {
  const s = [...rs].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** First index n with rs[n].end > x, for ranges sorted by start whose ends are sorted too (disjoint ranges); rs.length if none. */
export function firstEndingAfter(rs: readonly { readonly end: number }[], x: number): number {
  let lo = 0;
  let hi = rs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rs[mid].end > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** a minus b; both sorted and merged. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const r of a) {
    let s = r.start;
    while (j < b.length && b[j].end <= s) j++;
    let t = j;
    while (t < b.length && b[t].start < r.end) {
      if (b[t].start > s) out.push({ start: s, end: b[t].start });
      s = Math.max(s, b[t].end);
      t++;
    }
    if (s < r.end) out.push({ start: s, end: r.end });
  }
  return out;
}

export function rangesIntersect(a: readonly Range[], b: readonly Range[]): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (Math.min(a[i].end, b[j].end) > Math.max(a[i].start, b[j].start)) return true;
    if (a[i].end < b[j].end) i++;
    else j++;
  }
  return false;
}

/** Bands of a mask sorted by first row, with a running maximum of last rows for range lookups. */
export class AreaIndex {
  readonly mask: Mask;
  private readonly bands: Band[];
  private readonly maxQ1: Float64Array;

  constructor(mask: Mask) {
    this.mask = mask;
    this.bands = mask.slices.map(sliceToBand).sort((x, y) => x.q0 - y.q0 || x.k0 - y.k0);
    this.maxQ1 = new Float64Array(this.bands.length);
    let m = -Infinity;
    this.bands.forEach((b, t) => {
      m = Math.max(m, b.q1);
      this.maxQ1[t] = m;
    });
  }

  /** Index of the first band that may overlap rows >= q0. */
  private first(q0: number): number {
    let lo = 0;
    let hi = this.bands.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.maxQ1[mid] > q0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  rectArea(q0: number, q1: number, k0: number, k1: number): number {
    let a = 0;
    const bs = this.bands;
    for (let t = this.first(q0); t < bs.length && bs[t].q0 < q1; t++) {
      const b = bs[t];
      if (b.q1 > q0 && b.k0 < k1 && b.k1 > k0) a += bandArea(clipBand(b, q0, q1, k0, k1));
    }
    return a;
  }

  /**
   * Key columns that rows [q0, q1) attend to, sorted and merged. Exact: within one band the row
   * intervals [lo(i), hi(i)) move by at most one column per row, so their union is one interval.
   */
  colExtent(q0: number, q1: number): Range[] {
    const out: Range[] = [];
    const bs = this.bands;
    for (let t = this.first(q0); t < bs.length && bs[t].q0 < q1; t++) {
      const b = bs[t];
      if (b.q1 <= q0) continue;
      const c = clipBand(b, q0, q1, b.k0, b.k1);
      const r = bandRows(c);
      if (r.end > r.start) out.push({ start: bandRowLo(c, r.start), end: bandRowHi(c, r.end - 1) });
    }
    return mergeSorted(out);
  }

  /** colExtent over several row ranges. */
  colExtentOf(qs: readonly Range[]): Range[] {
    const all: Range[] = [];
    for (const q of qs) for (const r of this.colExtent(q.start, q.end)) all.push(r);
    return mergeSorted(all);
  }

  /**
   * The mask seen by queries qs (concatenated) against keys ks (concatenated), in local
   * coordinates, and its area, skipping (q range, k range) pairs that no band reaches. `only`
   * (indices into qs) limits the visit to the q ranges that can reach ks (the caller knows from
   * their column extents); offsets stay those of the whole concatenation.
   */
  restrictWithArea(qs: readonly Range[], ks: readonly Range[], only?: readonly number[]): { mask: Mask; area: number } {
    const slices: Slice[] = [];
    let area = 0;
    this.visitPairs(
      qs,
      ks,
      (b, q, k, dq, dk) => {
        const c = clipBand(b, q.start, q.end, k.start, k.end);
        const a = bandArea(c);
        if (a === 0) return;
        area += a;
        for (const s of bandToSlices(c)) slices.push(shiftSlice(s, dq - q.start, dk - k.start));
      },
      only,
    );
    slices.sort((x, y) => x.qStart - y.qStart || x.kStart - y.kStart);
    return { mask: { seqlenQ: rangesLength(qs), seqlenK: rangesLength(ks), slices }, area };
  }

  /** Calls fn for every (band, q range, k range) whose clipped band may be non-empty. */
  private visitPairs(
    qs: readonly Range[],
    ks: readonly Range[],
    fn: (b: Band, q: Range, k: Range, dq: number, dk: number) => void,
    only?: readonly number[],
  ): void {
    if (qs.length === 0 || ks.length === 0) return;
    const sk = sortRanges(ks);
    const bs = this.bands;
    const offsets = new Float64Array(qs.length);
    for (let t = 1; t < qs.length; t++) offsets[t] = offsets[t - 1] + qs[t - 1].end - qs[t - 1].start;
    const nq = only ? only.length : qs.length;
    for (let n = 0; n < nq; n++) {
      const qi = only ? only[n] : n;
      const q = qs[qi];
      const dq = offsets[qi];
      for (let t = this.first(q.start); t < bs.length && bs[t].q0 < q.end; t++) {
        const b = bs[t];
        if (b.q1 <= q.start) continue;
        const c = clipBand(b, q.start, q.end, b.k0, b.k1);
        const r = bandRows(c);
        if (r.end <= r.start) continue;
        const c0 = bandRowLo(c, r.start);
        const c1 = bandRowHi(c, r.end - 1);
        for (let m = firstEndAfter(sk, c0); m < sk.start.length && sk.start[m] < c1; m++) {
          fn(b, q, { start: sk.start[m], end: sk.end[m] }, dq, sk.offset[m]);
        }
      }
    }
  }

  /**
   * Area of every row block [t * g, (t + 1) * g) against all keys, in one sweep over the bands:
   * O(bands + blocks touched), never a per-block search.
   */
  rowBlockAreas(g: number): Float64Array {
    const S = this.mask.seqlenQ;
    const n = Math.ceil(S / g);
    const out = new Float64Array(n);
    for (const b of this.bands) {
      const r = bandRows(b);
      if (r.end <= r.start) continue;
      for (let t = Math.floor(r.start / g); t * g < r.end; t++) {
        out[t] += bandArea(clipBand(b, Math.max(r.start, t * g), Math.min(r.end, (t + 1) * g), b.k0, b.k1));
      }
    }
    return out;
  }
}
