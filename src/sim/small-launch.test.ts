// Launch-aware parts of the kernel model (issue 15): a launch of fewer programs than slots spreads
// them over the SMs (a program alone on its SM runs at the SM's speed), and a fit cannot take rows
// whose features are the same as separate shapes. Test data only: made-up kernels and times.
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { computesEveryBlock, tooFew, type KernelObservation } from './calibrate.js';
import { curveMs, kernelCall, launchFeatures, residentSlots, tileProfile, type KernelCurve } from './kernel-model.js';

function band(s: number, len: number, kind: Slice['kind']): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind });
  return { seqlenQ: s, seqlenK: s, slices };
}

function curve(over: Partial<KernelCurve>): KernelCurve {
  return {
    gpu: 'h100+h200', kernel: 'sdpa_flash', direction: 'fwd', dtype: 'bfloat16', slots: 396, c0Ms: 0.005, msPerProgram: 1e-5, msPerTflopFull: 2.8,
    msPerTflopPartial: 3.5, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null,
    seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] }, ...over,
  };
}

// causal 1k: 8 query tiles per head.
const causal1k = tileProfile([{ mask: band(1024, 1024, 'causal'), weight: 1 }]);
const call = (heads: number, kv = heads) => kernelCall(causal1k, heads, 128, 'fwd', 'bfloat16', 1, kv);

describe('small launches', () => {
  it('residentSlots: programs spread over the SMs, at most slots / SMs on each', () => {
    expect(residentSlots(64, 396, 132)).toBe(132);
    expect(residentSlots(132, 396, 132)).toBe(132);
    expect(residentSlots(133, 396, 132)).toBe(264);
    expect(residentSlots(396, 396, 132)).toBe(396);
    expect(residentSlots(5000, 396, 132)).toBe(396);
  });

  it('a launch of at most SMs programs runs each at a whole SM: its time does not depend on programs per SM', () => {
    // 16 heads x 8 tiles = 128 programs < 132 SMs.
    const one = curveMs(curve({ slots: 132 }), call(16));
    for (const slots of [264, 396, 528]) expect(curveMs(curve({ slots }), call(16))).toBeCloseTo(one, 9);
    // Was: each program at 1 / slots of the GPU, 3x the heaviest program's time at 3 per SM.
    const old = launchFeatures(call(16), 396).heavy; // sms = slots: the old rule
    const now = launchFeatures(call(16), 396, 132).heavy;
    expect(now[2] * 3).toBeCloseTo(old[2], 12);
  });

  it('programs sharing an SM split it: 2 per SM between SMs and 2 x SMs programs', () => {
    // 24 heads x 8 = 192 programs: 2 on some SMs.
    const f = launchFeatures(call(24), 396, 132);
    expect(f.heavy[1]).toBe(264);
    expect(f.wave[1]).toBe(264);
  });

  it("one wave with k programs per SM: the heaviest program's SM does its work and k - 1 mean programs' at the SM's speed", () => {
    // 24 heads x 8 = 192 programs on 132 SMs: k = 2. The heaviest causal 1k row has 8 blocks, the mean 4.5.
    const pp = (2 * 2 * 128 * 128 * 128) / 1e12; // TFLOP of one 128 x 128 block, forward (4 x d x pairs)
    const f = launchFeatures(call(24), 396, 132).heavy;
    const blocks = (x: number[]) => (x[2] + x[3]) / pp;
    expect(blocks(f)).toBeCloseTo(132 * (8 + 4.5), 6);
    // Between the heaviest alone at a whole SM (132 x 8) and at half an SM all along (264 x 8, the rule before).
    expect(blocks(f)).toBeGreaterThan(132 * 8);
    expect(blocks(f)).toBeLessThan(264 * 8);
    // One program per SM: the heaviest alone, as before.
    expect(blocks(launchFeatures(call(16), 396, 132).heavy)).toBeCloseTo(132 * 8, 6);
  });

  it('launches of several waves keep the full share (last wave included)', () => {
    // 64 heads x 8 = 512 programs on 396 slots: 2 waves.
    const c = call(64, 8);
    expect(launchFeatures(c, 396, 132)).toEqual(launchFeatures(c, 396));
  });
});

describe('distinct shapes of kernels that compute every block', () => {
  const obs = (kernel: string, family: string, seqlen: number): KernelObservation => ({
    id: `${kernel}:${family}:${seqlen}`, gpu: 'h200', kernel, family, seqlen, headsQ: 64, headsKv: 8, world: 1, call: call(64, 8), ms: 1, heldOut: false,
  });
  const families = ['causal', 'full', 'sliding_window', 'block_sparse', 'prefix_lm_causal', 'share_question'];

  it('rows of several families at one S and heads are one shape to them (their work does not depend on the mask)', () => {
    expect(computesEveryBlock('sdpa_cudnn@dense')).toBe(true);
    expect(tooFew(families.map((f) => obs('sdpa_cudnn@dense', f, 32768)))).toMatch(/too few distinct shapes/);
    // The same rows are 6 shapes to a kernel that skips blocks.
    expect(tooFew(families.map((f) => obs('flex', f, 32768)))).toBeNull();
    // And 3 S values make 3 shapes.
    expect(tooFew([8192, 16384, 32768].flatMap((s) => families.slice(0, 2).map((f) => obs('sdpa_cudnn@dense', f, s))))).toBeNull();
  });
});
