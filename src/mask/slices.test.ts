import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from './types.js';
import { blockMap, colRanges, maskArea, restrict, restrictRanges, rowRanges, toDense } from './slices.js';
import { arbGridMask } from './testing.js';

/** Independent definition of the four slice kinds, straight from SPEC section 2. */
function inSlice(s: Slice, i: number, j: number): boolean {
  if (i < s.qStart || i >= s.qEnd || j < s.kStart || j >= s.kEnd) return false;
  const li = i - s.qStart;
  const lj = j - s.kStart;
  const d = s.kEnd - s.kStart - (s.qEnd - s.qStart);
  const causal = lj <= li + d;
  const inv = lj >= li;
  return s.kind === 'full' ? true : s.kind === 'causal' ? causal : s.kind === 'invcausal' ? inv : causal && inv;
}

function bruteDense(m: Mask): Uint8Array {
  const d = new Uint8Array(m.seqlenQ * m.seqlenK);
  for (let i = 0; i < m.seqlenQ; i++)
    for (let j = 0; j < m.seqlenK; j++) if (m.slices.some((s) => inSlice(s, i, j))) d[i * m.seqlenK + j] = 1;
  return d;
}

/** Random mask: the grid cut into a random grid of rectangles, each a slice of a random kind. */
const arbMask: fc.Arbitrary<Mask> = arbGridMask(70);

const sum = (d: Uint8Array) => d.reduce((a, x) => a + x, 0);

describe('slice operations agree with the dense definition', () => {
  it('dense expansion and area', () => {
    fc.assert(
      fc.property(arbMask, (m) => {
        const ref = bruteDense(m);
        expect(toDense(m)).toEqual(ref);
        expect(maskArea(m)).toBe(sum(ref));
      }),
    );
  });

  it('row and column ranges', () => {
    fc.assert(
      fc.property(arbMask, fc.nat(), (m, r) => {
        const ref = bruteDense(m);
        const i = r % m.seqlenQ;
        const row = new Uint8Array(m.seqlenK);
        for (const x of rowRanges(m, i)) row.fill(1, x.start, x.end);
        expect(row).toEqual(ref.subarray(i * m.seqlenK, (i + 1) * m.seqlenK));
        const j = r % m.seqlenK;
        const col = new Uint8Array(m.seqlenQ);
        for (const x of colRanges(m, j)) col.fill(1, x.start, x.end);
        expect(col).toEqual(Uint8Array.from({ length: m.seqlenQ }, (_, q) => ref[q * m.seqlenK + j]));
      }),
    );
  });

  it('restriction to a sub-rectangle and to gathered ranges', () => {
    fc.assert(
      fc.property(arbMask, fc.nat(), fc.nat(), fc.nat(), fc.nat(), (m, a, b, c, d) => {
        const ref = bruteDense(m);
        const q0 = a % m.seqlenQ, q1 = q0 + 1 + (b % (m.seqlenQ - q0));
        const k0 = c % m.seqlenK, k1 = k0 + 1 + (d % (m.seqlenK - k0));
        const sub = restrict(m, { start: q0, end: q1 }, { start: k0, end: k1 });
        const dense = toDense(sub);
        for (let i = q0; i < q1; i++)
          for (let j = k0; j < k1; j++) expect(dense[(i - q0) * (k1 - k0) + (j - k0)]).toBe(ref[i * m.seqlenK + j]);
        // Gathered: the two halves of the rows swapped, keys reversed in two pieces.
        const qs = [{ start: q0, end: q1 }, { start: 0, end: q0 }];
        const ks = [{ start: k0, end: m.seqlenK }, { start: 0, end: k0 }];
        const g = toDense(restrictRanges(m, qs, ks));
        const qIdx = [...range(q0, q1), ...range(0, q0)];
        const kIdx = [...range(k0, m.seqlenK), ...range(0, k0)];
        qIdx.forEach((i, li) => kIdx.forEach((j, lj) => expect(g[li * kIdx.length + lj]).toBe(ref[i * m.seqlenK + j])));
      }),
    );
  });

  it('block map classifies every block like the dense count', () => {
    fc.assert(
      fc.property(arbMask, fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 17 }), (m, bq, bk) => {
        const ref = bruteDense(m);
        const bm = blockMap(m, bq, bk);
        let nonEmpty = 0;
        for (let qb = 0; qb < bm.numBlocksQ; qb++) {
          const kinds = new Map<number, string>();
          for (const r of bm.rows[qb]) for (let kb = r.kbStart; kb < r.kbEnd; kb++) kinds.set(kb, r.kind);
          for (let kb = 0; kb < bm.numBlocksK; kb++) {
            let cnt = 0;
            let cells = 0;
            for (let i = qb * bq; i < Math.min(m.seqlenQ, (qb + 1) * bq); i++)
              for (let j = kb * bk; j < Math.min(m.seqlenK, (kb + 1) * bk); j++) {
                cnt += ref[i * m.seqlenK + j];
                cells++;
              }
            const want = cnt === 0 ? undefined : cnt === cells ? 'full' : 'partial';
            expect(kinds.get(kb)).toBe(want);
            if (want) nonEmpty++;
          }
        }
        expect(bm.counts.partial + bm.counts.full).toBe(nonEmpty);
        expect(bm.counts.empty).toBe(bm.numBlocksQ * bm.numBlocksK - nonEmpty);
      }),
    );
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, t) => a + t);
}
