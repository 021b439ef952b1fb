// Which of two tile sets runs a mask faster (triton_ranges, issue 13): a mask of 64-blocks on tiles
// of its own blocks (every tile full or empty, but 64-key dK/dV programs) or on 128-key tiles (fast
// full tiles, but a kept 64-block beside a dropped one makes a partial tile, masked, and in the
// backward computed whole). The estimate counts the area each list makes the kernel compute, in
// token x key units: the forward's inner steps as the kernel walks them (partial tiles trimmed to
// their touched steps), the backward's tiles whole. Partial work weighs `partial` per direction and
// the alternative's full tiles run `speed` times as fast as these tiles', both the kernel's measured
// figures (src/kernels/gpu/triton_ranges.ts). The backward does BWD_FLOPS_FACTOR x the forward's FLOPs.
import { BWD_FLOPS_FACTOR } from '../../results/flops.js';
import { innerSteps } from './ranges-cost.js';
import type { RangesValue } from './types.js';

type PerDirection = { readonly fwd: number; readonly bwd: number };

/** Estimated time of one forward + backward on these lists, in area units at the block tiles' full-tile speed. */
export function listCost(v: RangesValue, speed: PerDirection, partial: PerDirection): number {
  const step = v.tuning.fwdSubN ?? v.tileK;
  const f = innerSteps(v.fwd, v.tileK, step);
  const fwdArea = (f.full + partial.fwd * f.partial) * step * v.tileQ;
  const bwdArea = (v.bwd.fullTiles + partial.bwd * v.bwd.partialTiles) * v.tileQ * v.tileK;
  return fwdArea / speed.fwd + (BWD_FLOPS_FACTOR * bwdArea) / speed.bwd;
}

/** The cheaper of the two lists (ties: the block's own tiles), with both costs. */
export function pickTiles(
  block: RangesValue,
  other: RangesValue,
  alt: { readonly speed: PerDirection; readonly partial: PerDirection },
): { value: RangesValue; picked: 'block' | 'other'; cost: { block: number; other: number } } {
  const cost = { block: listCost(block, { fwd: 1, bwd: 1 }, alt.partial), other: listCost(other, alt.speed, alt.partial) };
  return cost.other < cost.block ? { value: other, picked: 'other', cost } : { value: block, picked: 'block', cost };
}
