// The heads hold-out of `sim validate` (issue 15): as soon as rows of other query:KV heads exist
// (the `calibrate` kernel preset measures 64:8, 16:2, 4:4 and 4:1), whole heads configurations
// are held out and refitted without. Synthetic rows only: the preset's cases with times from a
// made-up kernel that follows the kernel model, never committed as results.
import { describe, expect, it } from 'vitest';
import { expandSweep } from '../bench/sweep.js';
import { KERNEL_PRESETS } from '../config/presets.js';
import type { GeneratedMask, Mask, Slice } from '../mask/types.js';
import type { ResultRow } from '../results/schema.js';
import { generatedProfile, observe, type MaskGenerator } from './calibrate.js';
import { kernelGroupReport, leaveGroupOut } from './holdout.js';
import { curveMs, kernelCall, type KernelCurve } from './kernel-model.js';

// c0 on the grid of launch-constant caps (calibrate.ts LAUNCH_CAPS), so the fit can represent it: at
// 0.015 ms it is capped at 0.01 and the one-wave 4:4 backward rows, bound by flex's key-tile
// programs (keyTileBackward), then miss by 1.5%.
const truth: KernelCurve = {
  gpu: 'h100+h200', kernel: 'flex', direction: 'fwd', dtype: 'bfloat16', slots: 264, c0Ms: 0.01, msPerProgram: 3e-5,
  msPerTflopFull: 1.7, msPerTflopPartial: 2.6, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0,
  holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
};

function band(s: number, len: number, kind: Slice['kind']): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind });
  return { seqlenQ: s, seqlenK: s, slices };
}

/** Stand-ins for the preset's families (what matters here is that each has a mask, not its exact shape). */
const gen: MaskGenerator = (family, seqlen, seed, params): GeneratedMask => {
  const m =
    family === 'causal' ? band(seqlen, seqlen, 'causal') : family === 'causal_document' ? band(seqlen, 2048 + 1024 * (seed % 2), 'causal') : band(seqlen, 512, 'causal');
  return { family, seqlen, seed, params, heads: [m] };
};

const FAMILIES = new Set(['causal', 'causal_document', 'sliding_window_causal']);

/**
 * The flex cases of a preset up to 128k (kept small for a unit test) in the families `gen` stands
 * in for, timed by `truth`.
 */
function presetRows(preset: 'calibrate' | 'paper'): ResultRow[] {
  const cases = KERNEL_PRESETS[preset]
    .sweeps('torch')
    .flatMap(expandSweep)
    .filter((c) => c.kernel === 'flex' && c.suite === 'kernel' && c.seqlen <= 131072 && FAMILIES.has(c.family));
  return cases.map((c) => {
    const call = kernelCall(generatedProfile([gen(c.family, c.seqlen, c.seed, c.maskParams)]), c.headsQ, c.headDim, c.direction, c.dtype, 1, c.headsKv);
    const ms = curveMs({ ...truth, direction: c.direction, keyTileBound: c.direction === 'bwd' }, call); // flex's backward form (keyTileBackward)
    return {
      schema: 1, id: c.id, suite: c.suite, executor: 'torch', kernel: c.kernel, scheme: null, family: c.family, maskParams: c.maskParams, seed: c.seed,
      seqlen: c.seqlen, batch: c.batch, headsQ: c.headsQ, headsKv: c.headsKv, headDim: c.headDim, dtype: c.dtype, direction: c.direction, world: 1,
      layout: null, status: 'ok', message: null, area: 1, flops: 1, times: { medianMs: ms, p20Ms: ms, p80Ms: ms, samples: 20 }, tflops: 1,
      memory: null, error: null, simulated: false,
      env: { host: 'test', gpu: 'NVIDIA H200', driver: null, cuda: null, libs: {}, gitRev: null, date: '2026-01-01T00:00:00Z' },
    };
  });
}

describe('heads hold-out from the calibrate preset', () => {
  it('holds out each heads configuration the preset measures and predicts it from the others (with the paper rows at 64:8)', () => {
    const calib = presetRows('calibrate');
    expect(new Set(calib.map((r) => `${r.headsQ}:${r.headsKv}`))).toEqual(new Set(['64:8', '16:2', '4:4', '4:1']));
    const rows = [...calib, ...presetRows('paper')];
    const { observations, skipped } = observe(rows, gen);
    expect(skipped).toEqual([]);
    const text = kernelGroupReport(observations, 'h200').join('\n');
    expect(text).toMatch(/leave one heads out \(4 group\(s\): 16:2, 4:1, 4:4, 64:8\)/);
    expect(text).not.toMatch(/every row has heads/);
    const heads = leaveGroupOut(observations, ['heads']);
    expect(heads.length).toBe(observations.length); // one row per case id (no case id in both presets)
    // Unseen heads are extrapolation; a kernel that follows the model is predicted to a fraction of a percent.
    for (const p of heads) {
      expect(p.extrapolation, p.group).toBe(true);
      if (p.errorPct !== null) expect(Math.abs(p.errorPct), `${p.obs.id} ${p.group} ${p.errorPct}`).toBeLessThan(1);
    }
    // Every heads group keeps enough rows of the other heads to refit, so every row is predicted.
    expect(heads.filter((p) => p.errorPct === null)).toEqual([]);
  });

  it('says there is nothing to hold out against while every row has the same heads', () => {
    const rows = presetRows('paper');
    const text = kernelGroupReport(observe(rows, gen).observations, 'h200').join('\n');
    expect(text).toMatch(/leave one heads out: every row has heads 64:8, nothing to hold out against/);
  });
});
