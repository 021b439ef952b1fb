// flex's backward bound by its key-tile (dK/dV) programs (issue 15): the transposed mask's query
// tiles are the key tiles, the bound follows the heaviest one, and a fit on rows without such a
// tile predicts a mask with one. Test data only: times from the model with made-up coefficients.
import { describe, expect, it } from 'vitest';
import { blockMap } from '../mask/slices.js';
import type { Mask, Slice } from '../mask/types.js';
import { fitGroup, keyTileBackward, type KernelObservation } from './calibrate.js';
import { curveMs, kernelCall, keyTileFeatures, launchFeatures, tileProfile, type KernelCurve } from './kernel-model.js';
import { keyTilesOf, transposeMask } from './tiles.js';

/** A question [0, q) every later row sees, answers causal within themselves (share_question's form). */
function question(s: number, q: number, answer: number): Mask {
  const slices: Slice[] = [{ qStart: 0, qEnd: q, kStart: 0, kEnd: q, kind: 'causal' }];
  for (let a = q; a < s; a += answer) {
    const b = Math.min(s, a + answer);
    slices.push({ qStart: a, qEnd: b, kStart: 0, kEnd: q, kind: 'full' }, { qStart: a, qEnd: b, kStart: a, kEnd: b, kind: 'causal' });
  }
  return { seqlenQ: s, seqlenK: s, slices };
}

/** Documents causal within themselves (causal_document's form). */
function documents(s: number, len: number): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind: 'causal' });
  return { seqlenQ: s, seqlenK: s, slices };
}

/** Pairs per key tile (full, partial) by brute force over the block map. */
function columns(m: Mask, block = 128): { full: number[]; partial: number[] } {
  const bm = blockMap(m, block);
  const full = new Array<number>(bm.numBlocksK).fill(0);
  const partial = new Array<number>(bm.numBlocksK).fill(0);
  for (let qb = 0; qb < bm.numBlocksQ; qb++) {
    const rows = Math.min(block, m.seqlenQ - qb * block);
    for (let r = bm.rowRuns[qb]; r < bm.rowRuns[qb + 1]; r++)
      for (let kb = bm.runStart[r]; kb < bm.runEnd[r]; kb++) (bm.runFull[r] ? full : partial)[kb] += rows * Math.min(block, m.seqlenK - kb * block);
  }
  return { full, partial };
}

const curve = (over: Partial<KernelCurve>): KernelCurve => ({
  gpu: 'h100+h200', kernel: 'flex', direction: 'bwd', dtype: 'bfloat16', slots: 132, c0Ms: 0.01, msPerProgram: 1e-4, msPerTflopFull: 2.4,
  msPerTflopPartial: 7, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null,
  seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] }, keyTileBound: true, ...over,
});

const call = (m: Mask, headsQ = 64, headsKv = 8) => kernelCall(tileProfile([{ mask: m, weight: 1 }]), headsQ, 128, 'bwd', 'bfloat16', 1, headsKv);

describe("flex backward's key-tile programs", () => {
  it('takes the key tiles from the transposed mask: the heaviest and the most partial, as a brute-force count finds them', () => {
    for (const m of [question(8192, 415, 700), documents(8192, 1000), question(3000, 200, 333)]) {
      const t = transposeMask(m);
      expect(transposeMask(t).slices.length).toBeGreaterThan(0);
      const pairs = (x: Mask) => columns(x).full.reduce((a, b) => a + b, 0) + columns(x).partial.reduce((a, b) => a + b, 0);
      expect(pairs(t)).toBe(pairs(m));
      const c = columns(m);
      const kt = keyTilesOf([m]);
      const tot = c.full.map((f, i) => f + c.partial[i]);
      expect(kt.heaviest.full + kt.heaviest.partial).toBe(Math.max(...tot));
      expect(kt.mostPartial.partial).toBe(Math.max(...c.partial));
    }
    // The question's last key tile (keys 384-414 of the question, then answer 1): partial for every answer row.
    const kt = keyTilesOf([question(8192, 415, 700)]);
    expect(kt.mostPartial.partial).toBeGreaterThan(60 * 128 * 31);
  });

  it('binds a mask whose one key tile every query reads, not its transpose with the same blocks', () => {
    const q = question(16384, 415, 1000);
    const qt = transposeMask(q); // causal_blockwise's form: the last rows read every key
    const a = call(q);
    const b = call(qt);
    expect(a.wFull).toBeCloseTo(b.wFull, 0);
    expect(a.wPartial).toBeCloseTo(b.wPartial, 0);
    const c = curve({});
    expect(curveMs(c, a) / curveMs(c, b)).toBeGreaterThan(1.5);
    // Without the bound (or its K/V-head start) the two take the same time.
    expect(curveMs({ ...c, keyTileBound: false }, a) / curveMs({ ...c, keyTileBound: false }, b)).toBeCloseTo(1, 1);
    // The documented form: after 7/8 of the waves (8 K/V heads), the group of 8 query heads over the
    // heaviest key tile at 4/7 of each block, plus the partial surcharge.
    const f = launchFeatures(a, 132);
    const [heavy] = keyTileFeatures(a, 132, f.wave);
    const kt = keyTilesOf([q]).heaviest;
    const pp = a.flopsPerPair / 1e12;
    expect(heavy[2]).toBeCloseTo((7 / 8) * f.wave[2] + 132 * 8 * pp * ((4 / 7) * (kt.full + kt.partial) - kt.partial), 12);
    expect(heavy[3]).toBeCloseTo((7 / 8) * f.wave[3] + 132 * 8 * pp * kt.partial, 12);
  });

  it('is fitted for flex backward only, and a fit on documents predicts the question mask it never saw', () => {
    expect(keyTileBackward('flex', 'bwd') && keyTileBackward('flex@cp', 'bwd')).toBe(true);
    expect(keyTileBackward('flex', 'fwd') || keyTileBackward('sdpa_flash', 'bwd') || keyTileBackward('triton_blocksparse', 'bwd')).toBe(false);
    const truth = curve({});
    const obs = (family: string, m: Mask, i: number): KernelObservation => {
      const c = call(m);
      return { id: `${family}:${m.seqlenQ}`, gpu: 'h200', kernel: 'flex', family, seqlen: m.seqlenQ, headsQ: 64, headsKv: 8, world: 1, call: c, ms: curveMs(truth, c) * (1 + 0.01 * Math.sin(i)), heldOut: false };
    };
    const sizes = [2048, 4096, 8192, 16384, 32768];
    const train = [
      ...sizes.map((s, i) => obs('causal', documents(s, s), i)),
      ...sizes.map((s, i) => obs('causal_document', documents(s, 900), i + 7)),
      ...sizes.map((s, i) => obs('causal_blockwise', transposeMask(question(s, 415, 1000)), i + 3)),
    ];
    const fit = fitGroup(train, 132).curve;
    expect(fit.keyTileBound).toBe(true);
    const full = { ...fit, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null };
    for (const s of [8192, 32768]) {
      const o = obs('share_question', question(s, 415, 1000), 0);
      expect(Math.abs(curveMs(full, o.call) / o.ms - 1), o.id).toBeLessThan(0.05);
      // The same curve without the bound misses it by far.
      expect(curveMs({ ...full, keyTileBound: false }, o.call) / o.ms).toBeLessThan(0.8);
    }
  });
});
