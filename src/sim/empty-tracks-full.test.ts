// Empty block work that moves with full block work (causal rows alone: as many blocks above the
// diagonal as below) cannot be told apart by a fit; fitGroup then takes empty blocks as free.
// Test data only: times from made-up coefficients.
import { describe, expect, it } from 'vitest';
import type { Mask } from '../mask/types.js';
import { fitGroup, type KernelObservation } from './calibrate.js';
import { curveMs, emptyTracksFull, kernelCall, tileProfile, type KernelCurve } from './kernel-model.js';

const truth: KernelCurve = {
  gpu: 'h100+h200', kernel: 'sdpa_flash', direction: 'fwd', dtype: 'bfloat16', slots: 264, c0Ms: 0.01, msPerProgram: 2e-5,
  msPerTflopFull: 2.0, msPerTflopPartial: 1.4, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0,
  holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
};

function obs(family: 'causal' | 'full', s: number, heads: number, i: number): KernelObservation {
  const mask: Mask = { seqlenQ: s, seqlenK: s, slices: [{ qStart: 0, qEnd: s, kStart: 0, kEnd: s, kind: family }] };
  const call = kernelCall(tileProfile([{ mask, weight: 1 }]), heads, 128, 'fwd', 'bfloat16', 1, heads / 4);
  // Rows off the truth by a few %, in the direction that rewards moving the full cost to empty blocks.
  const ms = curveMs(truth, call) * (1 + 0.03 * Math.sin(2.1 * i));
  return { id: `${family}:${s}:${heads}`, gpu: 'h200', kernel: 'sdpa_flash', family, seqlen: s, headsQ: heads, headsKv: heads / 4, world: 1, call, ms, heldOut: false };
}

const causalRows = [1024, 2048, 4096, 8192, 16384, 32768, 65536].flatMap((s, i) => [obs('causal', s, 64, 2 * i), obs('causal', s, 16, 2 * i + 1)]);

describe('emptyTracksFull', () => {
  it('holds on causal rows of any S and heads, not once a full-mask row joins', () => {
    expect(emptyTracksFull(causalRows.map((o) => o.call))).toBe(true);
    expect(emptyTracksFull([...causalRows, obs('full', 8192, 64, 0)].map((o) => o.call))).toBe(false);
  });

  it('does not hold where no row has empty blocks', () => {
    expect(emptyTracksFull([obs('full', 4096, 64, 0), obs('full', 8192, 64, 1)].map((o) => o.call))).toBe(false);
  });
});

describe('fitGroup on causal rows alone', () => {
  it('keeps the full blocks cost on the full blocks, so a full mask is predicted from causal rows', () => {
    const fit: KernelCurve = { ...fitGroup(causalRows, 132).curve, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null };
    expect(fit.msPerTflopEmpty).toBe(0);
    expect(fit.assumed.some((a) => a.startsWith('empty=0 (empty work moves with full work'))).toBe(true);
    const full = obs('full', 32768, 64, 0);
    expect(Math.abs(curveMs(fit, full.call) / full.ms - 1)).toBeLessThan(0.15);
  });

  it('fits empty blocks freely once rows separate them', () => {
    const fit = fitGroup([...causalRows, obs('full', 8192, 64, 3), obs('full', 32768, 16, 4)], 132).curve;
    expect(fit.assumed.some((a) => a.startsWith('empty=0 (empty work'))).toBe(false);
  });
});
