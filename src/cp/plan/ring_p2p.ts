// ring_p2p (Ring Attention): K/V blocks travel around a ring of all P ranks; each step attends the
// local queries to the visiting K/V and merges by log-sum-exp, overlapping the next transfer.
// Backward: K/V travel again with their dK/dV accumulators, which end on their owners.
import type { Planner } from '../types.js';
import { checkLayoutKeys, checkWorld, DOC_ZIGZAG_BUDGET, ringSharding, SHARDING_HELP, SHARDINGS, type LayoutParam } from './common.js';
import { planHeadRing } from './ring.js';

export const params: readonly LayoutParam[] = [
  { key: 'sharding', kind: 'enum', values: SHARDINGS, description: `${SHARDING_HELP}; ring_p2p defaults to doc_zigzag on masks with documents while pieces x P <= ${DOC_ZIGZAG_BUDGET}` },
];

export const plan: Planner = (mask, world, layout, shape) => {
  checkWorld('ring_p2p', world);
  checkLayoutKeys('ring_p2p', layout, params);
  const sharding = ringSharding('ring_p2p', layout, mask, world);
  return planHeadRing('ring_p2p', mask, world, { ulysses: 1, inner: world, outer: 1, placement: 'head_first', sharding, replicateKv: false }, shape, {
    sharding,
  });
};
