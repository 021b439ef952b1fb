// triton_ranges' work lists against the dense mask: decoded here from the documented semantics
// (a full run covers its tiles' every cell; a partial tile covers the cells inside one of its
// bands), both lists must cover exactly the mask, each cell once, on random slice sets, family
// masks and per-KV-head masks, at the tiles every head setting gets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rangesRefusal, rangesTuning, tritonRanges } from '../../kernels/gpu/triton_ranges.js';
import { generateMask } from '../families/index.js';
import { toDense } from '../slices.js';
import { arbGridMask, gridMask } from '../testing.js';
import type { Mask } from '../types.js';
import { adapt } from './index.js';
import { BAND_INF, PARTIAL_COST, lptShares, toRanges, type RangesValue, type TileList } from './ranges.js';

/** Cell counts [H, rows, cols] decoded from a list; rows are queries (fwd) or keys (bwd). */
function decode(v: RangesValue, l: TileList, bwd: boolean): Uint8Array {
  const nRows = bwd ? v.seqlenK : v.seqlenQ;
  const nCols = bwd ? v.seqlenQ : v.seqlenK;
  const tr = bwd ? v.tileK : v.tileQ;
  const tc = bwd ? v.tileQ : v.tileK;
  const out = new Uint8Array(v.heads * nRows * nCols);
  const inBand = (id: number, row: number, col: number): boolean => {
    const [q0, q1, k0, k1, lo, hi] = v.bands.subarray(id * 6, id * 6 + 6);
    const i = bwd ? col : row;
    const j = bwd ? row : col;
    return i >= q0 && i < q1 && j >= k0 && j < k1 && j - i >= lo && j - i <= hi;
  };
  for (let x = 0; x < v.heads * l.numRows; x++) {
    const h = Math.floor(x / l.numRows);
    const r = x % l.numRows;
    const cell = (row: number, col: number) => h * nRows * nCols + row * nCols + col;
    for (let t = l.rowRuns[x]; t < l.rowRuns[x + 1]; t++) {
      for (let c = l.runs[2 * t]; c < l.runs[2 * t + 1]; c++) {
        // a full tile lies wholly inside the grid
        expect((r + 1) * tr).toBeLessThanOrEqual(nRows);
        expect((c + 1) * tc).toBeLessThanOrEqual(nCols);
        for (let row = r * tr; row < (r + 1) * tr; row++) for (let col = c * tc; col < (c + 1) * tc; col++) out[cell(row, col)]++;
      }
    }
    for (let p = l.rowParts[x]; p < l.rowParts[x + 1]; p++) {
      const [c, s0, sn, lo, hi] = l.parts.subarray(5 * p, 5 * p + 5);
      expect(sn).toBeGreaterThan(0);
      // [lo, hi) lies in the tile and is the tightest column range of the tile's unmasked cells
      expect(lo).toBeGreaterThanOrEqual(c * tc);
      expect(hi).toBeLessThanOrEqual(Math.min(nCols, (c + 1) * tc));
      let seenLo = Infinity;
      let seenHi = -Infinity;
      const ids = l.sliceIds.subarray(s0, s0 + sn);
      for (let row = r * tr; row < Math.min(nRows, (r + 1) * tr); row++)
        for (let col = c * tc; col < Math.min(nCols, (c + 1) * tc); col++)
          if (ids.some((id) => inBand(id, row, col))) {
            out[cell(row, col)]++;
            seenLo = Math.min(seenLo, col);
            seenHi = Math.max(seenHi, col + 1);
          }
      expect([lo, hi]).toEqual([seenLo, seenHi]);
    }
  }
  return out;
}

function denseHeads(heads: readonly Mask[], transpose: boolean): Uint8Array {
  const { seqlenQ: sq, seqlenK: sk } = heads[0];
  const out = new Uint8Array(heads.length * sq * sk);
  heads.forEach((m, h) => {
    const d = toDense(m);
    for (let i = 0; i < sq; i++) for (let j = 0; j < sk; j++) out[h * sq * sk + (transpose ? j * sq + i : i * sk + j)] = d[i * sk + j];
  });
  return out;
}

