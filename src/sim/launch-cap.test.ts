// Two constraints of the kernel fit (issue 15): kernels that compute every block (one cost for all
// blocks), and the launch constant of plain paths kept small when the training rows cannot tell it
// from the per-program and wave terms. Test data only: times from a made-up kernel.
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { chooseLaunchCap, computesEveryBlock, fitGroup, hostPath, keyTileBackward, type KernelObservation } from './calibrate.js';
import { fitCurve } from './fit.js';
import { curveMs, kernelCall, launchFeatures, tileProfile, type KernelCurve } from './kernel-model.js';

function band(s: number, len: number, kind: Slice['kind']): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind });
  return { seqlenQ: s, seqlenK: s, slices };
}
const mask = (family: string, s: number) => (family === 'causal' ? band(s, s, 'causal') : band(s, 2048, 'causal'));

function curve(over: Partial<KernelCurve>): KernelCurve {
  return {
    gpu: 'h100+h200', kernel: 'flex', direction: 'bwd', dtype: 'bfloat16', slots: 396, c0Ms: 0.01, msPerProgram: 2e-4, msPerTflopFull: 2.5,
    msPerTflopPartial: 4, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null,
    seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] }, keyTileBound: keyTileBackward(over.kernel ?? 'flex', over.direction ?? 'bwd'), ...over,
  };
}

function observations(truth: KernelCurve, seqlens: number[], families = ['causal', 'causal_document'], wiggle = 0.03): KernelObservation[] {
  return families.flatMap((family) =>
    seqlens.map((s, i) => {
      const call = kernelCall(tileProfile([{ mask: mask(family, s), weight: 1 }]), 64, 128, truth.direction, 'bfloat16', 1, 8);
      const ms = curveMs(truth, call) * (1 + wiggle * Math.sin(1.7 * i + family.length));
      return { id: `${family}:${s}`, gpu: 'h200', kernel: truth.kernel, family, seqlen: s, headsQ: 64, headsKv: 8, world: 1, call, ms, heldOut: false };
    }),
  );
}

const err = (c: KernelCurve, o: KernelObservation) => Math.abs(curveMs(c, o.call) / o.ms - 1);
const asCurve = (f: ReturnType<typeof fitGroup>): KernelCurve => ({ ...f.curve, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null });

describe('launch constant of plain paths', () => {
  it('fitCurve takes a fixed offset in place of the constant', () => {
    const truth = [0.05, 1e-4, 1.5];
    const xs = [1, 2, 3, 5, 8, 13].map((k) => [1, 500 * k, 0.01 * k * k]);
    const fit = fitCurve(xs.map((x) => ({ x, ms: x.reduce((a, v, i) => a + v * truth[i], 0) })), { noConstant: true, offset: 0.05 });
    expect(fit.used[0]).toBe(false);
    expect(fit.beta[1]).toBeCloseTo(1e-4, 8);
    expect(fit.beta[2]).toBeCloseTo(1.5, 6);
  });

  it('is capped when rows of long launches cannot tell it apart, and 1k launches are predicted from S >= 4k', () => {
    const truth = curve({});
    const all = observations(truth, [1024, 2048, 4096, 8192, 16384, 32768, 49152]);
    const train = all.filter((o) => o.seqlen >= 4096);
    const cap = chooseLaunchCap(train, 132);
    expect(cap).toBeLessThanOrEqual(0.03);
    const capped = asCurve(fitGroup(train, 132, cap));
    expect(capped.c0Ms).toBeLessThanOrEqual(0.03);
    for (const o of all.filter((x) => x.seqlen <= 2048)) expect(err(capped, o), o.id).toBeLessThan(0.25);
  });

  it('stays free where the rows show a large constant, and on host paths (nested tensors, dense masks, CP calls)', () => {
    const truth = curve({ c0Ms: 1.5 });
    const train = observations(truth, [1024, 2048, 4096, 8192, 16384, 32768]);
    expect(chooseLaunchCap(train, 132)).toBe(Infinity);
    expect(asCurve(fitGroup(train, 132, Infinity)).c0Ms).toBeGreaterThan(1);
    const host = observations(curve({ kernel: 'sdpa_flash@varlen' }), [4096, 8192, 16384, 32768]);
    expect(hostPath('sdpa_flash@varlen') && hostPath('flex@cp') && hostPath('sdpa_cudnn@dense') && !hostPath('flex')).toBe(true);
    expect(chooseLaunchCap(host, 132)).toBe(Infinity);
  });
});

describe('kernels that compute every block', () => {
  it('fit one cost for full, partial and empty blocks: documents predicted from causal rows alone', () => {
    expect(['torch_naive', 'sdpa_math', 'sdpa_math@dense', 'sdpa_cudnn@dense'].every(computesEveryBlock)).toBe(true);
    expect(['flex', 'sdpa_cudnn', 'sdpa_cudnn@varlen', 'triton_blocksparse'].some(computesEveryBlock)).toBe(false);
    // Every block costs the same (S x S scores), a little noise; only causal rows in the fit.
    const truth = curve({ kernel: 'torch_naive', msPerTflopFull: 12, msPerTflopPartial: 12, msPerTflopEmpty: 12, c0Ms: 0 });
    const causal = observations(truth, [1024, 2048, 4096, 8192], ['causal']);
    const docs = observations(truth, [1024, 2048, 4096, 8192], ['causal_document'], 0);
    const fit = asCurve(fitGroup(causal, 132));
    for (const o of docs) expect(err(fit, o), o.id).toBeLessThan(0.08);
    expect(fit.assumed).toContain('dense: every block costs the same');
    expect(fit.msPerTflopEmpty).toBe(fit.msPerTflopFull);
    // The wave features of a dense kernel's rows sum their block columns into one.
    const f = launchFeatures(causal[0].call, 132).wave;
    expect(f[2] + f[3] + f[4]).toBeGreaterThan(0);
  });
});
