import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import type { KernelObservation } from './calibrate.js';
import { inSample, kernelGroupReport, leaveGroupOut, seqlenRange, summarizeGroup, worstLines } from './holdout.js';
import { curveMs, kernelCall, tileProfile, type KernelCurve } from './kernel-model.js';

// Test data only: observations of a made-up kernel that follows the wave model exactly.
const truth: KernelCurve = {
  gpu: 'h200', kernel: 'k', direction: 'fwd', dtype: 'bfloat16', slots: 264, c0Ms: 0.02, msPerProgram: 2e-5,
  msPerTflopFull: 1.6, msPerTflopPartial: 2.4, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0,
  holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
};

function mask(family: string, s: number): Mask {
  if (family === 'full') return { seqlenQ: s, seqlenK: s, slices: [{ qStart: 0, qEnd: s, kStart: 0, kEnd: s, kind: 'full' }] };
  const len = family === 'causal' ? s : 3000;
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind: 'causal' });
  return { seqlenQ: s, seqlenK: s, slices };
}

function observations(kernel = 'k', seqlens = [1024, 4096, 16384, 32768, 65536]): KernelObservation[] {
  const out: KernelObservation[] = [];
  for (const [hq, hkv] of [[64, 8], [16, 2], [4, 4], [4, 1]])
    for (const family of ['full', 'causal', 'causal_document'])
      for (const seqlen of seqlens) {
        const call = kernelCall(tileProfile([{ mask: mask(family, seqlen), weight: 1 }]), hq, 128, 'fwd', 'bfloat16', 1, hkv);
        out.push({ id: `${kernel}/${family}/${seqlen}/${hq}:${hkv}`, gpu: 'h200', kernel, family, seqlen, headsQ: hq, headsKv: hkv, world: 1, call, ms: curveMs(truth, call), heldOut: false });
      }
  return out;
}

describe('leave-one-group-out validation', () => {
  // Three families: with one family held out the other two still separate full from partial blocks
  // (one family alone cannot: documents of one length fix their ratio).
  it('predicts whole held-out heads, S ranges and families of a kernel that follows the model, and marks extrapolation', () => {
    const preds = leaveGroupOut(observations(), ['heads', 'seqlen', 'family']);
    expect(preds.length).toBe(3 * 60);
    const s = summarizeGroup(preds);
    expect(s.unfitted).toBe(0);
    expect(s.maxAbsPct!).toBeLessThan(0.5);
    // 64k is outside the S range fitted without the '40k-64k' group; 4k lies inside [1k, 64k]
    const far = preds.find((p) => p.axis === 'seqlen' && p.obs.seqlen === 65536)!;
    expect(far.extrapolation).toBe(true);
    expect(preds.find((p) => p.axis === 'seqlen' && p.obs.seqlen === 4096)!.extrapolation).toBe(false);
    expect(preds.filter((p) => p.axis === 'heads').every((p) => p.extrapolation)).toBe(true);
  });

  it('says so when a held-out group leaves a kernel too few rows to fit, instead of guessing', () => {
    const few = observations('rare', [1024, 2048]);
    const preds = leaveGroupOut(few, ['seqlen']);
    expect(preds.every((p) => p.predictedMs === null && p.errorPct === null)).toBe(true);
    expect(summarizeGroup(preds)).toMatchObject({ n: 0, unfitted: few.length });
  });

  it('groups S by range and prints the report groups against the targets', () => {
    expect([1024, 2048, 4096, 32768, 49152, 262144, 1048576].map(seqlenRange)).toEqual(['<=2k', '<=2k', '4k-8k', '12k-32k', '40k-64k', '128k-256k', '>256k']);
    const lines = kernelGroupReport(observations(), 'h200');
    expect(lines.join('\n')).toMatch(/leave one heads out \(4 group\(s\)/);
    expect(lines.join('\n')).toMatch(/all held-out configurations: n=180 median/);
  });

  it('reports the in-sample fit as a floor for the held-out figures and lists the worst held-out rows with their in-sample error', () => {
    const obs = observations();
    // One row the model's form cannot follow: twice as slow as the truth.
    const odd = obs.findIndex((o) => o.id === 'k/causal_document/16384/16:2');
    const bent = obs.map((o, i) => (i === odd ? { ...o, ms: 2 * o.ms, spreadPct: 3.5 } : o));
    const fit = inSample(bent);
    expect(fit.length).toBe(bent.length);
    const own = fit.find((p) => p.obs.id === bent[odd].id)!;
    expect(own.errorPct!).toBeLessThan(-25); // fitted with itself in the fit and still far off
    const others = fit.filter((p) => p.obs.id !== bent[odd].id).map((p) => Math.abs(p.errorPct!));
    expect(others.filter((e) => e > 25)).toEqual([]);
    const lgo = leaveGroupOut(bent, ['heads', 'seqlen', 'family']);
    const lines = worstLines(lgo, fit, 3);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^ +-\d+\.\d%  k causal_document 16k 16:2 fwd: .* in-sample -\d+\.\d%; spread 3\.5%$/);
    const report = kernelGroupReport(bent, 'h200').join('\n');
    expect(report).toMatch(/in-sample \(every row fitted, itself included: a floor for the figures above\): n=60 .*rows off by > 25%: 1, > 50%: [01]/);
    expect(report).toMatch(/worst 20 held-out predictions/);
  });
});
