// The fit's order constraint aPartial >= aFull (a partial block is a full block plus the mask's
// evaluation): fitCurve's `ordered` option and where fitGroup applies it (partialAtLeastFull).
// Test data only: times from made-up coefficients.
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { fitGroup, partialAtLeastFull, type KernelObservation } from './calibrate.js';
import { fitCurve, type FitSample } from './fit.js';
import { curveMs, kernelCall, tileProfile, type KernelCurve } from './kernel-model.js';

// Columns [1, programs, W_full, W_partial]: full and partial work vary independently over the rows.
const XS = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [0.5, 2].map((r) => [1, 400 * k, 0.02 * k * k, 0.01 * k * r]));
const rows = (truth: readonly number[], wiggle = 0): FitSample[] =>
  XS.map((x, i) => ({ x, ms: x.reduce((a, v, c) => a + v * truth[c], 0) * (1 + wiggle * Math.sin(2.3 * i)) }));

describe('fitCurve with partial >= full', () => {
  it('recovers a partial cost above the full one', () => {
    const fit = fitCurve(rows([0.01, 1e-4, 2, 5]), { ordered: [2, 3] });
    expect(fit.beta[2]).toBeCloseTo(2, 4);
    expect(fit.beta[3]).toBeCloseTo(5, 4);
  });

  it('holds partial == full where the free fit puts it below, at the best single block cost', () => {
    const data = rows([0.01, 1e-4, 3, 1], 0.01);
    const free = fitCurve(data);
    expect(free.beta[3]).toBeLessThan(0.8 * free.beta[2]);
    const tied = fitCurve(data, { ordered: [2, 3] });
    expect(tied.beta[3]).toBe(tied.beta[2]);
    expect(tied.loss).toBeGreaterThan(free.loss);
    // On the boundary it is the fit of one cost for both kinds of block (to the optimizer's tolerance).
    const one = fitCurve(data.map((s) => ({ ...s, x: [s.x[0], s.x[1], s.x[2] + s.x[3]] })));
    expect(Math.abs(tied.beta[2] / one.beta[2] - 1)).toBeLessThan(0.02);
    expect(Math.abs(tied.loss / one.loss - 1)).toBeLessThan(0.01);
  });

  it('is not applied where the rows have no partial (or no full) blocks', () => {
    const noPartial = rows([0.01, 1e-4, 3, 0]).map((s) => ({ ...s, x: [...s.x.slice(0, 3), 0] }));
    const fit = fitCurve(noPartial, { ordered: [2, 3] });
    expect(fit.used[3]).toBe(false);
    expect(Number.isNaN(fit.beta[3])).toBe(true);
    expect(fit.beta[2]).toBeCloseTo(3, 4);
  });
});

function band(s: number, len: number): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind: 'causal' });
  return { seqlenQ: s, seqlenK: s, slices };
}

function observations(truth: KernelCurve): KernelObservation[] {
  return [
    ['causal', 0],
    ['causal_document', 2048],
    ['short_documents', 320],
  ].flatMap(([family, len]) =>
    [2048, 4096, 8192, 16384, 32768].map((s, i) => {
      const mask = band(s, (len as number) || s);
      const call = kernelCall(tileProfile([{ mask, weight: 1 }]), 64, 128, truth.direction, 'bfloat16', 1, 8);
      const ms = curveMs(truth, call) * (1 + 0.01 * Math.sin(1.7 * i + (family as string).length));
      return { id: `${family}:${s}`, gpu: 'h200', kernel: truth.kernel, family: family as string, seqlen: s, headsQ: 64, headsKv: 8, world: 1, call, ms, heldOut: false };
    }),
  );
}

const truthCurve = (kernel: string, full: number, partial: number): KernelCurve => ({
  gpu: 'h100+h200', kernel, direction: 'fwd', dtype: 'bfloat16', slots: 396, c0Ms: 0.01, msPerProgram: 5e-5, msPerTflopFull: full,
  msPerTflopPartial: partial, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null,
  seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
});

describe('fitGroup and the paths the constraint applies to', () => {
  it('applies to the block-mask kernels, not to nested-tensor paths or triton_ranges', () => {
    expect(['flex', 'flex@slices', 'flex@cp', 'triton_blocksparse'].every(partialAtLeastFull)).toBe(true);
    expect(['sdpa_flash@varlen', 'sdpa_cudnn@varlen', 'triton_ranges', 'triton_ranges@cp'].some(partialAtLeastFull)).toBe(false);
  });

  it('a block-mask kernel whose rows say partial < full gets partial == full; partial > full is recovered', () => {
    const low = fitGroup(observations(truthCurve('flex', 2.5, 1)), 132).curve;
    expect(low.msPerTflopPartial).toBe(low.msPerTflopFull);
    const high = fitGroup(observations(truthCurve('flex', 2.5, 4)), 132).curve;
    expect(high.msPerTflopPartial / high.msPerTflopFull).toBeCloseTo(1.6, 1);
  });

  it('a path it does not apply to keeps partial < full', () => {
    const free = fitGroup(observations(truthCurve('triton_ranges', 2.5, 1)), 132).curve;
    expect(free.msPerTflopPartial).toBeLessThan(0.8 * free.msPerTflopFull);
  });
});
