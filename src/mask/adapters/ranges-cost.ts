// Work estimates of triton_ranges' list rows (./ranges.ts orders rows by them, ./ranges-split.ts
// splits long rows by them), in units of one full tile.

/** Cost of a partial tile relative to a full one (mask evaluation, more scalar loads). */
export const PARTIAL_COST = 1.5;
/** Fixed cost of a program (Q load, output write) in full-tile units. */
export const ROW_COST = 1;