function checkLists(heads: readonly Mask[], tileQ: number, tileK: number): RangesValue {
  const r = toRanges(heads, { ranges: { tileQ, tileK } });
  if (r.kind !== 'ok') throw new Error(r.reason);
  const v = r.value;
  expect(Array.from(decode(v, v.fwd, false))).toEqual(Array.from(denseHeads(heads, false)));
  expect(Array.from(decode(v, v.bwd, true))).toEqual(Array.from(denseHeads(heads, true)));
  for (const l of [v.fwd, v.bwd]) {
    // the program order is a permutation of every row, costs never increase
    expect(Array.from(l.order).sort((a, b) => a - b)).toEqual(Array.from({ length: v.heads * l.numRows }, (_, i) => i));
    const cost = (x: number) => {
      let c = 1 + PARTIAL_COST * (l.rowParts[x + 1] - l.rowParts[x]);
      for (let t = l.rowRuns[x]; t < l.rowRuns[x + 1]; t++) c += l.runs[2 * t + 1] - l.runs[2 * t];
      return c;
    };
    for (let u = 1; u < l.order.length; u++) expect(cost(l.order[u - 1])).toBeGreaterThanOrEqual(cost(l.order[u]));
    // band ids of a row belong to that row's head
    for (let x = 0; x < v.heads * l.numRows; x++) {
      const h = Math.floor(x / l.numRows);
      for (let p = l.rowParts[x]; p < l.rowParts[x + 1]; p++)
        for (let u = 0; u < l.parts[5 * p + 2]; u++) {
          const id = l.sliceIds[l.parts[5 * p + 1] + u];
          let owner = 0;
          let seen = heads[0].slices.length;
          while (id >= seen) seen += heads[++owner].slices.length;
          expect(owner).toBe(h);
        }
    }
  }
  expect(Math.max(...Array.from(v.bands).map(Math.abs))).toBeLessThanOrEqual(BAND_INF);
  return v;
}

const arbTiles = fc.record({ tileQ: fc.constantFrom(1, 2, 4, 8, 16, 3, 5), tileK: fc.constantFrom(1, 2, 4, 8, 16, 7) });

