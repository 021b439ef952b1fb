// dispatch chooses its form by cost (issue 14): per direction steps=one or overlap within one node,
// zigzag or fill cuts of documents larger than a rank, and for dense masks without documents the cheapest of its own plan and other schemes' plans.
// Explicit layout keys override the choice; the plan's layout records it and replays it.
import { describe, expect, it } from 'vitest';
import { DENSE_FAMILIES, generateMask } from '../../mask/families/index.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import type { CpShape, Plan, PlanCost, Step } from '../types.js';
import { MAX_PAIRS } from './dispatch-pattern.js';
import { planCp, sharedMask } from './index.js';
import { defaultPlanCost, stepCost } from './plan-cost.js';

const SHAPE: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
const count = (steps: readonly Step[], kind: Step['kind']) => steps.filter((s) => s.kind === kind).length;
const never: PlanCost = () => {
  throw new Error('cost model called');
};
/** A cost model that prefers one step in `fwd` / `bwd` (by the attention steps a rank runs). */
const prefer = (fwd: boolean, bwd: boolean): PlanCost => (plan, direction) => {
  const one = plan.ranks.every((rp) => count(direction === 'fwd' ? rp.forward : rp.backward, direction === 'fwd' ? 'attn' : 'attn_bwd') <= 1);
  return one === (direction === 'fwd' ? fwd : bwd) ? 1 : 2;
};

async function matchesReference(plan: Plan, mask: Parameters<typeof reference>[0]) {
  const g = randomInputs(mask.seqlenQ, SHAPE, 7);
  const run = await runLocal(plan, rankInputs(plan, g));
  return compare(assemble(plan, run.outputs), reference(mask, SHAPE, g));
}

describe('dispatch form by cost: steps per direction', () => {
  const mask = sharedMask(generateMask('causal_document', 1024, { seed: 3 }));

  it.each([
    [true, true, 'one'],
    [false, false, 'overlap'],
    [true, false, 'one_overlap'],
    [false, true, 'overlap_one'],
  ] as const)('a cost model preferring one step fwd=%s bwd=%s gives steps=%s, recorded and replayed', (fwd, bwd, steps) => {
    const plan = planCp('dispatch', mask, 4, { sharding: 'documents' }, SHAPE, { cost: prefer(fwd, bwd) });
    expect(plan.layout).toMatchObject({ sharding: 'documents', steps });
    // Somebody fetches, so the forms differ (one step per direction, or more on some rank).
    for (const [dir, one] of [['fwd', fwd], ['bwd', bwd]] as const) {
      const most = Math.max(...plan.ranks.map((rp) => count(dir === 'fwd' ? rp.forward : rp.backward, dir === 'fwd' ? 'attn' : 'attn_bwd')));
      expect(most === 1).toBe(one);
    }
    expect(checkPlan(plan, mask)).toEqual([]);
    expect(planCp('dispatch', mask, 4, plan.layout, SHAPE, { cost: never })).toEqual(plan);
  });

  it('explicit steps (and split) override the cost model (it is not even asked)', () => {
    for (const steps of ['one', 'overlap', 'one_overlap', 'overlap_one'])
      expect(planCp('dispatch', mask, 4, { sharding: 'documents', split: 'zigzag', steps }, SHAPE, { cost: never }).layout.steps).toBe(steps);
  });

  it('the default cost model (no caller model): the choice is the cheapest of the four forms, and deterministic', () => {
    const chosen = planCp('dispatch', mask, 4, { sharding: 'documents' }, SHAPE);
    const cost = defaultPlanCost(8);
    const forms = ['one', 'overlap', 'one_overlap', 'overlap_one'].map((steps) => planCp('dispatch', mask, 4, { ...chosen.layout, steps }, SHAPE));
    const best = Math.min(...forms.map((f) => stepCost(cost, f)));
    expect(stepCost(cost, chosen)).toBeCloseTo(best, 9);
    expect(planCp('dispatch', mask, 4, { sharding: 'documents' }, SHAPE)).toEqual(chosen);
  });

  it('a granule sharding named in the layout keeps the overlapped form unless steps is given (recorded layouts replay as they ran)', () => {
    const c = sharedMask(generateMask('causal', 1024, { seed: 0 }));
    const measured = { chunks: 1, comm: 'p2p', granule: 8, max_token_ratio: 2, sharding: 'contiguous', target: 1.02 };
    const p = planCp('dispatch', c, 4, measured, SHAPE, { cost: never });
    expect(p.layout.steps).toBeUndefined();
    expect(p.ranks.some((rp) => count(rp.forward, 'merge') > 0)).toBe(true);
    expect(planCp('dispatch', c, 4, { ...measured, steps: 'one' }, SHAPE, { cost: never }).ranks.every((rp) => count(rp.forward, 'attn') === 1)).toBe(true);
  });

  it('multi-node plans with relays are not offered one step (it needs direct routes)', () => {
    const shape: CpShape = { headsQ: 16, headsKv: 8, headDim: 16, dtypeBytes: 2 };
    const m = sharedMask(generateMask('causal_document', 16 * 256, { seed: 0 }));
    const p = planCp('dispatch', m, 16, { exchange: 'relay' }, shape, { cost: never });
    expect(p.layout.steps).toBeUndefined();
  });
});

