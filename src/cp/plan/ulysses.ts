// ulysses (DeepSpeed-Ulysses): all-to-all turns sequence shards into head shards, every rank runs
// full attention for its heads over the whole sequence, all-to-all back. Degree = world.
import type { Planner } from '../types.js';
import { badInput } from '../../errors.js';
import { checkLayoutKeys, checkWorld, layoutInt, type LayoutParam } from './common.js';
import { planHeadRing } from './ring.js';

export const params: readonly LayoutParam[] = [
  { key: 'ulysses', kind: 'int', description: 'the degree; always the world (a plan records it, so its layout plans again)' },
  { key: 'replicate_kv', kind: 'int', description: '1: allow a degree above (or not dividing) the KV heads by replicating K/V heads' },
];

export const plan: Planner = (mask, world, layout, shape) => {
  checkWorld('ulysses', world);
  checkLayoutKeys('ulysses', layout, params);
  const degree = layoutInt('ulysses', layout, 'ulysses', world);
  if (degree !== world) throw badInput(`ulysses: layout ulysses=${degree} must equal the world ${world} (use usp for a smaller Ulysses degree)`);
  const replicateKv = layoutInt('ulysses', layout, 'replicate_kv', 0, 0) > 0;
  const used = { ulysses: world, replicate_kv: replicateKv ? 1 : 0 };
  return planHeadRing('ulysses', mask, world, { ulysses: world, inner: 1, outer: 1, placement: 'head_first', sharding: 'contiguous', replicateKv }, shape, used);
};
