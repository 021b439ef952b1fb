// Work estimates of triton_ranges' list rows (./ranges.ts orders rows by them, ./ranges-split.ts
// splits long rows by them), in units of one full tile.
import type { TileList } from './types.js';

/** Cost of a partial tile relative to a full one (mask evaluation, more scalar loads). */
export const PARTIAL_COST = 1.5;
/** Fixed cost of a program (Q load, output write) in full-tile units. */
export const ROW_COST = 1;

/** Inner steps of `step` keys of a forward list: in full runs, and in partial tiles (trimmed as the kernel walks them). */
export function innerSteps(l: TileList, tileC: number, step: number): { full: number; partial: number } {
  let full = 0;
  let partial = 0;
  for (let t = 0; t < l.runs.length; t += 2) full += ((l.runs[t + 1] - l.runs[t]) * tileC) / step;
  for (let p = 0; p < l.parts.length; p += 5) {
    const c = l.parts[p];
    const lo = l.parts[p + 3];
    const hi = l.parts[p + 4];
    if (hi > lo) partial += Math.ceil((hi - (lo - ((lo - c * tileC) % step))) / step);
  }
  return { full, partial };
}