describe('dispatch form by cost: how documents too large for a rank are cut', () => {
  const mask = sharedMask(generateMask('full_document', 2048, { seed: 1 }));
  const placed = (split: string) => planCp('dispatch', mask, 4, { sharding: 'documents', split, steps: 'overlap' }, SHAPE);

  it('zigzag and fill place differently here (the choice is a real one)', () => {
    expect(placed('fill').ranks.map((r) => r.owned)).not.toEqual(placed('zigzag').ranks.map((r) => r.owned));
  });

  it.each(['zigzag', 'fill'])('a cost model preferring %s gets it, recorded and replayed; an explicit split overrides', (split) => {
    const p = planCp('dispatch', mask, 4, { sharding: 'documents', steps: 'overlap' }, SHAPE, { cost: (x) => (x.layout.split === split ? 1 : 2) });
    expect(p.layout.split).toBe(split);
    expect(p.ranks.map((r) => r.owned)).toEqual(placed(split).ranks.map((r) => r.owned));
    expect(checkPlan(p, mask)).toEqual([]);
    expect(planCp('dispatch', mask, 4, p.layout, SHAPE, { cost: never })).toEqual(p);
    const other = split === 'fill' ? 'zigzag' : 'fill';
    expect(planCp('dispatch', mask, 4, { sharding: 'documents', steps: 'overlap', split: other }, SHAPE, { cost: (x) => (x.layout.split === split ? 1 : 2) }).layout.split).toBe(other);
  });

  it('the default cost model: the cheaper split', () => {
    const chosen = planCp('dispatch', mask, 4, { sharding: 'documents', steps: 'overlap' }, SHAPE);
    const cost = defaultPlanCost(8);
    expect(stepCost(cost, chosen)).toBeCloseTo(Math.min(stepCost(cost, placed('zigzag')), stepCost(cost, placed('fill'))), 9);
  });
});

describe('dispatch form by cost: dense masks without documents', () => {
  it.each(['causal', 'full'])('%s, P = 4: the cheapest of own, ring, usp, ulysses and allgather by the default cost; explicit patterns replay', (family) => {
    const mask = sharedMask(generateMask(family, 1024, { seed: 0 }));
    const chosen = planCp('dispatch', mask, 4, {}, SHAPE);
    const cost = defaultPlanCost(8);
    const own = planCp('dispatch', mask, 4, { pattern: 'own' }, SHAPE);
    const candidates = [own, ...['ring', 'usp', 'ulysses', 'allgather'].map((pattern) => planCp('dispatch', mask, 4, { pattern }, SHAPE))];
    const best = Math.min(...candidates.map((c) => stepCost(cost, c)));
    expect(stepCost(cost, chosen)).toBeCloseTo(best, 9);
    for (const c of candidates) expect(checkPlan(c, mask)).toEqual([]);
    // A pattern given is that scheme's plan, whatever the cost model.
    const u = planCp('dispatch', mask, 4, { pattern: 'usp' }, SHAPE, { cost: never });
    expect(u.layout).toEqual({ pattern: 'usp' });
    expect(u.ranks).toEqual(planCp('usp', mask, 4, {}, SHAPE).ranks);
    // A caller's model decides: each pattern wins when it is the cheapest.
    for (const pattern of ['ring', 'usp', 'ulysses', 'allgather'])
      expect(planCp('dispatch', mask, 4, {}, SHAPE, { cost: (p) => (p.layout.pattern === pattern ? 1 : 2) }).layout.pattern).toBe(pattern);
  });
});

