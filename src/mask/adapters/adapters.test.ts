// Every adapter against the dense mask: its output, decoded by an independent decoder written here
// from the format's documented semantics, must equal toDense(mask); and 'unsupported' must come
// exactly when no value of the format could decode to the mask (brute force on small sizes).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bandToSlices } from '../band.js';
import { colRanges, toDense } from '../slices.js';
import { SLICE_KINDS, type Mask, type Slice, type SliceKind } from '../types.js';
import { arbKinds, gridMask } from '../testing.js';
import {
  MASK_FORMATS,
  adapt,
  formatSupport,
  sameMask,
  supportedFormats,
  toBlockTable,
  toDenseFormat,
  toFlashmask,
  toSegments,
  toSlices,
  toVarlen,
  toWindow,
  type BlockTableValue,
  type FlashmaskValue,
  type SegmentsValue,
  type SlicesValue,
  type VarlenValue,
  type WindowValue,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// Masks: random grids of slices, and hand-built family shapes.

function bandMask(sq: number, sk: number, lo: number, hi: number): Slice[] {
  return bandToSlices({ q0: 0, q1: sq, k0: 0, k1: sk, lo, hi });
}

/** Documents of the given lengths, each the window (left, right) (-1: unbounded) on its square. */
function docsMask(lens: readonly number[], left: number, right: number): Mask {
  const slices: Slice[] = [];
  let a = 0;
  for (const n of lens) {
    slices.push(...bandToSlices({ q0: a, q1: a + n, k0: a, k1: a + n, lo: left < 0 ? -Infinity : -left, hi: right < 0 ? Infinity : right }));
    a += n;
  }
  return { seqlenQ: a, seqlenK: a, slices };
}

/** Segment-id mask built run by run (ids may interleave). */
function segmentsMask(ids: readonly number[], causal: boolean): Mask {
  const runs: { start: number; end: number; id: number }[] = [];
  ids.forEach((id, t) => {
    const last = runs[runs.length - 1];
    if (last && last.id === id) last.end = t + 1;
    else runs.push({ start: t, end: t + 1, id });
  });
  const slices: Slice[] = [];
  for (const a of runs)
    for (const b of runs) {
      if (a.id !== b.id || (causal && b.start > a.start)) continue;
      const kind: SliceKind = causal && a === b ? 'causal' : 'full';
      slices.push({ qStart: a.start, qEnd: a.end, kStart: b.start, kEnd: b.end, kind });
    }
  return { seqlenQ: ids.length, seqlenK: ids.length, slices };
}

/** The sq x sk grid cut into a random grid of rectangles, each a slice of a random kind or none. */
const arbGridOf = (sq: number, sk: number): fc.Arbitrary<Mask> =>
  fc
    .record({
      qcuts: fc.array(fc.integer({ min: 1, max: Math.max(1, sq - 1) }), { maxLength: 4 }),
      kcuts: fc.array(fc.integer({ min: 1, max: Math.max(1, sk - 1) }), { maxLength: 4 }),
      kinds: arbKinds(),
    })
    .map(({ qcuts, kcuts, kinds }) => gridMask(sq, sk, qcuts, kcuts, kinds));

const arbDims = (maxS: number) => fc.record({ sq: fc.integer({ min: 1, max: maxS }), sk: fc.integer({ min: 1, max: maxS }) });
const arbGrid = (maxS: number): fc.Arbitrary<Mask> => arbDims(maxS).chain(({ sq, sk }) => arbGridOf(sq, sk));

/** Square grids cut at the same places on both axes: diagonal cells random, a few off-diagonal. */
const arbAligned = (maxS: number): fc.Arbitrary<Mask> =>
  fc
    .record({
      s: fc.integer({ min: 1, max: maxS }),
      cuts: fc.array(fc.integer({ min: 1, max: maxS - 1 }), { maxLength: 5 }),
      diag: fc.array(fc.constantFrom(...SLICE_KINDS), { minLength: 6, maxLength: 6 }),
      off: fc.array(fc.constantFrom('full', null, null, null), { minLength: 36, maxLength: 36 }),
    })
    .map(({ s, cuts, diag, off }) => {
      const cs = [...new Set([0, ...cuts.filter((c) => c < s), s])].sort((a, b) => a - b);
      const slices: Slice[] = [];
      for (let a = 0; a + 1 < cs.length; a++)
        for (let b = 0; b + 1 < cs.length; b++) {
          const kind = a === b ? diag[a] : off[a * 6 + b];
          if (kind) slices.push({ qStart: cs[a], qEnd: cs[a + 1], kStart: cs[b], kEnd: cs[b + 1], kind });
        }
      return { seqlenQ: s, seqlenK: s, slices };
    });

const bound = (maxS: number) => fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: maxS }));