describe('ranges work lists cover exactly the mask', () => {
  it('random slice grids, random tiles (forward and transposed lists)', () => {
    fc.assert(
      fc.property(arbGridMask(40), arbTiles, (m, t) => {
        checkLists([m], t.tileQ, t.tileK);
      }),
      { numRuns: 150 },
    );
  });

  it('per-KV-head masks (block_sparse style): each head its own bands', () => {
    fc.assert(
      fc.property(fc.array(arbGridMask(24), { minLength: 2, maxLength: 4 }), arbTiles, (ms, t) => {
        const heads = ms.map((m) => ({ ...m, seqlenQ: 24, seqlenK: 24, slices: m.slices.filter((s) => s.qEnd <= 24 && s.kEnd <= 24) }));
        checkLists(heads, t.tileQ, t.tileK);
      }),
      { numRuns: 60 },
    );
  });

  it('empty rows, one-token documents, tiles cut by 3+ slices', () => {
    // rows 0-3 empty; documents of length 1; a tile of 8 crossed by several documents and kinds
    const m = gridMask(20, 20, [4, 5, 6, 7, 9, 12, 13], [4, 5, 6, 7, 9, 12, 13], [null, 'full', 'causal', 'invcausal', 'bicausal', null, 'full']);
    const v = checkLists([m], 8, 8);
    const cutBy = Array.from({ length: v.fwd.parts.length / 5 }, (_, p) => v.fwd.parts[5 * p + 2]);
    expect(Math.max(...cutBy)).toBeGreaterThanOrEqual(3);
    const docs: Mask = { seqlenQ: 10, seqlenK: 10, slices: Array.from({ length: 10 }, (_, i) => ({ qStart: i, qEnd: i + 1, kStart: i, kEnd: i + 1, kind: 'full' as const })) };
    checkLists([docs], 4, 4);
    checkLists([{ seqlenQ: 9, seqlenK: 7, slices: [] }], 4, 4);
  });

  it('tiles cut by several slices that cover them together are full runs', () => {
    // two full slices side by side over one 4 x 8 tile: no partial tile remains
    const m: Mask = { seqlenQ: 4, seqlenK: 8, slices: [{ qStart: 0, qEnd: 4, kStart: 0, kEnd: 3, kind: 'full' }, { qStart: 0, qEnd: 4, kStart: 3, kEnd: 8, kind: 'full' }] };
    const v = checkLists([m], 4, 8);
    expect(v.fwd.partialTiles).toBe(0);
    expect(v.fwd.fullTiles).toBe(1);
  });

  for (const [hq, hkv] of [[64, 8], [8, 1], [4, 4], [1, 1], [12, 4], [40, 8], [6, 1], [24, 8]])
    for (const d of [64, 128])
      it(`family masks at the tiles of heads ${hq}:${hkv}, head_dim ${d}`, () => {
        for (const [family, block] of [['causal_document', 128], ['prefix_lm_document', 128], ['sliding_window', 128], ['block_sparse', 64]] as const) {
          const g = generateMask(family, 320, { seed: 3, params: family === 'sliding_window' ? { w: 40 } : family === 'block_sparse' ? { block, s: 0.5, kvHeads: 2 } : {} });
          const t = rangesTuning({ headsQ: hq, headsKv: hkv, headDim: d, dtype: 'bfloat16' }, block);
          expect(t).not.toBeNull();
          if (!t) continue;
          expect(t.tileQ * t.tuning.pack).toBeLessThanOrEqual(128);
          expect(t.tileQ * t.tuning.pack).toBeGreaterThanOrEqual(block === 64 ? 64 : 120); // groups of 3, 5, 6: 126, 125, 126 rows (64-blocks: 96, 80, 96)
          expect(t.tuning.pack).toBe(hq / hkv);
          const heads = g.heads.length > 1 ? g.heads.slice(0, 2) : g.heads;
          checkLists(heads, t.tileQ, t.tileK);
        }
      });

  it('refuses what the kernel cannot take, with the reason (never a silent fallback)', () => {
    const m = gridMask(64, 64, [32], [32], ['causal', null, 'full', 'causal']);
    for (const [shape, reason] of [
      [{ headsQ: 8, headsKv: 2, headDim: 100 }, 'head_dim a multiple of 8 from 16 to 256, not 100'],
      [{ headsQ: 8, headsKv: 2, headDim: 264 }, 'head_dim a multiple of 8 from 16 to 256, not 264'],
      [{ headsQ: 8, headsKv: 2, headDim: 8 }, 'head_dim a multiple of 8 from 16 to 256, not 8'],
      [{ headsQ: 8, headsKv: 3, headDim: 64 }, 'heads 8:3 is not a grouping'],
      [{ headsQ: 256, headsKv: 1, headDim: 128 }, 'group 256 is larger'],
    ] as const) {
      const s = { ...shape, dtype: 'bfloat16' };
      expect(rangesTuning(s, 128)).toBeNull();
      expect(rangesRefusal(s)).toContain(reason);
      const r = adapt(m, 'ranges', tritonRanges.adaptOptions(s, 128));
      expect(r.kind).toBe('unsupported');
      if (r.kind === 'unsupported') expect(r.reason).toContain(reason);
    }
    expect(rangesRefusal({ headsQ: 40, headsKv: 8, headDim: 128, dtype: 'bfloat16' })).toBeNull();
  });

  it('through adapt(): the format takes per-head masks and carries the tuning', () => {
    const m = gridMask(16, 16, [8], [8], ['causal', null, 'full', 'causal']);
    const r = adapt([m, m], 'ranges', { ranges: { tileQ: 4, tileK: 8, tuning: { pack: 2 } } });
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') {
      expect(r.value.heads).toBe(2);
      expect(r.value.tuning.pack).toBe(2);
    }
  });

  it('a causal mask at 1M tokens stays small: one run and one partial tile per query tile', () => {
    const S = 1 << 20;
    const r = toRanges({ seqlenQ: S, seqlenK: S, slices: [{ qStart: 0, qEnd: S, kStart: 0, kEnd: S, kind: 'causal' }] }, { ranges: { tileQ: 16, tileK: 128 } });
    if (r.kind !== 'ok') throw new Error(r.reason);
    expect(r.value.fwd.runs.length / 2).toBeLessThanOrEqual(S / 16);
    expect(r.value.fwd.partialTiles).toBe(S / 16);
    // query tile r (16 tokens) has full key tiles [0, floor(16 r / 128)) and the diagonal tile
    let full = 0;
    for (let r = 0; r < S / 16; r++) full += Math.floor((16 * r) / 128);
    expect(r.value.fwd.fullTiles).toBe(full);
    expect(r.value.bwd.partialTiles).toBe(S / 16); // each key tile meets 8 diagonal query tiles
  });

  it('persistent schedule: LPT shares are a regrouping of the order, each row once, balanced to within one row', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 0, maxLength: 60 }), fc.integer({ min: 1, max: 9 }), (costs, G) => {
        const cost = Float64Array.from(costs);
        const lpt = Int32Array.from(costs.map((_, i) => i)).sort((a, b) => cost[b] - cost[a] || a - b);
        const { order, progStart, load } = lptShares(lpt, cost, G);
        expect(progStart.length).toBe(G + 1);
        expect(progStart[0]).toBe(0);
        expect(progStart[G]).toBe(costs.length);
        expect([...order].sort((a, b) => a - b)).toEqual(costs.map((_, i) => i));
        const maxCost = Math.max(0, ...costs);
        for (let p = 0; p < G; p++) {
          const share = Array.from(order.subarray(progStart[p], progStart[p + 1]));
          expect(share.reduce((t, x) => t + cost[x], 0)).toBe(load[p]);
          for (let i = 1; i < share.length; i++) expect(cost[share[i - 1]]).toBeGreaterThanOrEqual(cost[share[i]]);
        }
        // greedy list scheduling: no program ends more than one row's cost after the least loaded
        expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(maxCost);
      }),
      { numRuns: 200 },
    );
    // 3 programs, costs 5 4 3 3 3: LPT gives {5}, {4, 3}, {3, 3}
    const c = Float64Array.from([3, 5, 3, 4, 3]);
    const r = lptShares(Int32Array.from([1, 3, 0, 2, 4]), c, 3);
    expect(Array.from(r.progStart)).toEqual([0, 1, 3, 5]);
    expect(Array.from(r.order)).toEqual([1, 3, 4, 0, 2]);
  });

  it('the lists carry the persistent schedule only when tuning.programs asks for it', () => {
    const m = generateMask('causal_document', 700, { seed: 2 }).heads[0];
    const plain = toRanges(m, { ranges: { tileQ: 16, tileK: 64 } });
    const pers = toRanges(m, { ranges: { tileQ: 16, tileK: 64, tuning: { programs: 7 } } });
    if (plain.kind !== 'ok' || pers.kind !== 'ok') throw new Error('no lists');
    expect(plain.value.fwd.progStart).toBeUndefined();
    for (const dir of ['fwd', 'bwd'] as const) {
      const l = pers.value[dir];
      expect(l.progStart?.length).toBe(8);
      expect(l.progStart?.[7]).toBe(l.order.length);
      expect([...l.order].sort((a, b) => a - b)).toEqual([...plain.value[dir].order].sort((a, b) => a - b));
      // everything else is the same list
      expect(Array.from(l.runs)).toEqual(Array.from(plain.value[dir].runs));
      expect(Array.from(l.parts)).toEqual(Array.from(plain.value[dir].parts));
    }
  });

  it('tuning.lptLaunch 1 builds both lists in plain LPT order; 2 (the forward only, re-sorted by the worker) keeps the shares in both', () => {
    const m = generateMask('causal_document', 700, { seed: 2 }).heads[0];
    const at = (lptLaunch: number) => {
      const r = toRanges(m, { ranges: { tileQ: 16, tileK: 64, tuning: { programs: 7, lptLaunch } } });
      if (r.kind !== 'ok') throw new Error('no lists');
      return r.value;
    };
    const plain = toRanges(m, { ranges: { tileQ: 16, tileK: 64 } });
    if (plain.kind !== 'ok') throw new Error('no lists');
    const [none, both, fwdOnly] = [at(0), at(1), at(2)];
    expect(none.fwd.progStart).toBeDefined();
    expect(both.fwd.progStart ?? both.bwd.progStart).toBeUndefined();
    for (const dir of ['fwd', 'bwd'] as const) {
      expect(Array.from(both[dir].order)).toEqual(Array.from(plain.value[dir].order));
      expect(Array.from(fwdOnly[dir].order)).toEqual(Array.from(none[dir].order));
      expect(Array.from(fwdOnly[dir].progStart ?? [])).toEqual(Array.from(none[dir].progStart ?? [0]));
    }
    expect(Array.from(both.fwd.order)).not.toEqual(Array.from(none.fwd.order)); // the two orders differ on this mask
  });
});
