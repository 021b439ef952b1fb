// usp (Unified Sequence Parallelism): 2-D, Ulysses inside groups of `ulysses` consecutive ranks
// (inside a node), ring attention across the `ring` groups. Degrees multiply to the world size.
import { badInput } from '../../errors.js';
import type { Mask } from '../../mask/types.js';
import type { CpLayout, CpShape, Planner } from '../types.js';
import { checkLayoutKeys, checkWorld, layoutInt, ringSharding, SHARDING_HELP, SHARDINGS, type LayoutParam } from './common.js';
import { planHeadRing, type HeadRingLayout } from './ring.js';

export const params: readonly LayoutParam[] = [
  { key: 'ulysses', kind: 'int', description: 'Ulysses degree (default: the largest divisor of P that splits the KV heads, at most 8)' },
  { key: 'ring', kind: 'int', description: 'ring degree (default P / ulysses)' },
  { key: 'sharding', kind: 'enum', values: SHARDINGS, description: SHARDING_HELP },
  { key: 'replicate_kv', kind: 'int', description: '1: allow a Ulysses degree above the KV heads by replicating K/V heads' },
];

/** Largest divisor of `world` that is <= cap and splits the query and KV heads evenly. */
export function defaultHeadDegree(world: number, shape: CpShape, cap = 8): number {
  let best = 1;
  for (let d = 1; d <= Math.min(world, cap); d++) {
    if (world % d === 0 && shape.headsKv % d === 0 && shape.headsQ % d === 0) best = d;
  }
  return best;
}

/** Two degrees that must multiply to world; either may be omitted. */
export function twoDegrees(
  scheme: 'usp' | 'loongtrain',
  world: number,
  a: { key: string; value: number | undefined },
  b: { key: string; value: number | undefined },
  dflt: number,
): [number, number] {
  for (const d of [a, b]) {
    if (d.value !== undefined && world % d.value !== 0) throw badInput(`${scheme}: ${d.key} degree ${d.value} does not divide world ${world}`);
  }
  const va = a.value ?? (b.value !== undefined ? world / b.value : dflt);
  const vb = b.value ?? world / va;
  if (va * vb !== world) throw badInput(`${scheme}: degrees ${a.key}=${va} x ${b.key}=${vb} = ${va * vb} do not multiply to world ${world}`);
  return [va, vb];
}

/** The head x ring layout of a usp request, and the layout the plan records. */
export function headRing(mask: Mask, world: number, layout: CpLayout, shape: CpShape): { ly: HeadRingLayout; used: CpLayout } {
  checkWorld('usp', world);
  checkLayoutKeys('usp', layout, params);
  const given = (k: string) => (layout[k] === undefined ? undefined : layoutInt('usp', layout, k, 1));
  const [U, R] = twoDegrees('usp', world, { key: 'ulysses', value: given('ulysses') }, { key: 'ring', value: given('ring') }, defaultHeadDegree(world, shape));
  const sharding = ringSharding('usp', layout, mask, world);
  const replicateKv = layoutInt('usp', layout, 'replicate_kv', 0, 0) > 0;
  return {
    ly: { ulysses: U, inner: R, outer: 1, placement: 'head_first', sharding, replicateKv },
    used: { ulysses: U, ring: R, sharding, replicate_kv: replicateKv ? 1 : 0 },
  };
}

export const plan: Planner = (mask, world, layout, shape) => {
  const { ly, used } = headRing(mask, world, layout, shape);
  return planHeadRing('usp', mask, world, ly, shape, used);
};
