import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskArea } from '../mask/slices.js';
import { gridMask } from '../mask/testing.js';
import { SLICE_KINDS, type Mask } from '../mask/types.js';
import { checkPlan } from './check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from './exec/harness.js';
import { planCp, SCHEMES } from './plan/index.js';
import { planStats } from './stats.js';
import type { CpShape, Plan, RankProgram, Step } from './types.js';

const SHAPE: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
const causal = (S: number): Mask => ({ seqlenQ: S, seqlenK: S, slices: [{ qStart: 0, qEnd: S, kStart: 0, kEnd: S, kind: 'causal' }] });

/** A copy of the plan with rank r's program changed. */
function mutate(plan: Plan, r: number, f: (rp: RankProgram) => Partial<RankProgram>): Plan {
  return { ...plan, ranks: plan.ranks.map((rp) => (rp.rank === r ? { ...rp, ...f(rp) } : rp)) };
}
const rules = (plan: Plan, mask: Mask, budget?: number) => checkPlan(plan, mask, { memoryBudgetBytes: budget }).map((v) => v.rule);

describe('checkPlan finds broken plans', () => {
  const mask = causal(64);
  const ring = planCp('ring_p2p', mask, 4, { sharding: 'zigzag' }, SHAPE);

  it('accepts the unmodified plan', () => expect(checkPlan(ring, mask)).toEqual([]));

  it('a missing attention step: pairs never computed', () => {
    const bad = mutate(ring, 2, (rp) => {
      const i = rp.forward.findIndex((s, n) => n > 0 && s.kind === 'attn');
      return { forward: rp.forward.filter((_, n) => n !== i && n !== i + 1) }; // the attn and its merge
    });
    const v = checkPlan(bad, mask);
    expect(v.some((x) => x.rule === 'coverage' && /computed 0 times/.test(x.message))).toBe(true);
  });

  it('a duplicated attention step: pairs computed twice', () => {
    const bad = mutate(ring, 1, (rp) => {
      const i = rp.forward.findIndex((s) => s.kind === 'merge');
      return { forward: [...rp.forward.slice(0, i + 1), rp.forward[i - 1], rp.forward[i], ...rp.forward.slice(i + 1)] };
    });
    expect(checkPlan(bad, mask).some((x) => x.rule === 'coverage' && /computed 2 times/.test(x.message))).toBe(true);
  });

  it('a wrong restricted mask', () => {
    const bad = mutate(ring, 0, (rp) => ({
      forward: rp.forward.map((s): Step => (s.kind === 'attn' ? { ...s, mask: { ...s.mask, slices: s.mask.slices.map((x) => ({ ...x, kind: 'full' as const })) } } : s)),
    }));
    expect(rules(bad, mask)).toContain('mask');
  });

  it('a send without its receive, and sizes that differ', () => {
    const dropRecv = mutate(ring, 3, (rp) => ({
      backward: rp.backward.map((s): Step => (s.kind === 'p2p' ? { ...s, ops: s.ops.filter((o) => o.op === 'send') } : s)),
    }));
    expect(rules(dropRecv, mask)).toContain('comm');
    const resized = mutate(ring, 3, (rp) => ({ buffers: rp.buffers.map((b) => (b.name.startsWith('kv@') ? { ...b, bytes: b.bytes + 4 } : b)) }));
    expect(rules(resized, mask)).toContain('buffers');
  });

  it('reading a receive before its wait', () => {
    const bad = mutate(ring, 0, (rp) => ({ forward: rp.forward.filter((s) => s.kind !== 'wait') }));
    const v = checkPlan(bad, mask);
    expect(v.some((x) => x.rule === 'dataflow' && /before the receive/.test(x.message))).toBe(true);
  });

  it('a memory budget below the peak', () => {
    const peak = Math.max(...planStats(ring).peakBufferBytes);
    expect(rules(ring, mask, peak)).not.toContain('memory');
    expect(rules(ring, mask, peak - 1)).toContain('memory');
  });

  it('a deadlock: blocking sends first on both ranks', () => {
    // Two ranks, each sends its K/V with a blocking p2p, then receives the other's: with one
    // stream per rank, both block in the send (rendezvous), so neither reaches its receive.
    const plan = planCp('ring_p2p', mask, 2, { sharding: 'contiguous' }, SHAPE);
    const bad: Plan = {
      ...plan,
      ranks: plan.ranks.map((rp) => {
        const p2p = rp.forward.find((s): s is Extract<Step, { kind: 'p2p' }> => s.kind === 'p2p')!;
        const send: Step = { kind: 'p2p', ops: p2p.ops.filter((o) => o.op === 'send') };
        const recv: Step = { kind: 'p2p', ops: p2p.ops.filter((o) => o.op === 'recv') };
        const rest = rp.forward.filter((s) => s.kind !== 'p2p' && s.kind !== 'wait');
        return { ...rp, forward: [send, recv, ...rest] };
      }),
    };
    const v = checkPlan(bad, mask);
    expect(v.map((x) => x.rule)).toEqual(['deadlock']);
    // The same two steps, receive first on rank 1: it completes.
    const fixed: Plan = { ...bad, ranks: bad.ranks.map((rp) => (rp.rank === 1 ? { ...rp, forward: [rp.forward[1], rp.forward[0], ...rp.forward.slice(2)] } : rp)) };
    expect(checkPlan(fixed, mask)).toEqual([]);
  });

  it('collectives called in different orders', () => {
    const ag = planCp('ring_allgather', mask, 2, {}, SHAPE);
    const bad = mutate(ag, 1, (rp) => ({ backward: [rp.backward[2], rp.backward[0], rp.backward[1]] }));
    expect(rules(bad, mask).some((r) => r === 'comm' || r === 'deadlock' || r === 'dataflow')).toBe(true);
  });
});

