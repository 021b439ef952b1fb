// Properties of the issue-14 placements the scheme registry's layout lists do not reach: the
// ring-level doc_zigzag of usp / loongtrain (U > 1), dispatch's node-aware rank order (P > G) and
// its per-direction exchange routes (a relayed forward with a direct backward and vice versa: splice.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttnbenchError } from '../../errors.js';
import { maskArea } from '../../mask/slices.js';
import { gridMask } from '../../mask/testing.js';
import { SLICE_KINDS } from '../../mask/types.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import { planStats } from '../stats.js';
import type { CpLayout, CpShape } from '../types.js';
import { planCp } from './index.js';

const SHAPE: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };

const LAYOUTS: readonly [string, number, CpLayout][] = [
  ['usp', 4, { ulysses: 2, ring: 2, sharding: 'doc_zigzag' }],
  ['usp', 8, { ulysses: 2, ring: 4, sharding: 'doc_zigzag' }],
  ['loongtrain', 8, { hp: 2, cp: 4, window: 2, sharding: 'doc_zigzag' }],
  ['loongtrain', 8, { hp: 2, cp: 4, window: 2, placement: 'head_first', sharding: 'doc_zigzag' }],
  ['dispatch', 8, { sharding: 'documents', node: 2 }],
  ['dispatch', 8, { node: 4 }],
  ['dispatch', 4, { sharding: 'documents', node: 2 }],
  ['dispatch', 8, { sharding: 'granules', exchange: 'relay', node: 2 }],
  ['dispatch', 8, { sharding: 'documents', steps: 'one', node: 4 }],
  ['dispatch', 4, { sharding: 'documents', steps: 'one' }],
  ['dispatch', 8, { sharding: 'documents', node: 2, exchange: 'relay_direct' }],
  ['dispatch', 8, { sharding: 'documents', node: 4, exchange: 'direct_relay', steps: 'one_overlap' }],
];

const arbCase = fc
  .record({
    units: fc.integer({ min: 1, max: 6 }),
    qcuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
    kcuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
    kinds: fc.array(fc.constantFrom(...SLICE_KINDS, null, null), { minLength: 25, maxLength: 25 }),
    pick: fc.nat(),
  })
  .map(({ units, qcuts, kcuts, kinds, pick }) => {
    const [scheme, P, layout] = LAYOUTS[pick % LAYOUTS.length];
    const S = 2 * 8 * 4 * units;
    const cuts = (cs: number[]) => cs.map((c) => Math.floor(c * S)).filter((c) => c > 0);
    return { scheme, P, layout, mask: gridMask(S, S, cuts(qcuts), cuts(kcuts), kinds) };
  });

/** The plan, or null when the placement refuses this mask as bad input (e.g. a rank left empty). */
function planOrNull(scheme: string, mask: Parameters<typeof planCp>[1], P: number, layout: CpLayout) {
  try {
    return planCp(scheme, mask, P, layout, SHAPE);
  } catch (e) {
    if (e instanceof AttnbenchError && e.exit === 2) return null;
    throw e;
  }
}

describe('issue-14 placements over random masks', () => {
  it('pass the checker; FLOPs add up to the mask FLOPs; bytes sent = received', () => {
    fc.assert(
      fc.property(arbCase, ({ scheme, P, layout, mask }) => {
        const plan = planOrNull(scheme, mask, P, layout);
        fc.pre(plan !== null);
        expect(checkPlan(plan!, mask)).toEqual([]);
        const s = planStats(plan!);
        const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
        expect(sum(s.flopsFwd)).toBeCloseTo(4 * maskArea(mask) * SHAPE.headsQ * SHAPE.headDim, 6);
        expect(sum(s.bytesSentFwd)).toBe(sum(s.bytesRecvFwd));
        expect(sum(s.bytesSentBwd)).toBe(sum(s.bytesRecvBwd));
      }),
      { numRuns: 150 },
    );
  });

  it('running them reproduces the reference', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ scheme, P, layout, mask }) => {
        const plan = planOrNull(scheme, mask, P, layout);
        fc.pre(plan !== null);
        const g = randomInputs(mask.seqlenQ, SHAPE, 5);
        const run = await runLocal(plan!, rankInputs(plan!, g));
        expect(compare(assemble(plan!, run.outputs), reference(mask, SHAPE, g)).exceedsTolerance).toBe(false);
      }),
      { numRuns: 30 },
    );
  });
});
