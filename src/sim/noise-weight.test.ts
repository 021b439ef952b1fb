// Rows weighted by their own timing spread in the kernel fit (issue 15): a row whose samples scatter
// (host time leaking into the timed region) pulls the curve less than a steady one. Test data only:
// times from a made-up kernel.
import { describe, expect, it } from 'vitest';
import type { Mask } from '../mask/types.js';
import { calibrate, MODEL_NOISE, rowWeight, type KernelObservation } from './calibrate.js';
import { fitCurve } from './fit.js';
import { curveMs, kernelCall, tileProfile, type KernelCurve } from './kernel-model.js';

const causal = (s: number): Mask => ({ seqlenQ: s, seqlenK: s, slices: [{ qStart: 0, qEnd: s, kStart: 0, kEnd: s, kind: 'causal' }] });

const truth: KernelCurve = {
  gpu: 'h100+h200', kernel: 'flex', direction: 'fwd', dtype: 'bfloat16', slots: 396, c0Ms: 0.01, msPerProgram: 2e-5, msPerTflopFull: 2.3,
  msPerTflopPartial: 3.8, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null,
  seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
};

/** Rows of the made-up kernel at 1k-48k; the 2k row is inflated by `host` x (host time) with the given spread. */
function rows(host: number, spread: number): KernelObservation[] {
  return [1024, 2048, 4096, 8192, 16384, 24576, 32768, 49152].map((s, i) => {
    const call = kernelCall(tileProfile([{ mask: causal(s), weight: 1 }]), 64, 128, 'fwd', 'bfloat16', 1, 8);
    const clean = curveMs(truth, call) * (1 + 0.01 * Math.sin(1.3 * i));
    const noisy = s === 2048;
    return {
      id: `causal:${s}`, gpu: 'h200', kernel: 'flex', family: 'causal', seqlen: s, headsQ: 64, headsKv: 8, world: 1, call,
      ms: noisy ? clean * host : clean, heldOut: false, spreadPct: noisy ? spread : 0.3,
    };
  });
}

describe('noise weights', () => {
  it('weigh a row by its own spread: 1 without spread, 1/2 at sigma = MODEL_NOISE, less the more it scatters', () => {
    expect(rowWeight({})).toBe(1);
    expect(rowWeight({ spreadPct: 0 })).toBe(1);
    expect(rowWeight({ spreadPct: 1.683 * MODEL_NOISE * 100 })).toBeCloseTo(0.5, 6);
    expect(rowWeight({ spreadPct: 0.2 })).toBeGreaterThan(0.99);
    expect(rowWeight({ spreadPct: 36 })).toBeLessThan(0.06);
    expect(rowWeight({ spreadPct: 17 })).toBeLessThan(rowWeight({ spreadPct: 8 }));
  });

  it('fitCurve: a sample of weight ~0 does not move the fit, one of weight 1 does', () => {
    const xs = [1, 2, 3, 5, 8, 13].map((k) => [1, k]);
    const samples = (w: number) => xs.map((x, i) => ({ x, ms: (0.1 + 2 * x[1]) * (i === 2 ? 3 : 1), weight: i === 2 ? w : 1 }));
    const ignored = fitCurve(samples(1e-9));
    expect(ignored.beta[1]).toBeCloseTo(2, 3);
    expect(ignored.beta[0]).toBeCloseTo(0.1, 3);
    expect(Math.abs(fitCurve(samples(1)).beta[1] - 2)).toBeGreaterThan(0.05);
  });

  it('calibrate: an inflated row with a wide spread barely moves the curve; the same row timed steadily does', () => {
    const clean = rows(1, 0.3).filter((o) => o.seqlen !== 2048);
    const at1k = clean.find((o) => o.seqlen === 1024)!;
    const pred1k = (obs: KernelObservation[]) => curveMs(calibrate(obs, {}, () => true).curves[0], at1k.call) / at1k.ms - 1;
    const scattered = pred1k(rows(1.8, 40)); // spread 40%: weight ~0.04
    const steady = pred1k(rows(1.8, 0.3)); // same time, timed steadily: weight ~1
    expect(Math.abs(scattered)).toBeLessThan(0.03); // 0.4% here
    expect(Math.abs(steady)).toBeGreaterThan(0.06); // 10.8% here
  });
});
