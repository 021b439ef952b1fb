// Splitting long rows of a 'ranges' work list over several programs (issue 13: triton_ranges'
// dK/dV launch at few heads on document masks). The backward list has one row per (mask head, key
// tile); each row is launched as `copies` programs (KV heads per mask head x key splits). On
// document masks a few key tiles (the first tiles of long documents) carry most of the query tiles,
// so with few rows the longest program, not the total, sets the launch's time.
//
// The rule (no family or shape cases): with S = sms x perSm program slots and the ideal load
// I = copies x sum(row costs) / S, every row longer than B = max(I x BOUND, MIN_CHUNK) is cut into
// ceil(cost / B) chunks, each a contiguous range of that row's column tiles [cLo, cHi) of about
// equal cost (runs clipped to the range, partial tiles whole). The split is kept only when the
// greedy LPT schedule of the programs on S slots (what the hardware block scheduler does with the
// launch order) finishes at least GAIN earlier, counting CHUNK_COST per chunk (its fp32 partials,
// written and read back by the reduction) and one REDUCE_COST for the reduction launch. Otherwise
// the list is returned unchanged (byte-identical, no items).
//
// A split list carries, besides the unchanged rows:
//   items     [nItems, 6] the programs in LPT launch order: (row x, run0, run1, part0, part1, slot):
//             runs [run0, run1) of itemRuns, partial tiles [part0, part1) of parts; slot -1: a
//             whole row, stored directly; slot >= 0: a chunk writing float32 dK/dV partials there;
//   itemRuns  [n, 2] the items' full runs, those cut by a chunk's bounds clipped to it (so the
//             kernel clips nothing);
//   splitRows [nSplit, 3] (row x, first slot, chunks): slots of a row are consecutive; a second
//             launch sums them in slot order (deterministic) and writes dK/dV.
import { PARTIAL_COST, ROW_COST } from './ranges-cost.js';
import type { RowSplit, TileList } from './types.js';
import { siftDown } from '../../util/heap.js';

export type { RowSplit } from './types.js';

/** Chunk bounds tried, as fractions of the ideal per-slot load (smaller: more pieces for LPT to pack, more chunk costs). */
export const SPLIT_BOUNDS: readonly number[] = [1, 1 / 2, 1 / 3, 1 / 4];
/** Smallest chunk target in tile units: below it a chunk's fixed costs are not worth it. */
export const MIN_CHUNK = 8;
/** Extra cost of a chunk over a whole row (float32 partials written, read back by the reduction), in tile units. */
export const CHUNK_COST = 1;
/** The reduction launch, in tile units (one short launch after dK/dV). */
export const REDUCE_COST = 2;
/** A split must shorten the predicted launch by at least this fraction. */
export const SPLIT_GAIN = 0.1;
/** Defaults: SMs of the H100 SXM / H200; one dK/dV program per SM (8 warps at ~250 registers). */
export const DEFAULT_SMS = 132;
export const ITEM_WIDTH = 6;

/** Cost of row x (ranges.ts's LPT cost): ROW_COST + full tiles + PARTIAL_COST x partial tiles. */
export function rowCost(l: TileList, x: number): number {
  let c = ROW_COST + PARTIAL_COST * (l.rowParts[x + 1] - l.rowParts[x]);
  for (let t = l.rowRuns[x]; t < l.rowRuns[x + 1]; t++) c += l.runs[2 * t + 1] - l.runs[2 * t];
  return c;
}

const lessValue = (a: number, b: number) => a < b;

/**
 * Makespan of greedy list scheduling on `slots` identical slots: jobs taken in the given order
 * (each repeated `copies` times, consecutively), each to the slot that frees first.
 */
export function listMakespan(costs: ArrayLike<number>, copies: number, slots: number): number {
  const heap = new Float64Array(Math.max(1, slots)); // min-heap of slot finish times (all 0)
  let end = 0;
  for (let i = 0; i < costs.length; i++)
    for (let u = 0; u < copies; u++) {
      const t = heap[0] + costs[i];
      end = Math.max(end, t);
      heap[0] = t;
      siftDown(heap, 0, heap.length, lessValue);
    }
  return end;
}

/** Column ranges [lo, hi) of k chunks of row x of about equal work (runs cut anywhere, partial tiles whole). */
export function chunkColumns(l: TileList, x: number, k: number): number[] {
  // the row's tiles in column order: runs (cost 1 per tile) and partial tiles (PARTIAL_COST)
  const segs: [number, number, number][] = [];
  for (let t = l.rowRuns[x]; t < l.rowRuns[x + 1]; t++) segs.push([l.runs[2 * t], l.runs[2 * t + 1], 1]);
  for (let p = l.rowParts[x]; p < l.rowParts[x + 1]; p++) segs.push([l.parts[5 * p], l.parts[5 * p] + 1, PARTIAL_COST]);
  segs.sort((a, b) => a[0] - b[0]);
  if (segs.length === 0) return [0, l.numCols];
  const work = segs.reduce((s, [a, b, u]) => s + (b - a) * u, 0);
  const first = segs[0][0];
  const last = segs[segs.length - 1][1];
  const cuts = [first];
  let acc = 0;
  let j = 1;
  for (const [a, b, u] of segs) {
    while (j < k && acc + (b - a) * u >= (j * work) / k) {
      const col = Math.min(b, a + Math.max(1, Math.round(((j * work) / k - acc) / u)));
      if (col > cuts[cuts.length - 1] && col < last) cuts.push(col);
      j++;
    }
    acc += (b - a) * u;
  }
  cuts.push(last);
  return cuts;
}

