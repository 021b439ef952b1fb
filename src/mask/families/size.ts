// Size guard of mask generation (issue 17 follow-up): document masks grow with S / mean document
// length and block-sparse masks with (S / block)^2, so a large S could run for hours or die with
// "Invalid string length" / out of heap. generateMask estimates the slices from the parameters
// (coarse, on the high side) and refuses, exit 2, what would not fit the memory budget or the heap.
import { guardMemory } from '../../util/budget.js';
import { histogramStats, type Histogram } from '../doclen/histogram.js';

/** Heap bytes per slice, rounded up (measured about 150: block_sparse at 64k, 526k slices in 76 MB). */
export const BYTES_PER_SLICE = 200;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);

/** Estimated slices of a mask, from its (coerced) parameters: high by up to 2x for the block-sparse masks. */
export function estimateSlices(seqlen: number, params: Readonly<Record<string, unknown>>, histogram?: Histogram): number {
  const kvHeads = num(params.kvHeads) ?? 1;
  const block = num(params.block) ?? num(params.blockAvg);
  let n = 4 * kvHeads;
  if (block !== undefined && 's' in params) n += kvHeads * (seqlen / block) ** 2 * (num(params.s) ?? 1);
  else if (block !== undefined) n += (2 * seqlen) / block;
  if (histogram) n += (2 * seqlen) / Math.max(1, histogramStats(histogram).mean);
  return n;
}

export function guardMaskSize(id: string, seqlen: number, params: Readonly<Record<string, unknown>>, histogram?: Histogram): void {
  const slices = estimateSlices(seqlen, params, histogram);
  guardMemory(`the ${id} mask at S=${seqlen} (about ${slices.toExponential(1)} slices)`, slices * BYTES_PER_SLICE, { heap: true });
}
