import { describe, expect, it } from 'vitest';
import { referenceForward } from '../kernels/cpu/index.js';
import type { Mask } from '../mask/types.js';
import { rngFor } from '../mask/prng.js';
import { mergePartial } from './merge.js';

describe('mergePartial', () => {
  it('merging two key halves equals attention over all keys (fully masked rows stay -inf)', () => {
    const Sq = 6;
    const Sk = 10;
    const D = 4;
    const rng = rngFor(3, 'merge-test');
    const fill = (n: number) => Float32Array.from({ length: n }, () => 2 * rng.float() - 1);
    const q = fill(Sq * D);
    const k = fill(Sk * D);
    const v = fill(Sk * D);
    // Row 5 sees no key at all; rows 0-1 only keys of the first half.
    const mask: Mask = {
      seqlenQ: Sq,
      seqlenK: Sk,
      slices: [
        { qStart: 0, qEnd: 2, kStart: 0, kEnd: 4, kind: 'full' },
        { qStart: 2, qEnd: 5, kStart: 0, kEnd: 10, kind: 'full' },
      ],
    };
    const shape = (sk: number) => ({ seqlenQ: Sq, seqlenK: sk, headsQ: 1, headsKv: 1, headDim: D });
    const full = referenceForward(q, k, v, mask, shape(Sk));
    const half = (k0: number, k1: number) => {
      const m: Mask = {
        seqlenQ: Sq,
        seqlenK: k1 - k0,
        slices: mask.slices
          .filter((s) => s.kStart < k1 && s.kEnd > k0)
          .map((s) => ({ ...s, kStart: Math.max(s.kStart, k0) - k0, kEnd: Math.min(s.kEnd, k1) - k0 })),
      };
      const r = referenceForward(q, k.subarray(k0 * D, k1 * D), v.subarray(k0 * D, k1 * D), m, shape(k1 - k0));
      return { out: Float32Array.from(r.out), lse: Float32Array.from(r.lse) };
    };
    const a = half(0, 5);
    const b = half(5, 10);
    mergePartial(a.out, a.lse, b.out, b.lse, Sq, D);
    for (let i = 0; i < Sq * D; i++) expect(a.out[i]).toBeCloseTo(full.out[i], 5);
    for (let i = 0; i < Sq; i++) {
      if (full.lse[i] === -Infinity) expect(a.lse[i]).toBe(-Infinity);
      else expect(a.lse[i]).toBeCloseTo(full.lse[i], 5);
    }
  });
});