// Every family, P = 4: the plan chosen with the default cost model, and both mixed forms, pass the
// checker and match the reference on the CPU executor.
describe('dispatch chosen and mixed forms on every family (checker + CPU executor vs reference)', () => {
  it.each(DENSE_FAMILIES)('%s', async (family) => {
    // Windows of 256 (the default 1024 needs S > 1024, and the CPU run at S = 2048 took 15 s alone).
    const params = family === 'sliding_window' || family === 'sliding_window_causal' ? { w: 256 } : undefined;
    const mask = sharedMask(generateMask(family, 1024, { seed: 2, params }));
    const chosen = planCp('dispatch', mask, 4, {}, SHAPE);
    const plans = [chosen];
    if (chosen.layout.pattern === undefined && chosen.layout.comm === 'p2p')
      for (const steps of ['one_overlap', 'overlap_one']) plans.push(planCp('dispatch', mask, 4, { ...chosen.layout, steps }, SHAPE));
    for (const p of plans) {
      expect(checkPlan(p, mask)).toEqual([]);
      expect((await matchesReference(p, mask)).exceedsTolerance).toBe(false);
    }
  });
});

describe('dispatch form by cost: exchange routes per direction (documents over several nodes)', () => {
  const shape: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
  const mask = sharedMask(generateMask('full_document', 2048, { seed: 5 }));
  const lay = { sharding: 'documents', split: 'zigzag', node: 2 } as const;
  const relayed = (p: Plan, dir: 'fwd' | 'bwd') => p.ranks.some((r) => (dir === 'fwd' ? r.forward : r.backward).some((s) => s.kind === 'p2p' && s.handle === (dir === 'fwd' ? 'relay' : 'relay.b')));
  /** Prefers relays in `fwd` / `bwd` (by whether a rank forwards), and counts its calls. */
  const preferRelay = (fwd: boolean, bwd: boolean, ibBytesPerMs?: number) => {
    const calls: string[] = [];
    const c = (plan: Plan, d: 'fwd' | 'bwd') => {
      calls.push(`${d}:${relayed(plan, d) ? 'relay' : 'direct'}`);
      return relayed(plan, d) === (d === 'fwd' ? fwd : bwd) ? 1 : 2;
    };
    return { calls, cost: (ibBytesPerMs === undefined ? c : Object.assign(c, { ibBytesPerMs })) as PlanCost };
  };

  it.each([
    [true, true, 'relay'],
    [false, false, 'direct'],
    [true, false, 'relay_direct'],
    [false, true, 'direct_relay'],
  ] as const)('a cost model preferring relays fwd=%s bwd=%s gives exchange=%s, recorded and replayed', (fwd, bwd, exchange) => {
    const p = planCp('dispatch', mask, 8, lay, shape, { cost: preferRelay(fwd, bwd).cost });
    expect(p.layout.exchange).toBe(exchange);
    expect(relayed(p, 'fwd')).toBe(fwd);
    expect(relayed(p, 'bwd')).toBe(bwd);
    expect(checkPlan(p, mask)).toEqual([]);
    expect(planCp('dispatch', mask, 8, p.layout, shape, { cost: never })).toEqual(p);
  });

  it('explicit exchange overrides the cost model', () => {
    for (const exchange of ['relay', 'direct', 'relay_direct', 'direct_relay'])
      expect(planCp('dispatch', mask, 8, { ...lay, exchange, steps: 'overlap' }, shape, { cost: never }).layout.exchange).toBe(exchange);
  });

  it('direct routes whose NIC bound is no less than the relays\' time are not simulated (nor chosen)', () => {
    const open = preferRelay(false, false);
    expect(planCp('dispatch', mask, 8, lay, shape, { cost: open.cost }).layout.exchange).toBe('direct');
    expect(open.calls.some((c) => c.endsWith('direct'))).toBe(true);
    // 1e-9 bytes per ms: any byte across nodes takes longer than the relays' 1 or 2 ms.
    const bounded = preferRelay(false, false, 1e-9);
    expect(planCp('dispatch', mask, 8, lay, shape, { cost: bounded.cost }).layout.exchange).toBe('relay');
    expect(bounded.calls.length).toBeGreaterThan(0);
    expect(bounded.calls.every((c) => c.endsWith('relay'))).toBe(true);
  });

  it('over more than 16 nodes the routes follow the halving rule, not the cost model (planning time)', () => {
    const many = sharedMask(generateMask('full_document', 34 * 128, { seed: 5 }));
    // 17 nodes: the rule keeps direct routes here, though this model prefers relays.
    const rule = planCp('dispatch', many, 34, { ...lay, exchange: 'direct' }, shape, { cost: preferRelay(true, true).cost });
    const p = planCp('dispatch', many, 34, lay, shape, { cost: preferRelay(true, true).cost });
    expect(p.layout.exchange).toBeUndefined();
    expect(p.ranks).toEqual(rule.ranks);
    // 16 nodes: relays and direct routes are weighed, and the model's preference wins.
    expect(planCp('dispatch', many, 32, lay, shape, { cost: preferRelay(true, true).cost }).layout.exchange).toBe('relay');
    expect(planCp('dispatch', many, 32, lay, shape, { cost: preferRelay(false, false).cost }).layout.exchange).toBe('direct');
  });

  it('the default cost model: no worse in either direction than relays or direct routes alone', () => {
    const cost = defaultPlanCost(2);
    const chosen = planCp('dispatch', mask, 8, lay, shape);
    for (const exchange of ['relay', 'direct']) {
      const alone = planCp('dispatch', mask, 8, { ...lay, exchange, steps: 'overlap' }, shape);
      expect(cost(chosen, 'fwd')).toBeLessThanOrEqual(cost(alone, 'fwd') + 1e-9);
      expect(cost(chosen, 'bwd')).toBeLessThanOrEqual(cost(alone, 'bwd') + 1e-9);
    }
  });
});