/** What splitRows decided, for notes and tests. */
export interface SplitStats {
  readonly before: number; // predicted launch makespan (tile units), unsplit
  readonly after: number; // the same, split (chunk and reduction costs included)
  readonly ideal: number; // copies x total cost / slots
  readonly splitRows: number;
  readonly chunks: number;
  readonly kept: boolean; // the split list is returned
}

/** Efficiency of a schedule: ideal / makespan. */
export function efficiency(s: SplitStats, split: boolean): number {
  return s.ideal / (split ? s.after : s.before);
}

interface Chunked {
  readonly items: number[][];
  readonly itemCost: number[];
  readonly itemRuns: number[];
  readonly split: number[];
  readonly slots: number;
}

/** Items (x, run0, run1, part0, part1, slot) over itemRuns, every row longer than `bound` cut into chunks. */
function chunkItems(l: TileList, cost: Float64Array, bound: number): Chunked {
  const X = cost.length;
  const items: number[][] = [];
  const itemRuns: number[] = [];
  const itemCost: number[] = [];
  const split: number[] = [];
  let slot = 0;
  for (let x = 0; x < X; x++) {
    const k = Math.ceil(cost[x] / bound);
    const cuts = k > 1 ? chunkColumns(l, x, k) : [];
    if (cuts.length <= 2) {
      const r0 = itemRuns.length / 2;
      for (let t = l.rowRuns[x]; t < l.rowRuns[x + 1]; t++) itemRuns.push(l.runs[2 * t], l.runs[2 * t + 1]);
      items.push([x, r0, itemRuns.length / 2, l.rowParts[x], l.rowParts[x + 1], -1]);
      itemCost.push(cost[x]);
      continue;
    }
    split.push(x, slot, cuts.length - 1);
    let r = l.rowRuns[x];
    let p = l.rowParts[x];
    for (let c = 0; c + 1 < cuts.length; c++) {
      const lo = cuts[c];
      const hi = cuts[c + 1];
      while (r < l.rowRuns[x + 1] && l.runs[2 * r + 1] <= lo) r++;
      const r0 = itemRuns.length / 2;
      let w = ROW_COST + CHUNK_COST;
      for (let r1 = r; r1 < l.rowRuns[x + 1] && l.runs[2 * r1] < hi; r1++) {
        const a = Math.max(lo, l.runs[2 * r1]);
        const b = Math.min(hi, l.runs[2 * r1 + 1]);
        itemRuns.push(a, b);
        w += b - a;
      }
      while (p < l.rowParts[x + 1] && l.parts[5 * p] < lo) p++;
      let p1 = p;
      while (p1 < l.rowParts[x + 1] && l.parts[5 * p1] < hi) p1++;
      w += PARTIAL_COST * (p1 - p);
      items.push([x, r0, itemRuns.length / 2, p, p1, slot++]);
      itemCost.push(w);
      p = p1; // r stays: a run cut at hi continues in the next chunk (the loop above skips runs ending <= lo)
    }
  }
  return { items, itemCost, itemRuns, split, slots: slot };
}

/**
 * The list with its long rows split (items, splitRows), or the same list when splitting does not
 * pay. Rows are cut at each bound of SPLIT_BOUNDS x the ideal load (at least MIN_CHUNK); the bound
 * whose LPT schedule ends first is kept if it beats the unsplit list by SPLIT_GAIN.
 */
export function splitRows(l: TileList, opts: RowSplit, copies: number): { list: TileList; stats: SplitStats } {
  const X = l.rowRuns.length - 1;
  const slots = Math.max(1, Math.floor(opts.sms) * Math.max(1, Math.floor(opts.perSm)));
  const cost = new Float64Array(X);
  let total = 0;
  for (let x = 0; x < X; x++) total += cost[x] = rowCost(l, x);
  const before = listMakespan(Array.from(l.order, (x) => cost[x]), copies, slots);
  const ideal = (copies * total) / slots;
  let best: { after: number; order: number[]; c: Chunked } | null = null;
  let seen = -1;
  for (const f of SPLIT_BOUNDS) {
    const bound = Math.max(ideal * f, MIN_CHUNK);
    if (bound === seen) continue;
    seen = bound;
    const c = chunkItems(l, cost, bound);
    if (c.split.length === 0) continue;
    const order = Array.from(c.items.keys()).sort((a, b) => c.itemCost[b] - c.itemCost[a] || a - b);
    const after = listMakespan(order.map((i) => c.itemCost[i]), copies, slots) + REDUCE_COST;
    if (!best || after < best.after) best = { after, order, c };
  }
  if (!best) return { list: l, stats: { before, ideal, after: before, splitRows: 0, chunks: 0, kept: false } };
  const { after, order, c } = best;
  const stats = { before, ideal, after, splitRows: c.split.length / 3, chunks: c.slots };
  if (after > before * (1 - SPLIT_GAIN)) return { list: l, stats: { ...stats, kept: false } };
  const flat = new Int32Array(c.items.length * ITEM_WIDTH);
  order.forEach((i, n) => flat.set(c.items[i], n * ITEM_WIDTH));
  return { list: { ...l, items: flat, itemRuns: Int32Array.from(c.itemRuns), splitRows: Int32Array.from(c.split) }, stats: { ...stats, kept: true } };
}
