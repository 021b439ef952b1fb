// Band: the one geometric primitive behind every slice operation.
//
// A band is a rectangle [q0, q1) x [k0, k1) intersected with the diagonal strip lo <= j - i <= hi
// (global indices; lo may be -Infinity, hi +Infinity). Every slice kind is a band, a band clipped
// to any rectangle is still a band, and a band splits back into at most three canonical slices:
//
//        k0                 k1        rows where i + lo  > k0  -> left edge is the diagonal
//   q0  +--\------------------+       rows where i + hi < k1-1 -> right edge is the diagonal
//       |   \xxxxxxxx\        |       each row interval with fixed edge types is one slice:
//       |    \xxxxxxxxx\      |         (const, const) full   (const, diag) causal
//       |     \xxxxxxxxxx\    |         (diag, const) invcausal   (diag, diag) bicausal
//   q1  +------\-----------\--+
import type { Slice } from './types.js';

export interface Band {
  readonly q0: number;
  readonly q1: number;
  readonly k0: number;
  readonly k1: number;
  /** Smallest allowed j - i (inclusive), or -Infinity. */
  readonly lo: number;
  /** Largest allowed j - i (inclusive), or +Infinity. */
  readonly hi: number;
}

/** A row interval [a, b) of a band where both column edges have a fixed type. */
interface Piece {
  readonly a: number;
  readonly b: number;
  readonly loDiag: boolean;
  readonly hiDiag: boolean;
}

export function sliceToBand(s: Slice): Band {
  const d = s.kEnd - s.kStart - (s.qEnd - s.qStart);
  const base = s.kStart - s.qStart; // j - i at the slice's top-left corner
  switch (s.kind) {
    case 'full':
      return { q0: s.qStart, q1: s.qEnd, k0: s.kStart, k1: s.kEnd, lo: -Infinity, hi: Infinity };
    case 'causal':
      return { q0: s.qStart, q1: s.qEnd, k0: s.kStart, k1: s.kEnd, lo: -Infinity, hi: base + d };
    case 'invcausal':
      return { q0: s.qStart, q1: s.qEnd, k0: s.kStart, k1: s.kEnd, lo: base, hi: Infinity };
    case 'bicausal':
      return { q0: s.qStart, q1: s.qEnd, k0: s.kStart, k1: s.kEnd, lo: base, hi: base + d };
  }
}

/** Clip a band to the rectangle [q0, q1) x [k0, k1). */
export function clipBand(b: Band, q0: number, q1: number, k0: number, k1: number): Band {
  return {
    q0: Math.max(b.q0, q0),
    q1: Math.min(b.q1, q1),
    k0: Math.max(b.k0, k0),
    k1: Math.min(b.k1, k1),
    lo: b.lo,
    hi: b.hi,
  };
}

/** Rows of the band that hold at least one unmasked pair: [start, end), possibly empty. */
export function bandRows(b: Band): { start: number; end: number } {
  if (b.k1 <= b.k0 || b.lo > b.hi) return { start: b.q0, end: b.q0 };
  const start = Math.max(b.q0, b.k0 - b.hi);
  const end = Math.min(b.q1, b.k1 - b.lo);
  return end > start ? { start, end } : { start: b.q0, end: b.q0 };
}

/** First unmasked column of global row i (caller ensures i is a band row). */
export function bandRowLo(b: Band, i: number): number {
  return Math.max(b.k0, i + b.lo);
}

/** One past the last unmasked column of global row i (caller ensures i is a band row). */
export function bandRowHi(b: Band, i: number): number {
  return Math.min(b.k1, i + b.hi + 1);
}

function pieces(b: Band): Piece[] {
  const { start, end } = bandRows(b);
  if (end <= start) return [];
  const cuts = [start];
  const pLo = b.k0 - b.lo; // rows i >= pLo: left edge follows the diagonal
  const pHi = b.k1 - b.hi; // rows i <  pHi: right edge follows the diagonal
  for (const p of pLo < pHi ? [pLo, pHi] : [pHi, pLo]) if (p > start && p < end) cuts.push(p);
  cuts.push(end);
  const out: Piece[] = [];
  for (let t = 0; t + 1 < cuts.length; t++) {
    const a = cuts[t];
    if (cuts[t + 1] > a) out.push({ a, b: cuts[t + 1], loDiag: a >= pLo, hiDiag: a < pHi });
  }
  return out;
}

/** Exact number of unmasked pairs in the band. O(1). */
export function bandArea(b: Band): number {
  let area = 0;
  for (const p of pieces(b)) {
    const n = p.b - p.a;
    const sumI = (n * (p.a + p.b - 1)) / 2;
    if (!p.loDiag && !p.hiDiag) area += n * (b.k1 - b.k0);
    else if (!p.loDiag) area += n * (b.hi - b.k0 + 1) + sumI;
    else if (!p.hiDiag) area += n * (b.k1 - b.lo) - sumI;
    else area += n * (b.hi - b.lo + 1);
  }
  return area;
}

/** Split a band into at most three canonical slices (global coordinates). */
export function bandToSlices(b: Band): Slice[] {
  return pieces(b).map((p): Slice => {
    if (!p.loDiag && !p.hiDiag) return { qStart: p.a, qEnd: p.b, kStart: b.k0, kEnd: b.k1, kind: 'full' };
    if (!p.loDiag) return { qStart: p.a, qEnd: p.b, kStart: b.k0, kEnd: p.b + b.hi, kind: 'causal' };
    if (!p.hiDiag) return { qStart: p.a, qEnd: p.b, kStart: p.a + b.lo, kEnd: b.k1, kind: 'invcausal' };
    return { qStart: p.a, qEnd: p.b, kStart: p.a + b.lo, kEnd: p.b + b.hi, kind: 'bicausal' };
  });
}
