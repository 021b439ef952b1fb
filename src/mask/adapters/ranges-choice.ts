// Which of two tile sets runs a mask faster (triton_ranges, issue 13): a mask of 64-blocks on tiles
// of its own blocks (every tile full or empty, but 64-key dK/dV programs) or on 128-key tiles (fast
// full tiles, but a kept 64-block beside a dropped one makes a partial tile, masked, and in the
// backward computed whole). The estimate counts the area each list makes the kernel compute, in
// token x key units: the forward's inner steps as the kernel walks them (partial tiles trimmed to
// their touched steps), the backward's tiles whole; partial work weighs PARTIAL_COST (mask
// evaluation), and the alternative's full-tile speed relative to these tiles is the kernel's
// measured figure (src/kernels/gpu/triton_ranges.ts). The backward does 2.5x the forward's FLOPs.
import { innerSteps, PARTIAL_COST } from './ranges-cost.js';
import type { RangesValue } from './types.js';

/** FLOPs of the backward over the forward (FlashAttention-2's count: SPEC's convention). */
export const BWD_FLOPS_RATIO = 2.5;

/** Estimated time of one forward + backward on these lists, in area units at the tiles' own speed 1 (`speed`: full-tile speed per direction). */
export function listCost(v: RangesValue, speed: { readonly fwd: number; readonly bwd: number }): number {
  const step = v.tuning.fwdSubN ?? v.tileK;
  const f = innerSteps(v.fwd, v.tileK, step);
  const fwdArea = (f.full + PARTIAL_COST * f.partial) * step * v.tileQ;
  const bwdArea = (v.bwd.fullTiles + PARTIAL_COST * v.bwd.partialTiles) * v.tileQ * v.tileK;
  return fwdArea / speed.fwd + (BWD_FLOPS_RATIO * bwdArea) / speed.bwd;
}

/** The cheaper of the two lists (ties: the block's own tiles), with both costs. */
export function pickTiles(
  block: RangesValue,
  other: RangesValue,
  speed: { readonly fwd: number; readonly bwd: number },
): { value: RangesValue; picked: 'block' | 'other'; cost: { block: number; other: number } } {
  const cost = { block: listCost(block, { fwd: 1, bwd: 1 }), other: listCost(other, speed) };
  return cost.other < cost.block ? { value: other, picked: 'other', cost } : { value: block, picked: 'block', cost };
}