describe('dispatch form by cost: a forward and a backward of two schemes (dense masks)', () => {
  const mask = sharedMask(generateMask('causal', 1024, { seed: 0 }));
  /** All-to-alls into re-created head shards among a direction's steps (rank 0). */
  const recreations = (p: Plan, d: 'fwd' | 'bwd') =>
    (d === 'fwd' ? p.ranks[0].forward : p.ranks[0].backward).filter((s) => s.kind === 'all_to_all' && s.recv.some((n) => n.startsWith('re.'))).length;
  /** fwd: `f` costs 1, others 3; bwd: `b` costs 1, others 3; each re-creating all-to-all adds `x` (fwd: `xf`). */
  const model = (f: string, b: string, x: number, xf = x): PlanCost => (p, d) => {
    const [pf, pb] = String(p.layout.pattern).split('_');
    const who = d === 'fwd' ? pf : (pb ?? pf);
    return (who === (d === 'fwd' ? f : b) ? 1 : 3) + (d === 'fwd' ? xf : x) * recreations(p, d);
  };

  it('ring forward + all-gather backward (nothing to re-create) when the model prefers each there: pattern=ring_allgather, checker ok, matches the reference', async () => {
    const p = planCp('dispatch', mask, 4, {}, SHAPE, { cost: model('ring', 'allgather', 10) });
    expect(p.layout).toEqual({ pattern: 'ring_allgather' });
    expect(checkPlan(p, mask)).toEqual([]);
    expect((await matchesReference(p, mask)).exceedsTolerance).toBe(false);
    expect(planCp('dispatch', mask, 4, p.layout, SHAPE, { cost: never })).toEqual(p);
  });

  it('all-gather forward + ring backward: taken when re-creating the ring\'s head shards costs less than it gains, prefetched when that is cheaper, else the best single plan', async () => {
    // Singles: ring 3 + 1 = 4 (first of the ties), allgather 1 + 3 = 4.
    const cheap = planCp('dispatch', mask, 4, {}, SHAPE, { cost: model('allgather', 'ring', 0.1) }); // 1 + 1 + 3 x 0.1 = 2.3; prefetched (1 + 0.2) + (1 + 0.1) = 2.3: a tie keeps the first
    expect(cheap.layout).toEqual({ pattern: 'allgather_ring' });
    expect(recreations(cheap, 'bwd')).toBe(3);
    const overlapped = planCp('dispatch', mask, 4, {}, SHAPE, { cost: model('allgather', 'ring', 0.1, 0.01) }); // prefetched 1.02 + 1.1 < 2.3
    expect(overlapped.layout).toEqual({ pattern: 'allgather_ring', prefetch: 1 });
    expect([recreations(overlapped, 'fwd'), recreations(overlapped, 'bwd')]).toEqual([2, 1]);
    for (const p of [cheap, overlapped]) {
      expect(checkPlan(p, mask)).toEqual([]);
      expect((await matchesReference(p, mask)).exceedsTolerance).toBe(false);
      expect(planCp('dispatch', mask, 4, p.layout, SHAPE, { cost: never })).toEqual(p);
    }
    expect(planCp('dispatch', mask, 4, {}, SHAPE, { cost: model('allgather', 'ring', 1.5) }).layout).toEqual({ pattern: 'ring' }); // 1 + 1 + 4.5, prefetched 4 + 2.5
  });

  it('at most MAX_PAIRS pairs are tried, cheapest bound first', () => {
    // fwd: allgather 1, others 3; bwd: ring 1, usp 1.1, ulysses 1.2, others 3; each re-creation +0.4.
    // Singles: ring 4 (best), allgather 4. Pair bounds: allgather_ring 2, allgather_usp 2.1,
    // allgather_ulysses 2.2: all below 4, but only the first two are tried.
    const bwd: Record<string, number> = { ring: 1, usp: 1.1, ulysses: 1.2 };
    const halves = new Set<string>();
    const cost: PlanCost = (p, d) => {
      const [pf, pb] = String(p.layout.pattern).split('_');
      const n = recreations(p, d);
      if (d === 'bwd' && n > 0) halves.add(pb ?? pf);
      return (d === 'fwd' ? (pf === 'allgather' ? 1 : 3) : (bwd[pb ?? pf] ?? 3)) + 0.4 * n;
    };
    expect(MAX_PAIRS).toBe(2);
    const p = planCp('dispatch', mask, 4, {}, SHAPE, { cost });
    expect(p.layout).toEqual({ pattern: 'allgather_ring' }); // 1 + 1 + 1.2 = 3.2; prefetched 1.8 + 1.4 ties
    expect([...halves].sort()).toEqual(['ring', 'usp']);
  });

  it('the default cost model: the choice is no worse than any single plan or pair it priced, in forward + backward', () => {
    const cost = defaultPlanCost(8);
    const chosen = planCp('dispatch', mask, 4, {}, SHAPE);
    const step = (p: Plan) => cost(p, 'fwd') + cost(p, 'bwd');
    for (const pattern of ['ring', 'usp', 'ulysses', 'allgather', 'allgather_ring', 'ring_usp', 'usp_ulysses'])
      expect(step(chosen)).toBeLessThanOrEqual(step(planCp('dispatch', mask, 4, { pattern }, SHAPE)) + 1e-9);
  });
});

