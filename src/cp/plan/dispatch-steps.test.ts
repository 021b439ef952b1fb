// dispatch layout `steps` (issue 14): one attention step per direction over [own K/V, received
// K/V] concatenated (within one node the cost model chooses it per direction: dispatch-choice.test.ts).
import { describe, expect, it } from 'vitest';
import { DENSE_FAMILIES, generateMask } from '../../mask/families/index.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import { planStats } from '../stats.js';
import type { CpShape, Plan, Step } from '../types.js';
import { planCp, sharedMask } from './index.js';

const SHAPE: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
const count = (steps: readonly Step[], kind: Step['kind']) => steps.filter((s) => s.kind === kind).length;

async function matchesReference(plan: Plan, mask: Parameters<typeof reference>[0]) {
  const g = randomInputs(mask.seqlenQ, SHAPE, 5);
  const run = await runLocal(plan, rankInputs(plan, g));
  return compare(assemble(plan, run.outputs), reference(mask, SHAPE, g));
}

describe('dispatch steps=one', () => {
  const mask = sharedMask(generateMask('causal_document', 1024, { seed: 3 }));

  it('one attention step per direction, no merge (documents within one node)', async () => {
    const plan = planCp('dispatch', mask, 4, { sharding: 'documents', steps: 'one' }, SHAPE);
    expect(plan.layout).toMatchObject({ sharding: 'documents', comm: 'p2p', steps: 'one', node: 8 });
    expect(plan.ranks.some((rp) => rp.buffers.some((b) => b.name === 'kv.cat'))).toBe(true);
    for (const rp of plan.ranks) {
      expect(count(rp.forward, 'attn')).toBe(1);
      expect(count(rp.forward, 'merge')).toBe(0);
      expect(count(rp.backward, 'attn_bwd')).toBe(1);
    }
    expect(checkPlan(plan, mask)).toEqual([]);
    expect(planCp('dispatch', mask, 4, plan.layout, SHAPE)).toEqual(plan);
    expect((await matchesReference(plan, mask)).exceedsTolerance).toBe(false);
  });

  it('moves the same bytes and FLOPs as the overlapped form, in fewer steps', () => {
    const one = planStats(planCp('dispatch', mask, 4, { steps: 'one' }, SHAPE));
    const ov = planStats(planCp('dispatch', mask, 4, { steps: 'overlap' }, SHAPE));
    expect(one.bytesSentFwd).toEqual(ov.bytesSentFwd);
    expect(one.bytesSentBwd).toEqual(ov.bytesSentBwd);
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(one.flopsFwd)).toBeCloseTo(sum(ov.flopsFwd), 6);
    expect(Math.max(...ov.stepsFwd)).toBeGreaterThan(1);
  });

  // (test/conformance/cp.test.ts runs every family with these layouts against the reference.)
  it.each(DENSE_FAMILIES)('%s, P = 8, both placements: checker passes, one step per rank', (family) => {
    const m = sharedMask(generateMask(family, 4096, { seed: 1 }));
    for (const sharding of ['documents', 'granules']) {
      let plan: Plan;
      try {
        plan = planCp('dispatch', m, 8, { sharding, steps: 'one' }, SHAPE);
      } catch (e) {
        if (sharding === 'documents' && /without tokens/.test(String(e))) continue; // too few documents for 8 ranks
        throw e;
      }
      expect(checkPlan(plan, m)).toEqual([]);
      for (const rp of plan.ranks) expect([count(rp.forward, 'attn'), count(rp.backward, 'attn_bwd'), count(rp.forward, 'merge')]).toEqual([1, 1, 0]);
    }
  });

  it('a received range left out of the concatenated buffer is caught (checker and reference)', async () => {
    const plan = planCp('dispatch', mask, 4, { steps: 'one' }, SHAPE);
    const r = plan.ranks.findIndex((rp) => rp.forward.some((s) => s.kind === 'copy' && s.into === 'kv.cat' && s.from.startsWith('kv@')));
    expect(r).toBeGreaterThanOrEqual(0);
    const drop = (steps: readonly Step[]) => {
      const i = steps.findIndex((s) => s.kind === 'copy' && s.from.startsWith('kv@'));
      return steps.filter((_, n) => n !== i);
    };
    const bad: Plan = { ...plan, ranks: plan.ranks.map((rp) => (rp.rank === r ? { ...rp, forward: drop(rp.forward), backward: drop(rp.backward) } : rp)) };
    expect(checkPlan(bad, mask).some((v) => v.rule === 'dataflow' && /no copy wrote/.test(v.message))).toBe(true);
    expect((await matchesReference(bad, mask)).exceedsTolerance).toBe(true);
  });

  it('multi-node plans with relays keep the overlapped form by default; one step takes direct routes only', () => {
    const shape: CpShape = { headsQ: 16, headsKv: 8, headDim: 16, dtypeBytes: 2 };
    const m = sharedMask(generateMask('causal_document', 16 * 256, { seed: 0 }));
    const p16 = planCp('dispatch', m, 16, { exchange: 'relay' }, shape);
    expect(p16.layout.steps).toBeUndefined();
    expect(p16.ranks.some((rp) => count(rp.forward, 'merge') > 0)).toBe(true);
    expect(planCp('dispatch', m, 16, { steps: 'one' }, shape).layout).toMatchObject({ steps: 'one' });
    expect(checkPlan(planCp('dispatch', m, 16, { steps: 'one' }, shape), m)).toEqual([]);
    expect(() => planCp('dispatch', m, 16, { steps: 'one', exchange: 'relay' }, shape)).toThrow(/direct routes only/);
    // Explicit overlap for documents within one node is recorded, so the layout replays it.
    const ov = planCp('dispatch', mask, 4, { sharding: 'documents', steps: 'overlap' }, SHAPE);
    expect(ov.layout.steps).toBe('overlap');
    expect(planCp('dispatch', mask, 4, ov.layout, SHAPE)).toEqual(ov);
  });
});
