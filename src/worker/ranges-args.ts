// Job arguments of the 'ranges' format (triton_ranges): the band table and both work lists as
// binary arrays, the tiles and the kernel's tuning as numbers. Empty tables (no runs, no partial
// tiles) are written as one zero row, so every array has a valid stride; the offsets say they hold nothing.
import type { RangesValue, TileList } from '../mask/adapters/index.js';
import type { ArrayFile } from './arrays.js';
import type { MaskArg } from './protocol.js';

function nonEmpty(a: Int32Array, width: number): { values: Int32Array; shape: number[] } {
  return a.length > 0 ? { values: a, shape: [a.length / width, width] } : { values: new Int32Array(width), shape: [1, width] };
}

function encodeList(l: TileList, arrays: ArrayFile): { [k: string]: MaskArg } {
  const runs = nonEmpty(l.runs, 2);
  const parts = nonEmpty(l.parts, 3);
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
  };
}

export function encodeRanges(v: RangesValue, arrays: ArrayFile): { [k: string]: MaskArg } {
  const bands = nonEmpty(v.bands, 6);
  return {
    heads: v.heads,
    tileQ: v.tileQ,
    tileK: v.tileK,
    tuning: { ...v.tuning },
    bands: arrays.add(bands.values, bands.shape),
    fwd: encodeList(v.fwd, arrays),
    bwd: encodeList(v.bwd, arrays),
  };
}
