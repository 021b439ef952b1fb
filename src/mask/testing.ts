// Test helpers for property tests over masks (imported by *.test.ts only).
import fc from 'fast-check';
import { SLICE_KINDS, type Mask, type Slice, type SliceKind } from './types.js';

/**
 * The Sq x Sk grid cut at the given points into rectangles; rectangle t (row-major) becomes a
 * slice of kinds[t % kinds.length], or stays empty where that is null.
 */
export function gridMask(sq: number, sk: number, qcuts: readonly number[], kcuts: readonly number[], kinds: readonly (SliceKind | null)[]): Mask {
  const qs = [...new Set([0, ...qcuts.filter((c) => c < sq), sq])].sort((a, b) => a - b);
  const ks = [...new Set([0, ...kcuts.filter((c) => c < sk), sk])].sort((a, b) => a - b);
  const slices: Slice[] = [];
  let t = 0;
  for (let a = 0; a + 1 < qs.length; a++)
    for (let b = 0; b + 1 < ks.length; b++) {
      const kind = kinds[t++ % kinds.length];
      if (kind) slices.push({ qStart: qs[a], qEnd: qs[a + 1], kStart: ks[b], kEnd: ks[b + 1], kind });
    }
  return { seqlenQ: sq, seqlenK: sk, slices };
}

/** Random slice kinds (null = empty rectangle) for gridMask. */
export const arbKinds = (n = 25): fc.Arbitrary<(SliceKind | null)[]> => fc.array(fc.constantFrom(...SLICE_KINDS, null), { minLength: n, maxLength: n });

/** Random mask of up to max x max tokens: a random grid of up to 5 x 5 rectangles of random kinds. */
export function arbGridMask(max: number): fc.Arbitrary<Mask> {
  return fc
    .record({
      sq: fc.integer({ min: 1, max }),
      sk: fc.integer({ min: 1, max }),
      qcuts: fc.array(fc.integer({ min: 1, max: max - 1 }), { maxLength: 4 }),
      kcuts: fc.array(fc.integer({ min: 1, max: max - 1 }), { maxLength: 4 }),
      kinds: arbKinds(),
    })
    .map(({ sq, sk, qcuts, kcuts, kinds }) => gridMask(sq, sk, qcuts, kcuts, kinds));
}
