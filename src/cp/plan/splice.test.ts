// A forward of one plan and a backward of another over the same placement (splice.ts): dispatch's
// per-direction exchange routes (exchange=relay_direct / direct_relay) and per-direction patterns
// (pattern=<forward>_<backward>) run through it. Spliced plans pass the checker and reproduce the
// reference on the CPU executor; splices that cannot share a placement or a saved activation are refused.
import { describe, expect, it } from 'vitest';
import { generateMask } from '../../mask/families/index.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import type { CpShape, Plan, PlanCost } from '../types.js';
import { planCp, sharedMask } from './index.js';
import { defaultPlanCost } from './plan-cost.js';
import { namesIn, splicePlans } from './splice.js';

const SHAPE: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
const never: PlanCost = () => {
  throw new Error('cost model called');
};

async function matchesReference(plan: Plan, mask: Parameters<typeof reference>[0]) {
  const g = randomInputs(mask.seqlenQ, SHAPE, 11);
  const run = await runLocal(plan, rankInputs(plan, g));
  return compare(assemble(plan, run.outputs), reference(mask, SHAPE, g)).exceedsTolerance;
}

describe('splicePlans', () => {
  const docs = sharedMask(generateMask('causal_document', 2048, { seed: 4 }));
  const base = { sharding: 'documents', split: 'zigzag', node: 2 } as const;
  const relay = planCp('dispatch', docs, 8, { ...base, exchange: 'relay' }, SHAPE);
  const direct = planCp('dispatch', docs, 8, { ...base, exchange: 'direct', steps: 'overlap' }, SHAPE);

  it('relay forward + direct backward: the two directions differ, checker ok, CPU run matches the reference', async () => {
    const s = splicePlans(relay, direct, { x: 1 })!;
    expect(s).not.toBeNull();
    expect(s.layout).toEqual({ x: 1 });
    expect(s.ranks.map((r) => r.forward)).toEqual(relay.ranks.map((r) => r.forward));
    expect(s.ranks.map((r) => r.backward)).toEqual(direct.ranks.map((r) => r.backward));
    // The relays make the forward differ from direct's (else this test would prove nothing).
    expect(relay.ranks.map((r) => r.forward)).not.toEqual(direct.ranks.map((r) => r.forward));
    expect(checkPlan(s, docs)).toEqual([]);
    expect(await matchesReference(s, docs)).toBe(false);
  });

  it('each direction costs what it cost in its own plan (the cost model sees one direction at a time)', () => {
    const cost = defaultPlanCost(2);
    const s = splicePlans(relay, direct, {})!;
    expect(cost(s, 'fwd')).toBeCloseTo(cost(relay, 'fwd'), 9);
    expect(cost(s, 'bwd')).toBeCloseTo(cost(direct, 'bwd'), 9);
  });

  it('refuses plans that place tokens differently', () => {
    const other = planCp('dispatch', docs, 8, { sharding: 'granules', exchange: 'direct' }, SHAPE);
    expect(splicePlans(relay, other, {})).toBeNull();
  });

  it('refuses a backward that reads a buffer its own forward created (that forward does not run)', () => {
    const r0 = direct.ranks.find((r) => r.forward.some((s) => s.kind === 'attn' && s.kv !== 'kv'))!;
    const made = [...namesIn(r0.forward, new Set(r0.buffers.map((b) => b.name)))].find((n) => !['q', 'kv', 'o', 'do', 'dq', 'dkv'].includes(n))!;
    expect(made).toBeDefined();
    const reads: Plan = {
      ...direct,
      ranks: direct.ranks.map((r) => (r === r0 ? { ...r, backward: [{ kind: 'copy', from: made, into: 'dq' }, ...r.backward] } : r)),
    };
    expect(splicePlans(relay, reads, {})).toBeNull();
    expect(splicePlans(relay, direct, {})).not.toBeNull();
  });
});

describe('dispatch per-direction forms through splices', () => {
  const docs = sharedMask(generateMask('full_document', 2048, { seed: 5 }));

  it.each([
    [{ exchange: 'relay_direct' }, 'relay', 'direct'],
    [{ exchange: 'relay_direct', steps: 'overlap_one' }, 'relay', 'direct'],
    [{ exchange: 'direct_relay', steps: 'one_overlap' }, 'direct', 'relay'],
  ] as const)('layout %j: checker ok, matches the reference, replays without a cost model', async (extra, f, b) => {
    const layout = { sharding: 'documents', split: 'zigzag', node: 2, ...extra };
    const p = planCp('dispatch', docs, 8, layout, SHAPE);
    expect(p.layout.exchange).toBe(`${f}_${b}`);
    expect(p.ranks.some((r) => r.forward.some((s) => s.kind === 'p2p' && s.handle === 'relay'))).toBe(f === 'relay');
    expect(p.ranks.some((r) => r.backward.some((s) => s.kind === 'p2p' && s.handle === 'relay.b'))).toBe(b === 'relay');
    expect(checkPlan(p, docs)).toEqual([]);
    expect(await matchesReference(p, docs)).toBe(false);
    expect(planCp('dispatch', docs, 8, p.layout, SHAPE, { cost: never })).toEqual(p);
  });

  it('steps=one on a relayed direction is refused', () => {
    expect(() => planCp('dispatch', docs, 8, { sharding: 'documents', node: 2, exchange: 'relay_direct', steps: 'one_overlap' }, SHAPE)).toThrow(/direct routes only/);
  });

  it('pattern=ring_allgather (ring forward, all-gather backward: both zigzag): checker ok, matches the reference', async () => {
    const causal = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    const p = planCp('dispatch', causal, 4, { pattern: 'ring_allgather' }, SHAPE);
    expect(p.layout).toEqual({ pattern: 'ring_allgather' });
    expect(p.ranks.map((r) => r.forward)).toEqual(planCp('dispatch', causal, 4, { pattern: 'ring' }, SHAPE).ranks.map((r) => r.forward));
    expect(p.ranks.map((r) => r.backward)).toEqual(planCp('dispatch', causal, 4, { pattern: 'allgather' }, SHAPE).ranks.map((r) => r.backward));
    expect(checkPlan(p, causal)).toEqual([]);
    expect(await matchesReference(p, causal)).toBe(false);
  });

  it('a pattern pair that cannot share a plan is refused (ring backward reads its forward head shards; ulysses places contiguously)', () => {
    const causal = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    expect(() => planCp('dispatch', causal, 4, { pattern: 'allgather_ring' }, SHAPE)).toThrow(/cannot share one plan/);
    expect(() => planCp('dispatch', causal, 4, { pattern: 'ulysses_allgather' }, SHAPE)).toThrow(/cannot share one plan/);
  });
});
