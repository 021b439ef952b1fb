// Exactness checks shared by the adapters. An adapter builds a candidate (a window, documents,
// segments) and proves it equal to the mask by areas: if mask M is inside candidate R, then
// M = R iff area(M) = area(R); otherwise M = R iff area(M) = area(R) = area(M ∩ R).
// Slices are disjoint (src/mask/types.ts), so maskArea is the exact pair count.
import { bandArea, bandRowHi, bandRowLo, bandRows, sliceToBand, type Band } from '../band.js';
import { SliceIndex, maskArea } from '../slices.js';
import type { Mask } from '../types.js';
import type { AdaptResult } from './types.js';

export const ok = <T>(value: T): AdaptResult<T> => ({ kind: 'ok', value });
export const unsupported = <T = never>(reason: string): AdaptResult<T> => ({ kind: 'unsupported', reason });

/** Largest index an Int32Array field can hold. */
export const INT32_MAX = 2 ** 31 - 1;

/** Reason the mask's indices do not fit int32, or undefined. */
export function int32Problem(m: Mask): string | undefined {
  return m.seqlenQ > INT32_MAX || m.seqlenK > INT32_MAX ? `seqlen ${m.seqlenQ}x${m.seqlenK} exceeds int32 indices` : undefined;
}

/** One mask, or one per KV head, as a list of heads of one shape with int32 indices, or why not. */
export function sameShapeHeads(masks: Mask | readonly Mask[]): AdaptResult<{ heads: readonly Mask[]; seqlenQ: number; seqlenK: number }> {
  const heads: readonly Mask[] = Array.isArray(masks) ? masks : [masks as Mask];
  if (heads.length === 0) return unsupported('no heads');
  const { seqlenQ, seqlenK } = heads[0];
  for (const m of heads) {
    const bad = int32Problem(m);
    if (bad) return unsupported(bad);
    if (m.seqlenQ !== seqlenQ || m.seqlenK !== seqlenK) return unsupported('heads differ in shape');
  }
  return ok({ heads, seqlenQ, seqlenK });
}

/** Both bands at once: still a band (rectangle ∩ rectangle, strip ∩ strip). */
export function intersectBands(a: Band, b: Band): Band {
  return {
    q0: Math.max(a.q0, b.q0),
    q1: Math.min(a.q1, b.q1),
    k0: Math.max(a.k0, b.k0),
    k1: Math.min(a.k1, b.k1),
    lo: Math.max(a.lo, b.lo),
    hi: Math.min(a.hi, b.hi),
  };
}

/** The band's pairs with lo <= j - i <= hi. */
export function withDiagonals(b: Band, lo: number, hi: number): Band {
  return { ...b, lo: Math.max(b.lo, lo), hi: Math.min(b.hi, hi) };
}

/** Smallest and largest j - i over the band's unmasked pairs, or undefined if it has none. */
export function diagonalExtent(b: Band): { min: number; max: number } | undefined {
  const r = bandRows(b);
  if (r.end <= r.start) return undefined;
  // j - i at a row's left edge, max(k0 - i, lo), and at its right edge, min(k1 - 1 - i, hi),
  // never grow with i: the extremes sit at the last and the first row.
  const last = r.end - 1;
  return { min: bandRowLo(b, last) - last, max: bandRowHi(b, r.start) - 1 - r.start };
}

/** Extent of j - i over the whole mask, or undefined for an empty mask. */
export function maskDiagonalExtent(m: Mask): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const s of m.slices) {
    const e = diagonalExtent(sliceToBand(s));
    if (!e) continue;
    min = Math.min(min, e.min);
    max = Math.max(max, e.max);
  }
  return min <= max ? { min, max } : undefined;
}

/** Unmasked pairs of the mask with lo <= j - i <= hi. O(slices). */
export function areaOnDiagonals(m: Mask, lo: number, hi: number): number {
  let a = 0;
  for (const s of m.slices) a += bandArea(withDiagonals(sliceToBand(s), lo, hi));
  return a;
}

/** Unmasked pairs of the mask inside the band. O(log slices + slices overlapping its rows). */
export function areaInBand(idx: SliceIndex, b: Band): number {
  let a = 0;
  for (const s of idx.overlapping(b.q0, b.q1, b.k0, b.k1)) a += bandArea(intersectBands(s, b));
  return a;
}

/** Whether two masks over the same grid have the same unmasked pairs (per-head comparisons). */
export function sameMask(a: Mask, b: Mask): boolean {
  if (a.seqlenQ !== b.seqlenQ || a.seqlenK !== b.seqlenK) return false;
  const area = maskArea(a);
  if (area !== maskArea(b)) return false;
  const idx = new SliceIndex(b);
  let common = 0;
  for (const s of a.slices) common += areaInBand(idx, sliceToBand(s));
  return common === area;
}
