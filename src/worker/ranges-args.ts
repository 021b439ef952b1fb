// Job arguments of the 'ranges' format (triton_ranges): the band table and both work lists as
// binary arrays, the tiles and the kernel's tuning as numbers. Empty tables (no runs, no partial
// tiles) are written as one zero row, so every array has a valid stride; the offsets say they hold nothing.
import { toRanges, type RangesValue, type TileList } from '../mask/adapters/index.js';
import type { Mask } from '../mask/types.js';
import type { ArrayFile } from './arrays.js';
import type { ArrayRef, MaskArg } from './protocol.js';

function nonEmpty(a: Int32Array, width: number): { values: Int32Array; shape: number[] } {
  return a.length > 0 ? { values: a, shape: [a.length / width, width] } : { values: new Int32Array(width), shape: [1, width] };
}

function nonEmptyRef(a: Int32Array, width: number, arrays: ArrayFile): ArrayRef {
  const x = nonEmpty(a, width);
  return arrays.add(x.values, x.shape);
}

function encodeList(l: TileList, arrays: ArrayFile): { [k: string]: MaskArg } {
  const runs = nonEmpty(l.runs, 2);
  const parts = nonEmpty(l.parts, 5);
  const ids = nonEmpty(l.sliceIds, 1);
  return {
    numRows: l.numRows,
    numCols: l.numCols,
    fullTiles: l.fullTiles,
    partialTiles: l.partialTiles,
    rowRuns: arrays.add(l.rowRuns, [l.rowRuns.length]),
    runs: arrays.add(runs.values, runs.shape),
    rowParts: arrays.add(l.rowParts, [l.rowParts.length]),
    parts: arrays.add(parts.values, parts.shape),
    sliceIds: arrays.add(ids.values, [ids.values.length]),
    order: arrays.add(l.order, [l.order.length]),
    ...(l.progStart ? { progStart: arrays.add(l.progStart, [l.progStart.length]) } : {}),
    ...(l.items && l.itemRuns && l.splitRows
      ? {
          items: arrays.add(l.items, [l.items.length / 6, 6]),
          itemRuns: nonEmptyRef(l.itemRuns, 2, arrays),
          splitRows: arrays.add(l.splitRows, [l.splitRows.length / 3, 3]),
        }
      : {}),
  };
}

export function encodeRanges(v: RangesValue, arrays: ArrayFile): { [k: string]: MaskArg } {
  const bands = nonEmpty(v.bands, 6);
  return {
    heads: v.heads,
    tileQ: v.tileQ,
    tileK: v.tileK,
    tuning: { ...v.tuning },
    ...(v.fwdMeanSteps !== undefined ? { fwdMeanSteps: Math.round(v.fwdMeanSteps * 10) / 10 } : {}),
    // the tile choice's estimate, for the row's notes: the kept tiles' cost over the other's (<= 1)
    ...(v.tileChoice ? { tileChoice: { other: v.tileChoice.picked === 'other' ? 1 : 0, ratio: Math.round((1000 * Math.min(v.tileChoice.cost.block, v.tileChoice.cost.other)) / Math.max(v.tileChoice.cost.block, v.tileChoice.cost.other)) / 1000 } } : {}),
    bands: arrays.add(bands.values, bands.shape),
    fwd: encodeList(v.fwd, arrays),
    bwd: encodeList(v.bwd, arrays),
  };
}

/** Query tiles (tokens) of the CP step lists: the worker takes 128 / (GQA group) of them, so a program has 128 rows. */
export const STEP_TILES_Q = [16, 32, 64, 128] as const;
const STEP_TILE_K = 128;

function flatten(prefix: string, v: { [k: string]: MaskArg }, out: Record<string, ArrayRef | number>): void {
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof x === 'number') out[key] = x;
    else if (x && typeof x === 'object' && 'path' in x) out[key] = x as ArrayRef;
    else if (x && typeof x === 'object') flatten(key, x as { [k: string]: MaskArg }, out);
  }
}

/**
 * CP hook (src/cp/torch/partial-arrays.ts): the step mask's lists at every query tile of
 * STEP_TILES_Q (the step's heads, hence the GQA pack, are known only to the worker), flattened as
 * `t<tileQ>.<key>` ("t16.fwd.rowRuns", "t16.bands", ...), numbers or int32 arrays.
 */
export function rangesStepArrays(m: Mask, arrays: ArrayFile): Record<string, ArrayRef | number> {
  const out: Record<string, ArrayRef | number> = {};
  for (const tileQ of STEP_TILES_Q) {
    const r = toRanges(m, { ranges: { tileQ, tileK: STEP_TILE_K } });
    if (r.kind !== 'ok') throw new Error(`mask ${m.seqlenQ}x${m.seqlenK}: no ranges lists: ${r.reason}`);
    flatten(`t${tileQ}`, encodeRanges(r.value, arrays), out);
  }
  return out;
}
