// loongtrain (LoongTrain, Gu et al. 2024): head-parallel degree hp x context degree cp; the cp
// ranks of a head group form a double ring: inner rings of `window` ranks (inside a node), an
// outer ring across them whose transfers overlap the inner ring's compute.
import { badInput } from '../../errors.js';
import type { Mask } from '../../mask/types.js';
import type { CpLayout, CpShape, Planner } from '../types.js';
import { checkLayoutKeys, checkWorld, layoutEnum, layoutInt, ringSharding, SHARDING_HELP, SHARDINGS, type LayoutParam } from './common.js';
import { PLACEMENTS, planHeadRing, type HeadRingLayout } from './ring.js';
import { defaultHeadDegree, twoDegrees } from './usp.js';

export const params: readonly LayoutParam[] = [
  { key: 'hp', kind: 'int', description: 'head-parallel (Ulysses) degree' },
  { key: 'cp', kind: 'int', description: 'context-parallel degree (P / hp)' },
  { key: 'window', kind: 'int', description: 'inner ring size w, divides cp (default: the largest divisor of cp whose inner ring fits in a node of 8 ranks)' },
  { key: 'placement', kind: 'enum', values: PLACEMENTS, description: 'context_first (default: context ranks consecutive) or head_first' },
  { key: 'sharding', kind: 'enum', values: SHARDINGS, description: SHARDING_HELP },
  { key: 'replicate_kv', kind: 'int', description: '1: allow hp above the KV heads by replicating K/V heads' },
];

/** The head x ring layout of a loongtrain request, and the layout the plan records. */
export function headRing(mask: Mask, world: number, layout: CpLayout, shape: CpShape): { ly: HeadRingLayout; used: CpLayout } {
  checkWorld('loongtrain', world);
  checkLayoutKeys('loongtrain', layout, params);
  const given = (k: string) => (layout[k] === undefined ? undefined : layoutInt('loongtrain', layout, k, 1));
  const [hp, cp] = twoDegrees('loongtrain', world, { key: 'hp', value: given('hp') }, { key: 'cp', value: given('cp') }, defaultHeadDegree(world, shape));
  const placement = layoutEnum('loongtrain', layout, 'placement', PLACEMENTS, 'context_first');
  let window = given('window');
  if (window === undefined) {
    // Inner rings inside a node of 8: w consecutive ranks (context_first) or w x hp (head_first).
    const span = placement === 'context_first' ? 1 : hp;
    window = 1;
    for (let d = 1; d <= cp; d++) if (cp % d === 0 && d * span <= 8) window = d;
  }
  if (cp % window !== 0) throw badInput(`loongtrain: window ${window} does not divide the context degree cp=${cp}`);
  const sharding = ringSharding('loongtrain', layout, mask, world);
  const replicateKv = layoutInt('loongtrain', layout, 'replicate_kv', 0, 0) > 0;
  return {
    ly: { ulysses: hp, inner: window, outer: cp / window, placement, sharding, replicateKv },
    used: { hp, cp, window, placement, sharding, replicate_kv: replicateKv ? 1 : 0 },
  };
}

export const plan: Planner = (mask, world, layout, shape) => {
  const { ly, used } = headRing(mask, world, layout, shape);
  return planHeadRing('loongtrain', mask, world, ly, shape, used);
};
