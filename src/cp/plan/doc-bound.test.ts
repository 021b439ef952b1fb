import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Mask } from '../../mask/types.js';
import { AreaIndex, rangesLength } from './area.js';
import { fetchTokens } from './dispatch-granules.js';
import { fetchLowerBound } from './doc-bound.js';
import { placeDocuments } from './doc-place.js';

/** Documents of these lengths, each causal or full. */
function docMask(lens: readonly number[], kind: 'causal' | 'full'): Mask {
  let a = 0;
  const slices = lens.map((l) => ({ qStart: a, qEnd: a + l, kStart: a, kEnd: (a += l), kind }));
  return { seqlenQ: a, seqlenK: a, slices };
}

describe('fetchLowerBound: keys every placement within the token cap and the area bound fetches', () => {
  it('one causal document of 8 on 2 ranks at imbalance 1: 6 keys (met by {0,1,3,4,5} / {2,6,7})', () => {
    expect(fetchLowerBound(new AreaIndex(docMask([8], 'causal')), 2, 8, 1)).toBe(6);
  });

  it('one full document of 12 on 4 ranks: every rank holds 3 rows and fetches the other 9', () => {
    expect(fetchLowerBound(new AreaIndex(docMask([12], 'full')), 4, 12, 1)).toBe(36);
  });

  it('documents that fit a rank cost nothing; one above the area bound or the token cap is cut', () => {
    expect(fetchLowerBound(new AreaIndex(docMask([4, 4, 4, 4], 'causal')), 4, 8, 1.05)).toBe(0);
    // full [10] + 30 one-token ones on 4 ranks: area 10^2 + 30 = 130, Amax = 34.1: 3 rows of the long one per rank
    const idx = new AreaIndex(docMask([10, ...Array<number>(30).fill(1)], 'full'));
    expect(fetchLowerBound(idx, 4, 10, 1.05)).toBe(3 * 10); // ceil(10 / 3) = 4 ranks
    // causal [8], 2 tokens per rank, no area bound: pieces [6,8) [4,6) [2,4) [0,2) fetch 6 + 4 + 2
    expect(fetchLowerBound(new AreaIndex(docMask([8], 'causal')), 4, 2, 100)).toBe(12);
  });

  it('is at most what any placement meeting the constraints fetches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 14 }),
        fc.constantFrom('causal' as const, 'full' as const),
        fc.integer({ min: 2, max: 6 }),
        fc.constantFrom('fill' as const, 'zigzag' as const),
        (lens, kind, P, split) => {
          const S = lens.reduce((a, b) => a + b, 0);
          fc.pre(S >= P);
          const idx = new AreaIndex(docMask(lens, kind));
          const cap = Math.ceil((1.5 * S) / P);
          const d = placeDocuments(idx, P, { cap, target: 1.05, split });
          const mean = d.loads.reduce((a, b) => a + b, 0) / P;
          const imbalance = Math.max(...d.loads) / mean;
          const tokens = Math.max(...d.owned.map(rangesLength));
          fc.pre(tokens <= cap);
          // the bound at the placement's own imbalance and cap
          expect(fetchTokens(idx, d.owned)).toBeGreaterThanOrEqual(fetchLowerBound(idx, P, cap, Math.max(1, imbalance)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
