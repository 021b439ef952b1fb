// A forward of one plan and a backward of another over the same placement (splice.ts): dispatch's
// per-direction exchange routes (exchange=relay_direct / direct_relay) and per-direction patterns
// (pattern=<forward>_<backward>) run through it. Spliced plans pass the checker and reproduce the
// reference on the CPU executor; splices that cannot share a placement or a saved activation are refused.
import { describe, expect, it } from 'vitest';
import { generateMask } from '../../mask/families/index.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import type { CpShape, Plan, PlanCost, Step } from '../types.js';
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

  it('every pair of the borrowed schemes shares one plan: head-sharded backwards re-create their head shards (ring.ts recreate), ulysses moves to zigzag', async () => {
    const causal = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    const schemes = ['ring', 'usp', 'ulysses', 'allgather'];
    for (const f of schemes)
      for (const b of schemes) {
        if (f === b) continue;
        const p = planCp('dispatch', causal, 4, { pattern: `${f}_${b}` }, SHAPE);
        expect(p.layout).toEqual({ pattern: `${f}_${b}` });
        expect(checkPlan(p, causal), `${f}_${b}`).toEqual([]);
        expect(await matchesReference(p, causal), `${f}_${b}`).toBe(false);
        const owned = p.ranks.map((r) => r.owned);
        expect(owned).toEqual(planCp('dispatch', causal, 4, { pattern: 'allgather' }, SHAPE).ranks.map((r) => r.owned)); // zigzag
        // A head-sharded backward starts with the all-to-alls of q, kv and o into its own names.
        const re = p.ranks[0].backward.filter((s) => s.kind === 'all_to_all' && s.recv.some((n) => n.startsWith('re.')));
        expect(re.length, `${f}_${b}`).toBe(b === 'allgather' ? 0 : 3);
      }
  });

  it.each(['allgather_usp', 'ring_ulysses', 'ulysses_ring'])('pattern=%s,prefetch=1: the q / kv re-creation runs during the forward (async), o\'s stays in the backward; checker ok, matches the reference', async (pattern) => {
    const causal = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    const p = planCp('dispatch', causal, 4, { pattern, prefetch: 1 }, SHAPE);
    const plain = planCp('dispatch', causal, 4, { pattern }, SHAPE);
    expect(p.layout).toEqual({ pattern, prefetch: 1 });
    const re = (steps: readonly Step[]) => steps.filter((s) => s.kind === 'all_to_all' && s.recv.some((n) => n.startsWith('re.')));
    for (const [i, r] of p.ranks.entries()) {
      expect(re(r.forward).map((s) => 'handle' in s && s.handle)).toEqual(['re.q.pre', 're.kv.pre']);
      expect(re(r.backward).length).toBe(1);
      expect(r.forward.length).toBeGreaterThan(plain.ranks[i].forward.length);
      expect(r.backward.length).toBeLessThan(plain.ranks[i].backward.length);
    }
    expect(checkPlan(p, causal)).toEqual([]);
    expect(await matchesReference(p, causal)).toBe(false);
    expect(planCp('dispatch', causal, 4, p.layout, SHAPE, { cost: never })).toEqual(p);
    // Without its waits the forward leaves the prefetch in flight: the checker says so.
    const unwaited: Plan = { ...p, ranks: p.ranks.map((r) => ({ ...r, forward: r.forward.filter((s) => !(s.kind === 'wait' && s.handle.startsWith('re.'))) })) };
    expect(checkPlan(unwaited, causal).some((v) => v.rule === 'dataflow')).toBe(true);
  });

  it('prefetch needs a pair whose backward re-creates something', () => {
    const causal = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    expect(() => planCp('dispatch', causal, 4, { pattern: 'ring_allgather', prefetch: 1 }, SHAPE)).toThrow(/nothing to prefetch/);
    expect(() => planCp('dispatch', causal, 4, { pattern: 'ring', prefetch: 1 }, SHAPE)).toThrow(/does not apply/);
    expect(() => planCp('dispatch', causal, 4, { prefetch: 1 }, SHAPE)).toThrow(/only with pattern/);
    expect(() => planCp('dispatch', causal, 4, { pattern: 'allgather_usp', prefetch: 2 }, SHAPE)).toThrow(/0 or 1/);
  });

  it('a backward that still reads its own forward\'s head shards cannot follow another forward (the checker, not the splice, would have to catch it)', () => {
    const causal = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    const ag = planCp('dispatch', causal, 4, { pattern: 'allgather' }, SHAPE);
    const usp = planCp('dispatch', causal, 4, { pattern: 'usp' }, SHAPE); // its backward reads qh / kvh / oh
    expect(splicePlans(ag, usp, {})).toBeNull();
    // The same backward with the re-created shards splices, and without them the checker rejects it.
    const spliced = planCp('dispatch', causal, 4, { pattern: 'allgather_usp' }, SHAPE);
    expect(checkPlan(spliced, causal)).toEqual([]);
    const broken: Plan = { ...spliced, ranks: spliced.ranks.map((r) => ({ ...r, backward: r.backward.filter((s) => !(s.kind === 'all_to_all' && s.recv.some((n) => n.startsWith('re.o')))) })) };
    expect(checkPlan(broken, causal).length).toBeGreaterThan(0);
  });
});
