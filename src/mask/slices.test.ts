import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLICE_KINDS, type Mask, type Slice } from './types.js';
import { blockMap, blockRuns, colRanges, maskArea, restrict, restrictRanges, rowRanges, toDense } from './slices.js';
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
        checkBlockMap(m, bq, bk);
      }),
    );
  });

  it('block map of document-like masks (block rows inside one slice, and where several meet), in any slice order', () => {
    fc.assert(
      fc.property(arbDocMask, fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.nat(), (m, bq, bk, seed) => {
        checkBlockMap(m, bq, bk);
        const shuffled = { ...m, slices: shuffle(m.slices, seed) };
        expect(blockMap(shuffled, bq, bk)).toEqual(blockMap(m, bq, bk));
      }),
    );
  });
});

/**
 * Documents along the diagonal, each one slice (or two: a full prefix block and a causal rest),
 * sometimes followed by a sliding-window band (bicausal) or an attention-sink column (full): many
 * block rows covered by one slice only, with diagonal and window edges crossing blocks.
 */
const arbDocMask: fc.Arbitrary<Mask> = fc
  .record({
    docs: fc.array(fc.record({ len: fc.integer({ min: 1, max: 40 }), kind: fc.constantFrom(...SLICE_KINDS), prefix: fc.nat({ max: 12 }) }), {
      minLength: 1,
      maxLength: 6,
    }),
    window: fc.option(fc.integer({ min: 0, max: 30 })),
    extraK: fc.oneof(fc.constant(0), fc.nat({ max: 10 })),
  })
  .map(({ docs, window, extraK }) => {
    const slices: Slice[] = [];
    let at = 0;
    for (const { len, kind, prefix } of docs) {
      const p = Math.min(prefix, len - 1);
      if (p > 0) slices.push({ qStart: at, qEnd: at + p, kStart: at, kEnd: at + p, kind: 'full' });
      slices.push({ qStart: at + p, qEnd: at + len, kStart: at, kEnd: at + len, kind: p > 0 && kind === 'invcausal' ? 'causal' : kind });
      at += len;
    }
    const sq = at;
    const sk = at + extraK;
    if (extraK > 0) slices.push({ qStart: 0, qEnd: sq, kStart: at, kEnd: sk, kind: 'full' });
    if (window !== null) {
      // A band of width window + 1 in rows of a second copy of the sequence, below the documents.
      const w = Math.min(window, at - 1);
      slices.push({ qStart: sq, qEnd: sq + at - w, kStart: 0, kEnd: at, kind: 'bicausal' });
      return { seqlenQ: sq + at - w, seqlenK: sk, slices };
    }
    return { seqlenQ: sq, seqlenK: sk, slices };
  });

/** blockMap against the dense definition, block by block, and the form of the runs. */
function checkBlockMap(m: Mask, bq: number, bk: number): void {
  const ref = bruteDense(m);
  const bm = blockMap(m, bq, bk);
  expect([bm.numBlocksQ, bm.numBlocksK]).toEqual([Math.ceil(m.seqlenQ / bq), Math.ceil(m.seqlenK / bk)]);
  expect(bm.rowRuns.length).toBe(bm.numBlocksQ + 1);
  expect(bm.rowRuns[0]).toBe(0);
  expect(bm.rowRuns[bm.numBlocksQ]).toBe(bm.runStart.length);
  expect([bm.runEnd.length, bm.runFull.length]).toEqual([bm.runStart.length, bm.runStart.length]);
  let nonEmpty = 0;
  for (let qb = 0; qb < bm.numBlocksQ; qb++) {
    const runs = blockRuns(bm, qb);
    // Sorted, non-empty, disjoint, and maximal: touching runs differ in kind.
    runs.forEach((r, t) => {
      expect(r.kbEnd).toBeGreaterThan(r.kbStart);
      if (t > 0) {
        expect(r.kbStart).toBeGreaterThanOrEqual(runs[t - 1].kbEnd);
        if (r.kbStart === runs[t - 1].kbEnd) expect(r.kind).not.toBe(runs[t - 1].kind);
      }
    });
    const kinds = new Map<number, string>();
    for (const r of runs) for (let kb = r.kbStart; kb < r.kbEnd; kb++) kinds.set(kb, r.kind);
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
}

/** A seeded permutation (the slice order of a mask is not significant). */
function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let x = seed | 1;
  for (let t = out.length - 1; t > 0; t--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const u = x % (t + 1);
    [out[t], out[u]] = [out[u], out[t]];
  }
  return out;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, t) => a + t);
}
