// ulysses (DeepSpeed-Ulysses): all-to-all turns sequence shards into head shards, every rank runs
// full attention for its heads over the whole sequence, all-to-all back. Degree = world.
import type { Mask } from '../../mask/types.js';
import type { CpLayout, CpShape, Planner } from '../types.js';
import { badInput } from '../../errors.js';
import { checkLayoutKeys, checkWorld, layoutInt, type LayoutParam } from './common.js';
import { planHeadRing, type HeadRingLayout } from './ring.js';

export const params: readonly LayoutParam[] = [
  { key: 'ulysses', kind: 'int', description: 'the degree; always the world (a plan records it, so its layout plans again)' },
  { key: 'replicate_kv', kind: 'int', description: '1: allow a degree above (or not dividing) the KV heads by replicating K/V heads' },
];

/** The head x ring layout of a ulysses request (contiguous shards), and the layout the plan records. */
export function headRing(_mask: Mask, world: number, layout: CpLayout, _shape: CpShape): { ly: HeadRingLayout; used: CpLayout } {
  checkWorld('ulysses', world);
  checkLayoutKeys('ulysses', layout, params);
  const degree = layoutInt('ulysses', layout, 'ulysses', world);
  if (degree !== world) throw badInput(`ulysses: layout ulysses=${degree} must equal the world ${world} (use usp for a smaller Ulysses degree)`);
  const replicateKv = layoutInt('ulysses', layout, 'replicate_kv', 0, 0) > 0;
  return {
    ly: { ulysses: world, inner: 1, outer: 1, placement: 'head_first', sharding: 'contiguous', replicateKv },
    used: { ulysses: world, replicate_kv: replicateKv ? 1 : 0 },
  };
}

export const plan: Planner = (mask, world, layout, shape) => {
  const { ly, used } = headRing(mask, world, layout, shape);
  return planHeadRing('ulysses', mask, world, ly, shape, used);
};
