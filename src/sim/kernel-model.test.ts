import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { blockMapPairs, blockPairs, disjointSlicePairs } from './kernel-model.js';
import { arbKinds, gridMask } from '../mask/testing.js';

/** Random masks: the grid cut into rectangles (cut points often on block boundaries), each a slice of a random kind or empty. */
const arbMask = (block: number, maxQCuts = 3, maxKCuts = 3): fc.Arbitrary<Mask> =>
  fc
    .record({
      sq: fc.integer({ min: 1, max: 6 * block }),
      sk: fc.integer({ min: 1, max: 6 * block }),
      qcuts: fc.array(fc.oneof(fc.integer({ min: 1, max: 6 }).map((x) => x * block), fc.integer({ min: 1, max: 6 * block })), { maxLength: maxQCuts }),
      kcuts: fc.array(fc.oneof(fc.integer({ min: 1, max: 6 }).map((x) => x * block), fc.integer({ min: 1, max: 6 * block })), { maxLength: maxKCuts }),
      kinds: arbKinds(16),
    })
    .map(({ sq, sk, qcuts, kcuts, kinds }) => gridMask(sq, sk, qcuts, kcuts, kinds));

describe('block pairs', () => {
  it('the slice-by-slice fast path equals the block map whenever it applies', () => {
    let applied = 0;
    fc.assert(
      fc.property(arbMask(16), (m) => {
        const fast = disjointSlicePairs(m, 16);
        if (fast) {
          applied++;
          expect(fast).toEqual(blockMapPairs(m, 16));
        }
        expect(blockPairs(m, 16)).toEqual(blockMapPairs(m, 16));
      }),
      { numRuns: 500 },
    );
    expect(applied).toBeGreaterThan(100);
  });

  it('joins runs of full slices (K/V gathered from many ranks) and still agrees with the block map', () => {
    fc.assert(
      fc.property(arbMask(16, 1, 40), (m) => {
        expect(blockPairs(m, 16)).toEqual(blockMapPairs(m, 16));
      }),
      { numRuns: 300 },
    );
    // 2 query ranges x 64 key chunks, all full: joined into 2 slices, fast path applies
    const slices: Slice[] = [];
    for (const [q0, q1] of [[0, 128], [128, 256]]) for (let k = 0; k < 64; k++) slices.push({ qStart: q0, qEnd: q1, kStart: k * 32, kEnd: (k + 1) * 32, kind: 'full' });
    const m: Mask = { seqlenQ: 256, seqlenK: 2048, slices };
    expect(disjointSlicePairs(m, 128)).toEqual(blockMapPairs(m, 128));
  });

  it('counts a causal square: diagonal blocks partial, the rest of the lower triangle full', () => {
    const m: Mask = { seqlenQ: 512, seqlenK: 512, slices: [{ qStart: 0, qEnd: 512, kStart: 0, kEnd: 512, kind: 'causal' }] };
    const p = blockPairs(m, 128);
    expect(p).toEqual({ full: 6 * 128 * 128, partial: 4 * 128 * 128, empty: 6 * 128 * 128 });
  });
});
