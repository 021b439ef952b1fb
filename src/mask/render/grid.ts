// The picture's cells: the Sq x Sk grid cut into at most rows x cols rectangles, each shaded by the
// exact fraction of its pairs that are unmasked. Never dense: every pixel row asks the slice index
// for the slices crossing it, and each slice adds its exact (band) area to the cells it spans, so
// the cost is O(rows x slices per row + cells the slices touch), whatever S is.
import { bandArea, bandRowHi, bandRowLo, bandRows, clipBand } from '../band.js';
import { SliceIndex } from '../slices.js';
import type { Mask } from '../types.js';

export interface ShadeGrid {
  readonly rows: number;
  readonly cols: number;
  /** Cell edges in tokens: cell (r, c) is [edgesQ[r], edgesQ[r+1]) x [edgesK[c], edgesK[c+1]). */
  readonly edgesQ: readonly number[];
  readonly edgesK: readonly number[];
  /** Unmasked pairs per cell, row-major. */
  readonly area: Float64Array;
}

/** n + 1 edges splitting [0, s) into n non-empty parts (n <= s), floor(p * s / n). */
export function cellEdges(s: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, p) => Math.floor((p * s) / n));
}

/** The part of [0, s) split into n parts by cellEdges that holds index x. */
export function cellOf(x: number, s: number, n: number): number {
  // edges[c] <= x < edges[c+1]  <=>  c = ceil((x + 1) n / s) - 1
  return Math.ceil(((x + 1) * n) / s) - 1;
}

/** Exact unmasked area of every cell of a rows x cols split (rows <= Sq, cols <= Sk). */
export function shadeGrid(m: Mask, rows: number, cols: number): ShadeGrid {
  const edgesQ = cellEdges(m.seqlenQ, rows);
  const edgesK = cellEdges(m.seqlenK, cols);
  const area = new Float64Array(rows * cols);
  const idx = new SliceIndex(m);
  for (let r = 0; r < rows; r++) {
    const q0 = edgesQ[r];
    const q1 = edgesQ[r + 1];
    for (const band of idx.overlapping(q0, q1)) {
      const b = clipBand(band, q0, q1, 0, m.seqlenK);
      const span = bandRows(b);
      if (span.end <= span.start) continue;
      // Row edges never move left going down, so the band's columns are [lo(first), hi(last)).
      const c0 = cellOf(bandRowLo(b, span.start), m.seqlenK, cols);
      const c1 = cellOf(bandRowHi(b, span.end - 1) - 1, m.seqlenK, cols);
      for (let c = c0; c <= c1; c++) area[r * cols + c] += bandArea(clipBand(b, q0, q1, edgesK[c], edgesK[c + 1]));
    }
  }
  return { rows, cols, edgesQ, edgesK, area };
}

/** Fraction of cell (r, c) that is unmasked. */
export function cellFraction(g: ShadeGrid, r: number, c: number): number {
  const cells = (g.edgesQ[r + 1] - g.edgesQ[r]) * (g.edgesK[c + 1] - g.edgesK[c]);
  return g.area[r * g.cols + c] / cells;
}
