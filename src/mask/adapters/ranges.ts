// 'ranges' format: the work lists of triton_ranges (issue 13), built from the slices in
// O(slices + row tiles spanned + edge tiles) plus a sort of the edge tiles. Never per token, never
// per full tile: a row of fully unmasked tiles is one run.
//
// Every slice is a band (src/mask/band.ts): rows [q0, q1) x columns [k0, k1) with
// lo <= j - i <= hi. The kernel evaluates a band with six integer compares, so a partial tile needs
// only the ids of the bands that cut it. The grid is cut into tiles of tileQ query tokens x tileK
// keys (with GQA packing the kernel stacks the query heads of one KV group along M, so its
// program rows are tileQ tokens x pack heads).
//
// Two lists over the same tiles:
//   forward  per (mask head, query tile): runs of full key tiles, then partial key tiles with the
//            ids of the bands that cut them;
//   backward the transpose, per (mask head, key tile): runs of full query tiles and partial query
//            tiles. Built from the transposed bands (rows = keys), so it is O(slices + tiles) too.
// A tile is full when one band covers it or when the bands that cut it cover it together (areas).
// Each list carries its program order: rows by estimated cost, longest first (LPT), every row
// included (rows with no work still write zeros / -inf). With tuning.programs = G it also carries
// the persistent grid's schedule: the rows dealt LPT-greedily to G programs (progStart), which
// the kernel uses when tuning.persistent = 1 (each program loops over its share).
import { bandArea, bandRows, clipBand, sliceToBand, type Band } from '../band.js';
import type { Mask } from '../types.js';
import { ok, sameShapeHeads, unsupported } from './exact.js';
import { innerSteps, PARTIAL_COST, ROW_COST } from './ranges-cost.js';
import { pickTiles } from './ranges-choice.js';
import { splitRows } from './ranges-split.js';
import type { AdaptOptions, AdaptResult, RangesTiles, RangesValue, TileList } from './types.js';
import { siftDown } from '../../util/heap.js';

/** Stand-in for an unbounded diagonal in the int32 band table (|i|, |j| < 2^30 then never overflow). */
export const BAND_INF = 2 ** 30;
export { innerSteps, PARTIAL_COST } from './ranges-cost.js';

export type { RangesTiles, RangesValue, RowSplit, TileList } from './types.js';

/** Default tiles (no GQA packing): 128 x 128. */
export const DEFAULT_RANGES_TILES: RangesTiles = { tileQ: 128, tileK: 128 };

