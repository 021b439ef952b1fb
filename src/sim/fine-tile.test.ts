// Tiles under BLOCK_SIZE are another compiled kernel (kernel-model.ts fineTiled): a block-mask
// kernel's rows on 64-token tiles get their own per-program and per-block costs (fitGroup's
// fine-tile columns), while the 128-tile rows keep theirs. Test data only: times from made-up
// coefficients shaped like triton_blocksparse's backward (64-tiles ~2.5x faster per block).
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { fitGroup, pctError, type KernelObservation } from './calibrate.js';
import { curveCoefficients, curveMs, fineTiled, kernelCall, launchFeatures, tileColumns, tileProfile, type KernelCurve } from './kernel-model.js';

/** Causal documents of `len` tokens (partial blocks on the diagonal: 128-tile rows). */
function documents(s: number, len: number): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind: 'causal' });
  return { seqlenQ: s, seqlenK: s, slices };
}

/** Whole 64 x 64 blocks kept with fraction `keep` (deterministic pattern): a block_sparse mask of 64-token blocks. */
function blocks64(s: number, keep: number): Mask {
  const slices: Slice[] = [];
  const n = s / 64;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if ((((i * 7919 + j * 104729) % 1000) + 0.5) / 1000 < keep) slices.push({ qStart: i * 64, qEnd: i * 64 + 64, kStart: j * 64, kEnd: j * 64 + 64, kind: 'full' });
  return { seqlenQ: s, seqlenK: s, slices };
}

const truth: KernelCurve = {
  gpu: 'h100+h200', kernel: 'triton_blocksparse', direction: 'bwd', dtype: 'bfloat16', slots: 132, c0Ms: 0.05, msPerProgram: 2e-4,
  msPerTflopFull: 7.4, msPerTflopPartial: 8, msPerTflopEmpty: 0, fineTile: { msPerProgram: 6e-5, msPerTflop: 2.9 },
  assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
};

function observations(kernel: string): KernelObservation[] {
  const obs: KernelObservation[] = [];
  const add = (family: string, mask: Mask, block: number, heads: number, s: number, i: number) => {
    const call = kernelCall(tileProfile([{ mask, weight: 1 }], block), heads, 128, 'bwd', 'bfloat16', 1, heads);
    const ms = curveMs(truth, call) * (1 + 0.01 * Math.sin(1.7 * i + family.length));
    obs.push({ id: `${family}:${s}:${heads}:${i}`, gpu: 'h200', kernel, family, seqlen: s, headsQ: heads, headsKv: heads, world: 1, call, ms, heldOut: false });
  };
  [2048, 4096, 8192, 16384].forEach((s, i) => [1024, s].forEach((len) => [8, 64].forEach((h) => add(len === s ? 'causal' : 'causal_document', documents(s, len), 128, h, s, i))));
  [0.1, 0.2, 0.5, 0.8].forEach((keep, i) => [4, 64].forEach((h) => add('block_sparse', blocks64(4096, keep), 64, h, 4096, i)));
  return obs;
}

describe('tiles under 128: their own costs on block-mask kernels', () => {
  it('fits the 64-tile rows with their own costs and keeps the 128-tile ones', () => {
    const obs = observations('triton_blocksparse');
    expect(obs.filter((o) => fineTiled(o.call)).length).toBe(8);
    const c = { ...fitGroup(obs, 132).curve, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null };
    expect(c.fineTile).toBeDefined();
    expect(c.fineTile!.msPerTflop / truth.fineTile!.msPerTflop).toBeGreaterThan(0.9);
    expect(c.fineTile!.msPerTflop / truth.fineTile!.msPerTflop).toBeLessThan(1.1);
    expect(c.msPerTflopFull / truth.msPerTflopFull).toBeGreaterThan(0.9);
    expect(c.msPerTflopFull / truth.msPerTflopFull).toBeLessThan(1.1);
    // One cost for both tiles (the rule before) misses the 64-tile rows by ~2x; now within the rows' 1% wiggle.
    for (const o of obs) expect(Math.abs(pctError(curveMs(c, o.call), o.ms))).toBeLessThan(4);
  });

  it('is not applied to triton_ranges (its blocks are a proxy for its own tiles) or without 64-tile rows', () => {
    expect(fitGroup(observations('triton_ranges'), 132).curve.fineTile).toBeUndefined();
    expect(fitGroup(observations('triton_blocksparse').filter((o) => !fineTiled(o.call)), 132).curve.fineTile).toBeUndefined();
  });

  it("a curve without fine-tile costs prices a 64-tile launch with its own; the fit's columns are the model's", () => {
    const o = observations('triton_blocksparse').find((x) => fineTiled(x.call))!;
    const { fineTile: _, ...coarse } = truth;
    expect(curveCoefficients(coarse, o.call)).toEqual(curveCoefficients(coarse));
    const f = launchFeatures(o.call, truth.slots, 132).wave;
    const a7 = [...curveCoefficients(truth), truth.fineTile!.msPerProgram, truth.fineTile!.msPerTflop];
    const dot = (a: readonly number[], x: readonly number[]) => a.reduce((s, v, i) => s + v * x[i], 0);
    expect(dot(a7, tileColumns(f, true))).toBeCloseTo(dot(curveCoefficients(truth, o.call), f), 12);
    expect(dot(a7, tileColumns(f, false))).toBeCloseTo(dot(curveCoefficients(truth), f), 12);
  });
});