/** The families' shapes (SPEC section 3), small. */
const arbShaped = (maxS: number): fc.Arbitrary<Mask> => {
  const S = fc.integer({ min: 1, max: maxS });
  const lens = fc.array(fc.integer({ min: 1, max: Math.max(1, maxS >> 2) }), { minLength: 1, maxLength: 6 });
  return fc.oneof(
    // full, causal, sliding windows, and bands that miss the diagonal, on square and other grids
    fc
      .record({ sq: S, sk: S, lo: fc.integer({ min: -maxS, max: maxS }), hi: fc.integer({ min: -maxS, max: maxS }), square: fc.boolean() })
      .map(({ sq, sk, lo, hi, square }) => {
        const k = square ? sq : sk;
        return { seqlenQ: sq, seqlenK: k, slices: bandMask(sq, k, Math.min(lo, hi), Math.max(lo, hi)) };
      }),
    fc.record({ s: S, left: bound(maxS), right: bound(maxS) }).map(({ s, left, right }) => docsMask([s], left, right)),
    // documents: full, causal, windowed
    fc.record({ lens, left: bound(6), right: fc.constantFrom(-1, 0, 0, 1, 2) }).map(({ lens, left, right }) => docsMask(lens, left, right)),
    // prefix LM: bidirectional prefix p, causal after it
    fc.record({ s: S, p: fc.nat() }).map(({ s, p }): Mask => {
      const q = 1 + (p % s);
      const slices: Slice[] = [{ qStart: 0, qEnd: q, kStart: 0, kEnd: q, kind: 'full' }];
      if (q < s) slices.push({ qStart: q, qEnd: s, kStart: 0, kEnd: s, kind: 'causal' });
      return { seqlenQ: s, seqlenK: s, slices };
    }),
    // share question: answers see the question fully and are causal within themselves
    fc.record({ q: fc.integer({ min: 1, max: 8 }), answers: lens }).map(({ q, answers }): Mask => {
      const slices: Slice[] = [{ qStart: 0, qEnd: q, kStart: 0, kEnd: q, kind: 'causal' }];
      let a = q;
      for (const n of answers) {
        slices.push({ qStart: a, qEnd: a + n, kStart: 0, kEnd: q, kind: 'full' }, { qStart: a, qEnd: a + n, kStart: a, kEnd: a + n, kind: 'causal' });
        a += n;
      }
      return { seqlenQ: a, seqlenK: a, slices };
    }),
    // causal blockwise: causal documents, the last one causal over everything
    lens.map((ls): Mask => {
      const m = docsMask(ls, -1, 0);
      const last = ls[ls.length - 1];
      const slices = m.slices.filter((s) => s.qStart < m.seqlenQ - last);
      slices.push({ qStart: m.seqlenQ - last, qEnd: m.seqlenQ, kStart: 0, kEnd: m.seqlenQ, kind: 'causal' });
      return { ...m, slices };
    }),
    // global sliding window: g global tokens, |i - j| <= g elsewhere
    fc.record({ s: S, g: fc.nat() }).map(({ s, g: r }): Mask => {
      const g = 1 + (r % s);
      const slices: Slice[] = [{ qStart: 0, qEnd: g, kStart: 0, kEnd: s, kind: 'full' }];
      if (g < s) slices.push({ qStart: g, qEnd: s, kStart: 0, kEnd: g, kind: 'full' }, ...bandToSlices({ q0: g, q1: s, k0: g, k1: s, lo: -g, hi: g }));
      return { seqlenQ: s, seqlenK: s, slices };
    }),
    // interleaved segment ids
    fc
      .record({ ids: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: maxS }), causal: fc.boolean() })
      .map(({ ids, causal }) => segmentsMask(ids, causal)),
  );
};

