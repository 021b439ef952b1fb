import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Mask, Range } from '../../mask/types.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import type { CpShape, Plan } from '../types.js';
import { AreaIndex, mergeSorted, subtractRanges } from './area.js';
import { TILE, tileOrder } from './doc-order.js';
import { documentUnits, placeDocuments } from './doc-place.js';
import { planCp } from './index.js';

const SHAPE: CpShape = { headsQ: 2, headsKv: 1, headDim: 4, dtypeBytes: 4 };

/** Documents of these lengths, each causal or full. */
function docMask(lens: readonly number[], kind: 'causal' | 'full'): Mask {
  let a = 0;
  const slices = lens.map((l) => ({ qStart: a, qEnd: a + l, kStart: a, kEnd: (a += l), kind }));
  return { seqlenQ: a, seqlenK: a, slices };
}

const readsRemote = (idx: AreaIndex, x: Range, own: readonly Range[]) => subtractRanges(idx.colExtent(x.start, x.end), mergeSorted(own)).length > 0;

describe('tileOrder: the rows that read remote keys first, tile multiples before the rest', () => {
  it('is a reordering of the rank ranges in three groups', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom('causal' as const, 'full' as const),
        fc.integer({ min: 2, max: 4 }),
        (lens, kind, P) => {
          const S = lens.reduce((a, b) => a + b, 0);
          fc.pre(S >= P);
          const idx = new AreaIndex(docMask(lens, kind));
          const units = documentUnits(idx, 0);
          const d = placeDocuments(idx, P, { cap: (1.5 * S) / P, target: 1.05, split: 'zigzag' });
          for (const own of d.owned) {
            const o = tileOrder(idx, own, units);
            expect(mergeSorted(o)).toEqual(mergeSorted(own));
            const group = o.map((x) => (!readsRemote(idx, x, own) ? 2 : (x.end - x.start) % TILE === 0 ? 0 : 1));
            for (let i = 1; i < group.length; i++) expect(group[i]).toBeGreaterThanOrEqual(group[i - 1]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('dispatch documents: long documents cut on the tile grid, remote steps over the remote rows only (steps=overlap)', () => {
  // One long document (cut into pieces of several tiles) among short ones: S = 4096, P = 4.
  const lens = [120, 2600, 200, 80, 150, 300, 46, 100, 250, 90, 60, 100];
  it.each(['causal', 'full'] as const)('%s documents: checker passes, the CPU run matches the reference, pieces fill whole tiles', async (kind) => {
    const mask = docMask(lens, kind);
    const plan: Plan = planCp('dispatch', mask, 4, { sharding: 'documents', steps: 'overlap' }, SHAPE);
    expect(plan.layout.sharding).toBe('documents');
    expect(checkPlan(plan, mask)).toEqual([]);
    const g = randomInputs(mask.seqlenQ, SHAPE, 5);
    const run = await runLocal(plan, rankInputs(plan, g));
    expect(compare(assemble(plan, run.outputs), reference(mask, SHAPE, g)).exceedsTolerance).toBe(false);
    const idx = new AreaIndex(mask);
    let subs = 0;
    for (const rp of plan.ranks) {
      const remote = rp.owned.filter((x) => readsRemote(idx, x, rp.owned));
      // the remote readers lead, and all but the last fill whole tiles
      expect(rp.owned.slice(0, remote.length)).toEqual(remote);
      remote.slice(0, -1).forEach((x) => expect((x.end - x.start) % TILE).toBe(0));
      const steps = rp.forward.filter((s) => s.kind === 'attn');
      if (remote.length && remote.length < rp.owned.length) {
        // the remote attention step reads a copy of the remote rows only
        const q = rp.buffers.find((b) => b.name === steps[steps.length - 1].q)!;
        expect(q.tokens).toEqual(remote);
        subs++;
      }
    }
    expect(subs).toBeGreaterThan(0);
  });
});