/** A growable int32 buffer. */
class IntBuf {
  a = new Int32Array(64);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  view(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

function finite(x: number): number {
  return x === -Infinity ? -BAND_INF : x === Infinity ? BAND_INF : x;
}

function transposeBand(b: Band): Band {
  return { q0: b.k0, q1: b.k1, k0: b.q0, k1: b.q1, lo: -b.hi, hi: -b.lo };
}

interface ListInput {
  readonly bands: readonly Band[]; // all heads, in id order
  readonly headOf: Int32Array; // band id -> mask head
  readonly heads: number;
  readonly nRows: number; // tokens along rows
  readonly nCols: number;
  readonly tileR: number;
  readonly tileC: number;
  /** > 0: also the persistent grid's schedule over that many programs (LPT shares, progStart). */
  readonly programs?: number;
}

/**
 * Longest processing time first over `programs` workers: rows in `order` (cost descending), each
 * to the least-loaded program so far (ties: lowest index). -> order regrouped by program (each
 * share keeps the descending cost order) and progStart [programs + 1]. O(X log programs).
 */
export function lptShares(order: Int32Array, cost: Float64Array, programs: number): { order: Int32Array; progStart: Int32Array; load: Float64Array } {
  const G = programs;
  const load = new Float64Array(G);
  const heap = Int32Array.from({ length: G }, (_, i) => i); // min-heap of programs by (load, index)
  const less = (a: number, b: number) => load[a] < load[b] || (load[a] === load[b] && a < b);
  const owner = new Int32Array(order.length);
  const count = new Int32Array(G);
  for (let i = 0; i < order.length; i++) {
    const p = heap[0];
    owner[i] = p;
    count[p]++;
    load[p] += cost[order[i]];
    siftDown(heap, 0, G, less);
  }
  const progStart = new Int32Array(G + 1);
  for (let p = 0; p < G; p++) progStart[p + 1] = progStart[p] + count[p];
  const fill = progStart.slice(0, G);
  const out = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) out[fill[owner[i]]++] = order[i];
  return { order: out, progStart, load };
}

/**
 * Work list over row tiles of tileR x column tiles of tileC. Per band and row tile: the columns
 * every row of the tile covers (full column tiles) and those some row covers (touched); touched but
 * not full tiles are partial, tagged with the band. Partial tiles cut by several bands are full if
 * their areas add up to the tile.
 */
export function buildTileList(inp: ListInput): TileList {
  const { bands, headOf, heads, nRows, nCols, tileR, tileC } = inp;
  const R = Math.ceil(nRows / tileR);
  const C = Math.ceil(nCols / tileC);
  const runRow = new IntBuf(); // global row x
  const runC0 = new IntBuf();
  const runC1 = new IntBuf();
  const partKey: number[] = []; // (x * C + col) * 2^23 + band id, sorted later
  const idBits = 2 ** Math.max(1, Math.ceil(Math.log2(bands.length + 1)));
  if ((heads * R * C + 1) * idBits >= 2 ** 53) throw new Error('ranges: tile grid too large for the sort key');
  for (let id = 0; id < bands.length; id++) {
    const b = bands[id];
    const rows = bandRows(b);
    if (rows.end <= rows.start) continue;
    const h = headOf[id];
    for (let r = Math.floor(rows.start / tileR); r * tileR < rows.end; r++) {
      const t0 = r * tileR;
      const t1 = Math.min(nRows, t0 + tileR);
      const sub = bandRows(clipBand(b, t0, t1, b.k0, b.k1));
      if (sub.end <= sub.start) continue;
      // touched columns: union over the tile's band rows (contiguous for a band)
      const minLo = Math.max(b.k0, sub.start + b.lo);
      const maxHi = Math.min(b.k1, sub.end - 1 + b.hi + 1);
      // full columns: covered by every row of the whole tile (the tile must be whole and inside the band's rows)
      let f0 = 0;
      let f1 = 0;
      if (t1 - t0 === tileR && sub.start === t0 && sub.end === t1) {
        const maxLo = Math.max(b.k0, t1 - 1 + b.lo);
        const minHi = Math.min(b.k1, t0 + b.hi + 1);
        if (minHi > maxLo) {
          f0 = Math.ceil(maxLo / tileC);
          f1 = Math.floor(minHi / tileC); // tiles [f0, f1) lie inside [maxLo, minHi) <= nCols
          if (f1 < f0) f1 = f0;
        }
      }
      const x = h * R + r;
      if (f1 > f0) {
        runRow.push(x);
        runC0.push(f0);
        runC1.push(f1);
      }
      const c0 = Math.floor(minLo / tileC);
      const c1 = Math.ceil(maxHi / tileC);
      for (let c = c0; c < c1; c++) {
        if (c >= f0 && c < f1) {
          c = f1 - 1;
          continue;
        }
        partKey.push((x * C + c) * idBits + id);
      }
    }
  }
  const keys = Float64Array.from(partKey).sort();
  // Group partial tuples by tile; tiles whose bands cover them together become full.
  const parts = new IntBuf();
  const sliceIds = new IntBuf();
  const partRow = new IntBuf();
  for (let s = 0; s < keys.length; ) {
    const tile = Math.floor(keys[s] / idBits);
    let e = s + 1;
    while (e < keys.length && Math.floor(keys[e] / idBits) === tile) e++;
    const x = Math.floor(tile / C);
    const c = tile - x * C;
    let full = false;
    if (e - s > 1) {
      const r = x % R;
      const t0 = r * tileR;
      const t1 = t0 + tileR;
      const k0 = c * tileC;
      const k1 = k0 + tileC;
      if (t1 <= nRows && k1 <= nCols) {
        let area = 0;
        for (let u = s; u < e; u++) area += bandArea(clipBand(bands[keys[u] - tile * idBits], t0, t1, k0, k1));
        full = area === tileR * tileC;
      }
    }
    if (full) {
      runRow.push(x);
      runC0.push(c);
      runC1.push(c + 1);
    } else {
      // columns the bands touch inside the tile (each band clipped to the tile is a band)
      const r = x % R;
      const t0 = r * tileR;
      const t1 = Math.min(nRows, t0 + tileR);
      const k0 = c * tileC;
      const k1 = Math.min(nCols, k0 + tileC);
      let lo = k1;
      let hi = k0;
      for (let u = s; u < e; u++) {
        const b = clipBand(bands[keys[u] - tile * idBits], t0, t1, k0, k1);
        const rows = bandRows(b);
        if (rows.end <= rows.start) continue;
        lo = Math.min(lo, Math.max(b.k0, rows.start + b.lo));
        hi = Math.max(hi, Math.min(b.k1, rows.end - 1 + b.hi + 1));
      }
      partRow.push(x);
      parts.push(c);
      parts.push(sliceIds.n);
      parts.push(e - s);
      parts.push(lo);
      parts.push(hi);
      for (let u = s; u < e; u++) sliceIds.push(keys[u] - tile * idBits);
    }
    s = e;
  }
  // Runs: sort by (row, c0), merge touching runs of a row.
  const nr = runRow.n;
  const runOrder = Array.from({ length: nr }, (_, i) => i).sort((a, b) => runRow.a[a] - runRow.a[b] || runC0.a[a] - runC0.a[b]);
  const X = heads * R;
  const rowRuns = new Int32Array(X + 1);
  const runs = new IntBuf();
  const fullPerRow = new Float64Array(X);
  let lastX = -1;
  for (const i of runOrder) {
    const x = runRow.a[i];
    const a = runC0.a[i];
    const b = runC1.a[i];
    fullPerRow[x] += b - a;
    if (x === lastX && runs.a[runs.n - 1] === a) runs.a[runs.n - 1] = b;
    else {
      runs.push(a);
      runs.push(b);
      rowRuns[x + 1]++;
    }
    lastX = x;
  }
  for (let x = 0; x < X; x++) rowRuns[x + 1] += rowRuns[x];
  const rowParts = new Int32Array(X + 1);
  for (let p = 0; p < partRow.n; p++) rowParts[partRow.a[p] + 1]++;
  for (let x = 0; x < X; x++) rowParts[x + 1] += rowParts[x];
  // LPT order: cost = ROW_COST + full tiles + PARTIAL_COST x partial tiles; ties by row index.
  const cost = new Float64Array(X);
  let fullTiles = 0;
  for (let x = 0; x < X; x++) {
    cost[x] = ROW_COST + fullPerRow[x] + PARTIAL_COST * (rowParts[x + 1] - rowParts[x]);
    fullTiles += fullPerRow[x];
  }
  const lpt = Int32Array.from({ length: X }, (_, i) => i).sort((a, b) => cost[b] - cost[a] || a - b);
  const shares = inp.programs && inp.programs > 0 ? lptShares(lpt, cost, inp.programs) : null;
  const order = shares ? shares.order : lpt;
  return {
    numRows: R,
    numCols: C,
    rowRuns,
    runs: runs.view(),
    rowParts,
    parts: parts.view(),
    sliceIds: sliceIds.view(),
    order,
    fullTiles,
    partialTiles: partRow.n,
    ...(shares ? { progStart: shares.progStart } : {}),
  };
}

/**
 * Mean inner steps of `step` keys per row of a forward list (every mask head x query tile, empty
 * rows included): full runs count tileC / step each; a partial tile counts the steps from the one
 * holding its first touched column to its last (as the kernel walks them).
 */
export function meanInnerSteps(l: TileList, tileC: number, step: number): number {
  const X = l.rowRuns.length - 1;
  const { full, partial } = innerSteps(l, tileC, step);
  return X > 0 ? (full + partial) / X : 0;
}

/** Share of a forward list's inner steps that are partial-tile steps (0 when it has none). */
export function partialStepShare(l: TileList, tileC: number, step: number): number {
  const { full, partial } = innerSteps(l, tileC, step);
  return full + partial > 0 ? partial / (full + partial) : 0;
}

/** The bands of every head, concatenated (id order = head-major, slice order within a head). */
function headBands(heads: readonly Mask[]): { bands: Band[]; headOf: Int32Array } {
  const bands: Band[] = [];
  const owner: number[] = [];
  heads.forEach((m, h) => {
    for (const s of m.slices) {
      bands.push(sliceToBand(s));
      owner.push(h);
    }
  });
  return { bands, headOf: Int32Array.from(owner) };
}

/** Tiles of the ranges format from the adapter options (multiples of 16 tokens by default 128 x 128). */
export function rangesTilesOf(opts: AdaptOptions): RangesTiles {
  return opts.ranges ?? DEFAULT_RANGES_TILES;
}

/** Forward and backward work lists of one mask (or one per KV head). */
export function toRanges(masks: Mask | readonly Mask[], opts: AdaptOptions = {}): AdaptResult<RangesValue> {
  const tiles = rangesTilesOf(opts);
  if (tiles.alternative) {
    const { alternative: alt, ...own } = tiles;
    const block = toRanges(masks, { ...opts, ranges: own });
    if (alt.pick === 'block' || block.kind !== 'ok') return block;
    const other = toRanges(masks, { ...opts, ranges: alt.tiles });
    if (alt.pick === 'other') return other;
    if (other.kind !== 'ok') return block;
    const { value, picked, cost } = pickTiles(block.value, other.value, alt);
    return ok({ ...value, tileChoice: { picked, cost } });
  }
  const shape = sameShapeHeads(masks);
  if (shape.kind !== 'ok') return shape;
  const { heads, seqlenQ, seqlenK } = shape.value;
  if (seqlenQ >= BAND_INF || seqlenK >= BAND_INF) return unsupported(`seqlen ${seqlenQ}x${seqlenK} exceeds the band table's 2^30`);
  const { tileQ, tileK, tuning: given = {}, refuse, shortLoops, partialSteps, bwdSplit } = rangesTilesOf(opts);
  let tuning = given;
  if (refuse) return unsupported(refuse);
  if (!(tileQ >= 1 && tileK >= 1)) return unsupported(`bad tiles ${tileQ}x${tileK}`);
  const { bands, headOf } = headBands(heads);
  const table = new Int32Array(bands.length * 6);
  bands.forEach((b, i) => table.set([b.q0, b.q1, b.k0, b.k1, finite(b.lo), finite(b.hi)], i * 6));
  const H = heads.length;
  // the persistent grid's programs (its schedule rides along; tuning.persistent switches it on). Its
  // shares regroup the lists' order by program, which is also the launch order without the grid;
  // tuning.lptLaunch 1 keeps the plain LPT launch order then (src/bench/ranges-l2.ts: L2 reuse). With 2
  // (the forward's order only) the lists keep the shares, so a variant may still launch the persistent
  // grid over them, and the worker re-sorts the forward's order (python triton_ranges.plain_lpt, the same order)
  const programs = tuning.lptLaunch === 1 && !tuning.persistent ? 0 : (tuning.programs ?? 0);
  const fwd = buildTileList({ bands, headOf, heads: H, nRows: seqlenQ, nCols: seqlenK, tileR: tileQ, tileC: tileK, programs });
  let bwd = buildTileList({ bands: bands.map(transposeBand), headOf, heads: H, nRows: seqlenK, nCols: seqlenQ, tileR: tileK, tileC: tileQ, programs });
  // long key tiles over several programs (float32 partials + an ordered reduction); not with the persistent grid (whole rows)
  if (bwdSplit && !tuning.persistent && bwdSplit.kvHeads % H === 0) bwd = splitRows(bwd, bwdSplit, (bwdSplit.kvHeads / H) * Math.max(1, bwdSplit.keySplits)).list;
  let fwdPartialShare: number | undefined;
  if (partialSteps) {
    fwdPartialShare = partialStepShare(fwd, tileK, partialSteps.stepKeys);
    if (fwdPartialShare >= partialSteps.atLeast) tuning = { ...tuning, ...partialSteps.tuning };
  }
  const share = fwdPartialShare !== undefined ? { fwdPartialShare } : {};
  if (!shortLoops) return ok({ heads: H, seqlenQ, seqlenK, tileQ, tileK, tuning, ...share, bands: table, fwd, bwd });
  const fwdMeanSteps = meanInnerSteps(fwd, tileK, shortLoops.stepKeys);
  const chosen = fwdMeanSteps < shortLoops.belowSteps ? { ...tuning, ...shortLoops.tuning } : tuning;
  return ok({ heads: H, seqlenQ, seqlenK, tileQ, tileK, tuning: chosen, fwdMeanSteps, ...share, bands: table, fwd, bwd });
}