/** Random mask: a random grid of rectangles, each a slice of a random kind or empty. */
const arbCase = fc
  .record({
    P: fc.constantFrom(1, 2, 3, 4, 8),
    units: fc.integer({ min: 1, max: 6 }),
    qcuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
    kcuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
    kinds: fc.array(fc.constantFrom(...SLICE_KINDS, null, null), { minLength: 25, maxLength: 25 }),
    scheme: fc.constantFrom(...SCHEMES.map((s) => s.id)),
    pick: fc.nat(),
  })
  .map(({ P, units, qcuts, kcuts, kinds, scheme, pick }) => {
    const S = 2 * P * 4 * units;
    const cuts = (cs: number[]) => cs.map((c) => Math.floor(c * S)).filter((c) => c > 0);
    const mask: Mask = gridMask(S, S, cuts(qcuts), cuts(kcuts), kinds);
    const layouts = SCHEMES.find((s) => s.id === scheme)!.layouts(P, SHAPE);
    return { P, mask, scheme, layout: layouts[pick % layouts.length] };
  })
  .filter((c) => c.layout !== undefined);

describe('properties over random masks', () => {
  it('every plan passes the checker and its FLOPs add up to the mask FLOPs', () => {
    fc.assert(
      fc.property(arbCase, ({ P, mask, scheme, layout }) => {
        const plan = planCp(scheme, mask, P, layout, SHAPE);
        expect(checkPlan(plan, mask)).toEqual([]);
        const s = planStats(plan);
        const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
        const flops = 4 * maskArea(mask) * SHAPE.headsQ * SHAPE.headDim;
        expect(sum(s.flopsFwd)).toBeCloseTo(flops, 6);
        expect(sum(s.flopsBwd)).toBeCloseTo(2.5 * flops, 6);
        expect(sum(s.bytesSentFwd)).toBe(sum(s.bytesRecvFwd));
        expect(sum(s.bytesSentBwd)).toBe(sum(s.bytesRecvBwd));
      }),
      { numRuns: 300 },
    );
  });

  it('running a plan reproduces the reference (fully masked rows included)', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ P, mask, scheme, layout }) => {
        const plan = planCp(scheme, mask, P, layout, SHAPE);
        const g = randomInputs(mask.seqlenQ, SHAPE, 11);
        const run = await runLocal(plan, rankInputs(plan, g));
        const e = compare(assemble(plan, run.outputs), reference(mask, SHAPE, g));
        expect(e.exceedsTolerance).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