const arbMask = (maxS: number) => fc.oneof(arbGrid(maxS), arbAligned(maxS), arbShaped(maxS));

// ---------------------------------------------------------------------------------------------
// Independent decoders, one per format, from the semantics documented in ./types.ts.

function decode(sq: number, sk: number, sees: (i: number, j: number) => boolean): Uint8Array {
  const d = new Uint8Array(sq * sk);
  for (let i = 0; i < sq; i++) for (let j = 0; j < sk; j++) d[i * sk + j] = sees(i, j) ? 1 : 0;
  return d;
}

function decodeSlices(v: SlicesValue): Uint8Array {
  return decode(v.seqlenQ, v.seqlenK, (i, j) => {
    for (let t = 0; t < v.types.length; t++) {
      const [q0, q1, k0, k1] = [v.qRanges[2 * t], v.qRanges[2 * t + 1], v.kRanges[2 * t], v.kRanges[2 * t + 1]];
      if (i < q0 || i >= q1 || j < k0 || j >= k1) continue;
      const li = i - q0;
      const lj = j - k0;
      const causal = lj <= li + (k1 - k0) - (q1 - q0);
      const inv = lj >= li;
      if ([true, causal, inv, causal && inv][v.types[t]]) return true;
    }
    return false;
  });
}

function decodeWindow(v: WindowValue, sq: number, sk: number): Uint8Array {
  const d = sk - sq;
  return decode(sq, sk, (i, j) => (v.left < 0 || j - i >= d - v.left) && (v.right < 0 || j - i <= d + v.right));
}

function decodeVarlen(v: VarlenValue, sq: number, sk: number): Uint8Array {
  return decode(sq, sk, (i, j) => {
    for (let b = 0; b + 1 < v.cuSeqlensQ.length; b++) {
      const [q0, q1, k0, k1] = [v.cuSeqlensQ[b], v.cuSeqlensQ[b + 1], v.cuSeqlensK[b], v.cuSeqlensK[b + 1]];
      if (i < q0 || i >= q1) continue;
      if (j < k0 || j >= k1) return false;
      const off = (k1 - k0) - (q1 - q0); // flash_attn: bottom-right aligned inside each sequence
      const rel = j - k0 - (i - q0) - off;
      if (v.causal && rel > 0) return false;
      if (v.window && v.window.left >= 0 && rel < -v.window.left) return false;
      if (v.window && v.window.right >= 0 && rel > v.window.right) return false;
      return true;
    }
    return false;
  });
}

function decodeFlashmask(v: FlashmaskValue): Uint8Array {
  const r = v.startRowIndices;
  return decode(v.seqlenQ, v.seqlenK, (i, j) => {
    const [lts, lte, uts, ute] = [r[4 * j], r[4 * j + 1], r[4 * j + 2], r[4 * j + 3]];
    return !((v.causal && i < j) || (i >= lts && i < lte) || (i >= uts && i < ute));
  });
}

function decodeSegments(v: SegmentsValue): Uint8Array {
  const s = v.segmentIds;
  return decode(s.length, s.length, (i, j) => s[i] === s[j] && (!v.causal || j <= i));
}