describe('the NIC bound that prunes direct routes is a lower bound of the simulated time', () => {
  it.each(['full_document', 'causal_document'])('%s, P = 16 over nodes of 4, direct routes, both step forms', (family) => {
    const shape: CpShape = { headsQ: 32, headsKv: 8, headDim: 128, dtypeBytes: 2 };
    const mask = sharedMask(generateMask(family, 16 * 2048, { seed: 1 }));
    const G = 4;
    const cost = defaultPlanCost(G);
    for (const steps of ['overlap', 'one']) {
      const p = planCp('dispatch', mask, 16, { sharding: 'documents', node: G, exchange: 'direct', steps }, shape);
      // Key bytes each rank receives / sends across nodes in the forward (the direct fetch).
      const got = new Array<number>(16).fill(0);
      const sent = new Array<number>(16).fill(0);
      for (const rp of p.ranks) {
        const bytes = new Map(rp.buffers.map((b) => [b.name, b.bytes]));
        for (const st of rp.forward)
          if (st.kind === 'p2p')
            for (const op of st.ops)
              if (Math.floor(op.peer / G) !== Math.floor(rp.rank / G)) (op.op === 'recv' ? got : sent)[rp.rank] += bytes.get(op.buf)!;
      }
      const g = Math.max(...got);
      const s = Math.max(...sent);
      expect(g).toBeGreaterThan(0);
      expect(cost(p, 'fwd')).toBeGreaterThanOrEqual(Math.max(g, s) / cost.ibBytesPerMs!);
      expect(cost(p, 'bwd')).toBeGreaterThanOrEqual(Math.max(2 * g, s) / cost.ibBytesPerMs!);
    }
  });
});
