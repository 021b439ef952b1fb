// Host-time floor of nested-tensor ('@varlen') paths (issue 15): their calls take host time that
// does not follow S, and the kernel's time once it outgrows it. Test data only: a made-up kernel.
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { fitGroup, fitHostFloor, MIN_FLOOR_ROWS, nestedPath, type KernelObservation } from './calibrate.js';
import { curveMs, kernelCall, tileProfile, type KernelCurve } from './kernel-model.js';

function docs(s: number, len: number): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind: 'causal' });
  return { seqlenQ: s, seqlenK: s, slices };
}

function curve(over: Partial<KernelCurve>): KernelCurve {
  return {
    gpu: 'h100+h200', kernel: 'sdpa_efficient@varlen', direction: 'fwd', dtype: 'bfloat16', slots: 264, c0Ms: 0.02, msPerProgram: 2e-4,
    msPerTflopFull: 2.5, msPerTflopPartial: 4, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0,
    holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] }, ...over,
  };
}

const SEQLENS = [1024, 2048, 4096, 8192, 16384, 24576, 32768, 40960, 49152, 65536];

/** Rows of `kernel`: host time `hostMs` scattered by +-25% with no trend in S, or the kernel's time when longer. */
function observations(kernel: string, hostMs: number, kernelOver: Partial<KernelCurve> = {}): KernelObservation[] {
  const gpuCurve = curve({ kernel, ...kernelOver });
  return ['causal_document', 'causal_document_long'].flatMap((family, fi) =>
    SEQLENS.map((s, i) => {
      const call = kernelCall(tileProfile([{ mask: docs(s, fi ? 8192 : 2048), weight: 1 }]), 64, 128, 'fwd', 'bfloat16', 1, 8);
      const host = hostMs * (1 + 0.25 * Math.sin(2.3 * i + 1.1 * fi));
      const ms = Math.max(host, curveMs(gpuCurve, call) * (1 + 0.02 * Math.cos(1.3 * i + fi)));
      return { id: `${family}:${s}`, gpu: 'h200', kernel, family, seqlen: s, headsQ: 64, headsKv: 8, world: 1, call, ms, heldOut: false };
    }),
  );
}

const asCurve = (f: ReturnType<typeof fitGroup>): KernelCurve => ({ ...f.curve, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null });
const rmsLog = (c: KernelCurve, obs: readonly KernelObservation[]) => Math.sqrt(obs.reduce((a, o) => a + Math.log(curveMs(c, o.call) / o.ms) ** 2, 0) / obs.length);
const maxErr = (c: KernelCurve, obs: readonly KernelObservation[]) => Math.max(...obs.map((o) => Math.abs(curveMs(c, o.call) / o.ms - 1)));

describe('host floor of nested-tensor paths', () => {
  it('curveMs takes the larger of the floor and the kernel time', () => {
    const o = observations('sdpa_efficient@varlen', 5)[0];
    const gpu = curveMs(curve({}), o.call);
    expect(gpu).toBeLessThan(1);
    expect(curveMs(curve({ hostFloorMs: 5 }), o.call)).toBe(5);
    expect(curveMs(curve({ hostFloorMs: gpu / 2 }), o.call)).toBe(gpu);
  });

  it('is fitted on nested paths: rows on the floor and rows above it both within the host scatter', () => {
    const obs = observations('sdpa_efficient@varlen', 5);
    // The data has both regimes (else the test says nothing).
    expect(obs.filter((o) => o.ms < 7).length).toBeGreaterThanOrEqual(MIN_FLOOR_ROWS);
    expect(obs.filter((o) => o.ms > 10).length).toBeGreaterThanOrEqual(6);
    const floored = asCurve(fitHostFloor(obs, 132));
    const additive = asCurve(fitGroup(obs, 132));
    expect(floored.hostFloorMs).toBeGreaterThan(3.5);
    expect(floored.hostFloorMs).toBeLessThan(6.5);
    expect(floored.assumed.some((a) => a.startsWith('host floor'))).toBe(true);
    // Rows on the floor: within the host scatter (+-25%).
    expect(maxErr(floored, obs.filter((o) => o.ms < 7))).toBeLessThan(0.35);
    // Long launches are the kernel's: predicted within a few %; the additive c0 + kernel cannot
    // follow both regimes and misses them by more than 10%.
    const long = obs.filter((o) => o.ms > 10);
    expect(maxErr(floored, long)).toBeLessThan(0.05);
    expect(maxErr(additive, long)).toBeGreaterThan(0.1);
    expect(rmsLog(floored, obs)).toBeLessThan(rmsLog(additive, obs));
  });

  it('is never given to plain paths, dense masks or CP calls', () => {
    expect(nestedPath('sdpa_flash@varlen') && !nestedPath('sdpa_flash') && !nestedPath('sdpa_cudnn@dense') && !nestedPath('flex@cp')).toBe(true);
    for (const k of ['sdpa_efficient', 'sdpa_cudnn@dense', 'flex@cp']) {
      const fit = fitHostFloor(observations(k, 5), 132);
      expect(fit.curve.hostFloorMs, k).toBeUndefined();
      expect(fit).toEqual(fitGroup(observations(k, 5), 132));
    }
  });
});