/** Partial blocks take the true mask (the mask_mod), full blocks all ones, unlisted blocks zeros. */
function decodeBlockTable(v: BlockTableValue, heads: readonly Mask[]): Uint8Array[] {
  return heads.map((m, h) => {
    const truth = toDense(m);
    const out = new Uint8Array(truth.length);
    for (let qb = 0; qb < v.numBlocksQ; qb++) {
      const row = h * v.numBlocksQ + qb;
      const fill = (kb: number, partial: boolean) => {
        let ones = 0;
        let cells = 0;
        for (let i = qb * v.blockQ; i < Math.min(v.seqlenQ, (qb + 1) * v.blockQ); i++)
          for (let j = kb * v.blockK; j < Math.min(v.seqlenK, (kb + 1) * v.blockK); j++) {
            const x = i * v.seqlenK + j;
            out[x] = partial ? truth[x] : 1;
            ones += truth[x];
            cells++;
          }
        if (partial) expect(ones > 0 && ones < cells, `block (${qb}, ${kb}) listed as partial`).toBe(true);
      };
      const kbs: number[] = [];
      for (let t = 0; t < v.kvNumBlocks[row]; t++) kbs.push(v.kvIndices[row * v.maxK + t]), fill(kbs[kbs.length - 1], true);
      for (let t = 0; t < v.fullKvNumBlocks[row]; t++) kbs.push(v.fullKvIndices[row * v.maxFullK + t]), fill(kbs[kbs.length - 1], false);
      expect(new Set(kbs).size).toBe(kbs.length);
    }
    return out;
  });
}

function bruteDense(m: Mask): Uint8Array {
  // Straight from SPEC section 2, as in slices.test.ts.
  return decode(m.seqlenQ, m.seqlenK, (i, j) =>
    m.slices.some((s) => {
      if (i < s.qStart || i >= s.qEnd || j < s.kStart || j >= s.kEnd) return false;
      const li = i - s.qStart;
      const lj = j - s.kStart;
      const causal = lj <= li + (s.kEnd - s.kStart) - (s.qEnd - s.qStart);
      return s.kind === 'full' || (s.kind === 'causal' ? causal : s.kind === 'invcausal' ? lj >= li : causal && lj >= li);
    }),
  );
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, t) => x === b[t]);

// ---------------------------------------------------------------------------------------------
// Brute-force expressibility on small sizes.

function windowExists(dense: Uint8Array, sq: number, sk: number): boolean {
  for (let left = -1; left <= sq + sk; left++)
    for (let right = -1; right <= sq + sk; right++) if (equal(decodeWindow({ left, right }, sq, sk), dense)) return true;
  return false;
}

/** Every split of [0, S) into square documents with no pair across them, with every window. */
function varlenExists(dense: Uint8Array, s: number): boolean {
  for (let bits = 0; bits < 1 << (s - 1); bits++) {
    const cuts = [0];
    for (let c = 1; c < s; c++) if (bits & (1 << (c - 1))) cuts.push(c);
    cuts.push(s);
    const doc = new Int32Array(s);
    for (let t = 0; t + 1 < cuts.length; t++) doc.fill(t, cuts[t], cuts[t + 1]);
    let across = false;
    for (let i = 0; i < s && !across; i++) for (let j = 0; j < s; j++) if (dense[i * s + j] && doc[i] !== doc[j]) across = true;
    if (across) continue;
    const cu = Int32Array.from(cuts);
    for (let left = -1; left <= s; left++)
      for (let right = -1; right <= s; right++) {
        const v = { cuSeqlensQ: cu, cuSeqlensK: cu, maxSeqlenQ: s, maxSeqlenK: s, minSeqlenQ: 1, minSeqlenK: 1, causal: false, window: { left, right } };
        if (equal(decodeVarlen(v, s, s), dense)) return true;
      }
  }
  return false;
}

