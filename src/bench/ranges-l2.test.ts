// The L2 model of triton_ranges' launches (./ranges-l2.ts) and the opt-in tuning key lptLaunch
// (src/mask/adapters/ranges.ts): a plain LPT launch order instead of the persistent grid's shares.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toRanges } from '../mask/adapters/index.js';
import { listMakespan, rowCost } from '../mask/adapters/ranges-split.js';
import type { RangesValue } from '../mask/adapters/types.js';
import { arbGridMask } from '../mask/testing.js';
import { Lru, simulateL2, type L2Shape } from './ranges-l2.js';
import { caseLists, directionLaunch } from './ranges-l2-main.js';
import { listUnits, lptLaunch } from './ranges-l2-orders.js';

const SHAPE: L2Shape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

describe('Lru', () => {
  it('hits a line again until it is evicted by capacity, oldest first', () => {
    const c = new Lru(100);
    c.access(1, 40, 0);
    c.access(2, 40, 0);
    c.access(1, 40, 0); // hit: 1 becomes the newest
    c.access(3, 40, 0); // 120 > 100: evicts 2 (the oldest)
    c.access(1, 40, 0); // hit
    c.access(2, 40, 0); // miss
    expect(c.requested[0]).toBe(240);
    expect(c.missed[0]).toBe(160);
  });
});

describe('lptLaunch (plain LPT launch order)', () => {
  it('only the order changes: a permutation by cost descending, ties by row; runs, parts, split items and tuning unchanged', () => {
    fc.assert(
      fc.property(arbGridMask(48), fc.constantFrom(2, 3, 4), fc.constantFrom(2, 4), fc.integer({ min: 1, max: 5 }), (m, tq, tk, programs) => {
        const base = { tileQ: tq, tileK: tk, tuning: { programs } };
        const a = toRanges(m, { ranges: base });
        const b = toRanges(m, { ranges: { ...base, tuning: { programs, lptLaunch: 1 } } });
        if (a.kind !== 'ok' || b.kind !== 'ok') throw new Error('adapter refused');
        for (const d of ['fwd', 'bwd'] as const) {
          const la = a.value[d];
          const lb = b.value[d];
          for (const k of ['rowRuns', 'runs', 'rowParts', 'parts', 'sliceIds'] as const) expect(Array.from(lb[k])).toEqual(Array.from(la[k]));
          const X = la.rowRuns.length - 1;
          expect([...lb.order].sort((x, y) => x - y)).toEqual(Array.from({ length: X }, (_, i) => i));
          const cost = (x: number) => rowCost(lb, x);
          for (let i = 1; i < X; i++) {
            const [p, q] = [lb.order[i - 1], lb.order[i]];
            expect(cost(p) > cost(q) || (cost(p) === cost(q) && p < q)).toBe(true);
          }
          expect(lb.progStart).toBeUndefined(); // no persistent grid asked for
          expect(la.progStart).toBeDefined();
        }
        expect({ ...b.value.tuning, lptLaunch: undefined }).toEqual({ ...a.value.tuning, lptLaunch: undefined });
      }),
      { numRuns: 60 },
    );
  });

  it('with the persistent grid launched, the lists keep its shares', () => {
    const m = { seqlenQ: 64, seqlenK: 64, slices: [{ qStart: 0, qEnd: 64, kStart: 0, kEnd: 64, kind: 'causal' as const }] };
    const r = toRanges(m, { ranges: { tileQ: 4, tileK: 8, tuning: { programs: 3, persistent: 1, lptLaunch: 1 } } });
    if (r.kind !== 'ok') throw new Error(r.reason);
    expect(r.value.fwd.progStart?.length).toBe(4);
  });

  it('causal 32k 64:8: today the launch order is regrouped by the persistent shares; the key restores LPT with the same makespan or better', () => {
    const c = { family: 'causal', seqlen: 32768, headsQ: 64, headsKv: 8, headDim: 128 };
    const today = caseLists(c);
    const key = caseLists(c, { lptLaunch: 1 });
    const costs = (v: RangesValue) => Array.from(v.fwd.order, (x) => rowCost(v.fwd, x));
    // today's first rows are one program's share: far apart (query tiles 132 rows apart), not the longest 16
    expect(Math.abs(today.fwd.order[1] - today.fwd.order[0])).toBeGreaterThan(100);
    for (let i = 0; i < 16; i++) expect(key.fwd.order[i]).toBeGreaterThanOrEqual(2048 - 24); // the longest query tiles first
    expect(costs(key)[0]).toBeGreaterThanOrEqual(Math.max(...costs(key)));
    expect(listMakespan(costs(key), 8, 132)).toBeLessThanOrEqual(listMakespan(costs(today), 8, 132));
  });
});

describe('simulateL2', () => {
  it('a forward launch ends at the greedy list schedule of the cost model (ranges-split listMakespan)', () => {
    const v = caseLists({ family: 'causal', seqlen: 4096, headsQ: 64, headsKv: 8, headDim: 128 });
    const { launch, perSm } = directionLaunch(v, SHAPE, 'fwd', 'lpt');
    expect(perSm).toBe(1);
    const r = simulateL2(launch, { value: v, shape: SHAPE }, { slots: 132, capacities: [50e6] });
    const costs = listUnits('fwd', v.fwd).map((u) => u.cost);
    expect(r.makespan).toBeCloseTo(listMakespan(costs, 8, 132), 6);
    // every program reads each of its K/V tiles once: the requests are the tiles x the line size
    expect(r.caches[0].requested[0]).toBe((v.fwd.fullTiles + v.fwd.partialTiles) * 8 * 128 * 128 * 2 * 2);
  });

  it('K/V reuse depends on the launch order: causal 8k 64:8 on a 12 MB cache, the persistent-share order vs plain LPT', () => {
    const c = { family: 'causal', seqlen: 8192, headsQ: 64, headsKv: 8, headDim: 128 };
    const hit = (v: RangesValue) => {
      const ctx = { pass: 'fwd' as const, units: listUnits('fwd', v.fwd), rep: 8, sub: 1, numRows: v.fwd.numRows };
      const r = simulateL2(lptLaunch(ctx), { value: v, shape: SHAPE }, { slots: 132, capacities: [12e6] });
      return 1 - r.caches[0].missed[0] / r.caches[0].requested[0];
    };
    const today = hit(caseLists(c));
    const key = hit(caseLists(c, { lptLaunch: 1 }));
    expect(key).toBeGreaterThan(0.85);
    expect(today).toBeLessThan(key - 0.1);
  });
});