/**
 * Segment ids that could decode to the mask: in a segment mask (full or causal) the connected
 * components of the graph of unmasked pairs are exactly the segments, so they are the only ids.
 */
function segmentsExists(dense: Uint8Array, s: number): boolean {
  const parent = Int32Array.from({ length: s }, (_, t) => t);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) if (dense[i * s + j]) parent[find(i)] = find(j);
  const segmentIds = Int32Array.from({ length: s }, (_, t) => find(t));
  return [false, true].some((causal) => equal(decodeSegments({ segmentIds, causal }), dense));
}

/** FlashMask holds two masked row runs per column (non-causal covers everything causal does). */
function flashmaskExists(dense: Uint8Array, sq: number, sk: number): boolean {
  for (let j = 0; j < sk; j++) {
    let runs = 0;
    for (let i = 0; i < sq; i++) if (!dense[i * sk + j] && (i === 0 || dense[(i - 1) * sk + j])) runs++;
    if (runs > 2) return false;
  }
  return true;
}

const RUNS = { numRuns: 300 };

// ---------------------------------------------------------------------------------------------

describe('adapters round-trip through independent decoders', () => {
  it('slices: always supported, decodes to the mask', () => {
    fc.assert(
      fc.property(arbMask(40), (m) => {
        const r = toSlices(m);
        expect(r.kind).toBe('ok');
        if (r.kind === 'ok') expect(equal(decodeSlices(r.value), bruteDense(m))).toBe(true);
      }),
      RUNS,
    );
  });

  it('window: ok exactly when some (left, right) decodes to the mask', () => {
    fc.assert(
      fc.property(arbMask(16), (m) => {
        const dense = toDense(m);
        const r = toWindow(m);
        if (r.kind === 'ok') expect(equal(decodeWindow(r.value, m.seqlenQ, m.seqlenK), dense)).toBe(true);
        expect(r.kind === 'ok').toBe(windowExists(dense, m.seqlenQ, m.seqlenK));
      }),
      RUNS,
    );
  });

  it('window: the canonical values of the families', () => {
    const S = 50;
    const w = (lo: number, hi: number) => toWindow({ seqlenQ: S, seqlenK: S, slices: bandMask(S, S, lo, hi) });
    expect(w(-Infinity, Infinity)).toEqual({ kind: 'ok', value: { left: -1, right: -1 } });
    expect(w(-Infinity, 0)).toEqual({ kind: 'ok', value: { left: -1, right: 0 } });
    expect(w(-7, 7)).toEqual({ kind: 'ok', value: { left: 7, right: 7 } });
    expect(w(-7, 0)).toEqual({ kind: 'ok', value: { left: 7, right: 0 } });
    expect(w(-S, 0)).toEqual({ kind: 'ok', value: { left: -1, right: 0 } }); // a window as long as S is causal
    expect(w(1, 3).kind).toBe('unsupported'); // misses the diagonal
  });

  it('varlen: ok exactly when some square documents with one window decode to the mask', () => {
    fc.assert(
      fc.property(arbMask(9), (m) => {
        const dense = toDense(m);
        const r = toVarlen(m);
        if (r.kind === 'ok') {
          expect(equal(decodeVarlen(r.value, m.seqlenQ, m.seqlenK), dense)).toBe(true);
          expect(r.value.cuSeqlensK).toEqual(r.value.cuSeqlensQ);
        }
        expect(r.kind === 'ok').toBe(m.seqlenQ === m.seqlenK && varlenExists(dense, m.seqlenQ));
      }),
      RUNS,
    );
  });

  it('varlen: larger masks decode to the mask when supported; documents are found', () => {
    fc.assert(
      fc.property(arbMask(60), (m) => {
        const r = toVarlen(m);
        if (r.kind === 'ok') expect(equal(decodeVarlen(r.value, m.seqlenQ, m.seqlenK), toDense(m))).toBe(true);
      }),
      RUNS,
    );
    const lens = [5, 1, 9, 3];
    for (const [left, right, causal] of [[-1, -1, false], [-1, 0, true], [2, 0, true], [1, 2, false]] as const) {
      const r = toVarlen(docsMask(lens, left, right));
      expect(r.kind).toBe('ok');
      if (r.kind !== 'ok') continue;
      expect([...r.value.cuSeqlensQ]).toEqual([0, 5, 6, 15, 18]);
      expect(r.value.causal).toBe(causal);
      expect(r.value.maxSeqlenQ).toBe(9);
      expect(r.value.minSeqlenQ).toBe(1);
      expect(r.value.minSeqlenK).toBe(1);
      expect(r.value.window).toEqual(left === -1 ? undefined : { left, right });
    }
  });

  it('segments: ok exactly when some segment ids decode to the mask', () => {
    fc.assert(
      fc.property(arbMask(24), (m) => {
        const dense = toDense(m);
        const r = toSegments(m);
        if (r.kind === 'ok') {
          expect(r.value.segmentIds.length).toBe(m.seqlenQ);
          expect(equal(decodeSegments(r.value), dense)).toBe(true);
        }
        expect(r.kind === 'ok').toBe(m.seqlenQ === m.seqlenK && segmentsExists(dense, m.seqlenQ));
      }),
      RUNS,
    );
  });

  it('flashmask: ok exactly when every column has at most two masked row runs', () => {
    fc.assert(
      fc.property(arbMask(30), (m) => {
        const dense = toDense(m);
        const r = toFlashmask(m);
        if (r.kind === 'ok') {
          expect(equal(decodeFlashmask(r.value), dense)).toBe(true);
          // The sweep agrees with colRanges on every column.
          for (let j = 0; j < m.seqlenK; j++) {
            const col = new Uint8Array(m.seqlenQ);
            for (const x of colRanges(m, j)) col.fill(1, x.start, x.end);
            expect(col).toEqual(Uint8Array.from({ length: m.seqlenQ }, (_, i) => dense[i * m.seqlenK + j]));
          }
        }
        expect(r.kind === 'ok').toBe(flashmaskExists(dense, m.seqlenQ, m.seqlenK));
      }),
      RUNS,
    );
  });

  it('flashmask: causal mode for masks below the diagonal, with FlashMask sliding-window bounds', () => {
    const S = 20;
    const w = 4; // i - 3 <= j <= i: rows [j, j + 4) of column j
    const r = toFlashmask({ seqlenQ: S, seqlenK: S, slices: bandMask(S, S, -(w - 1), 0) });
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect(r.value.causal).toBe(true);
    for (let j = 0; j < S; j++) expect([...r.value.startRowIndices.subarray(4 * j, 4 * j + 2)]).toEqual([Math.min(S, j + w), S]);
  });

  it('block_table: full, partial and empty blocks exactly, per head', () => {
    const arbHeads = arbDims(40).chain(({ sq, sk }) => fc.array(arbGridOf(sq, sk), { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(arbHeads, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (heads, bq, bk) => {
        const r = toBlockTable(heads, { blockQ: bq, blockK: bk });
        expect(r.kind).toBe('ok');
        if (r.kind !== 'ok') return;
        expect(r.value.heads).toBe(heads.length);
        decodeBlockTable(r.value, heads).forEach((d, h) => expect(equal(d, toDense(heads[h]))).toBe(true));
      }),
      RUNS,
    );
    const tiny = toBlockTable({ seqlenQ: 64, seqlenK: 64, slices: bandMask(64, 64, -Infinity, 0) }, { blockQ: 8, blockTableMaxEntries: 10 });
    expect(tiny.kind).toBe('unsupported');
  });

  it('dense: the matrix below the limit, unsupported above it', () => {
    fc.assert(
      fc.property(arbMask(30), (m) => {
        const r = toDenseFormat(m);
        expect(r.kind === 'ok' && equal(r.value.data, bruteDense(m))).toBe(true);
      }),
      { numRuns: 50 },
    );
    const m: Mask = { seqlenQ: 100, seqlenK: 100, slices: bandMask(100, 100, -Infinity, 0) };
    expect(toDenseFormat(m, { denseMaxCells: 9999 }).kind).toBe('unsupported');
    expect(toDenseFormat(m, { denseMaxCells: 10000 }).kind).toBe('ok');
    expect(toDenseFormat({ ...m, seqlenQ: 1 << 20, seqlenK: 1 << 20 }).kind).toBe('unsupported');
  });
});

describe('adapt, formatSupport, supportedFormats', () => {
  const causal: Mask = { seqlenQ: 32, seqlenK: 32, slices: bandMask(32, 32, -Infinity, 0) };
  const window: Mask = { seqlenQ: 32, seqlenK: 32, slices: bandMask(32, 32, -3, 3) };

  it('dispatches to the format adapters and agrees with them', () => {
    fc.assert(
      fc.property(arbMask(24), (m) => {
        const support = formatSupport(m);
        expect(support.map((s) => s.format)).toEqual(MASK_FORMATS);
        for (const s of support) expect(adapt(m, s.format).kind).toBe(s.kind);
        expect(supportedFormats(m)).toEqual(support.filter((s) => s.kind === 'ok').map((s) => s.format));
      }),
      { numRuns: 100 },
    );
    expect(supportedFormats(causal)).toEqual(['slices', 'window', 'varlen', 'flashmask', 'block_table', 'segments', 'dense', 'ranges']);
    expect(supportedFormats(window)).toEqual(['slices', 'window', 'varlen', 'flashmask', 'block_table', 'dense', 'ranges']);
    const seg = formatSupport(window).find((s) => s.format === 'segments');
    expect(seg?.kind === 'unsupported' && seg.reason.length > 0).toBe(true);
  });

  it('per-head masks: one table per head for block_table, the shared mask elsewhere', () => {
    const copy: Mask = { ...causal, slices: [...bandMask(32, 32, -Infinity, -1), ...bandMask(32, 32, 0, 0)] };
    expect(sameMask(causal, copy)).toBe(true);
    expect(adapt([causal, copy], 'window')).toEqual({ kind: 'ok', value: { left: -1, right: 0 } });
    const mixed = adapt([causal, window], 'window');
    expect(mixed.kind).toBe('unsupported');
    const bt = adapt([causal, window], 'block_table', { blockQ: 8 });
    expect(bt.kind === 'ok' && bt.value.heads).toBe(2);
    expect(supportedFormats([causal, window])).toEqual(['block_table', 'ranges']);
  });
});

describe('adapters at scale', () => {
  const S = 1 << 20;
  const causal: Mask = { seqlenQ: S, seqlenK: S, slices: [{ qStart: 0, qEnd: S, kStart: 0, kEnd: S, kind: 'causal' }] };

  // Correctness at scale only; their speed is measured by `npm run bench` (timed tests flake).
  it('block_table for causal at S = 1M, B = 128', () => {
    const r = toBlockTable(causal, { blockQ: 128 });
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect([r.value.numBlocksQ, r.value.maxK, r.value.maxFullK]).toEqual([8192, 1, 8191]);
    expect(r.value.fullKvNumBlocks[8191]).toBe(8191);
    expect(r.value.fullKvIndices[8191 * 8191 + 8190]).toBe(8190);
  });

  it('documents at S = 1M: the formats that can express them', () => {
    const lens = Array.from({ length: 800 }, (_, t) => 500 + ((t * 7919) % 1097));
    lens.push(S - lens.reduce((a, b) => a + b, 0));
    const docs = docsMask(lens, -1, 0);
    expect(supportedFormats(docs)).toEqual(['slices', 'varlen', 'flashmask', 'block_table', 'segments', 'ranges']);
  });
});
