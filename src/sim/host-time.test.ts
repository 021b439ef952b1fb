// Host-bound rows of host paths (issue 15): which rows `sim validate` reports as host time, and the
// bound one constant has on them. Test data only: a made-up kernel with a made-up host time.
import { describe, expect, it } from 'vitest';
import type { Mask, Slice } from '../mask/types.js';
import { calibrate, type KernelObservation } from './calibrate.js';
import { constantBound, hostBoundRows, hostTimeLines } from './host-time.js';
import { curveMs, kernelCall, tileProfile, type KernelCurve } from './kernel-model.js';

function docs(s: number, len: number): Mask {
  const slices: Slice[] = [];
  for (let a = 0; a < s; a += len) slices.push({ qStart: a, qEnd: Math.min(s, a + len), kStart: a, kEnd: Math.min(s, a + len), kind: 'causal' });
  return { seqlenQ: s, seqlenK: s, slices };
}

const KERNEL: KernelCurve = {
  gpu: 'h100+h200', kernel: 'k', direction: 'fwd', dtype: 'bfloat16', slots: 264, c0Ms: 0.01, msPerProgram: 0,
  msPerTflopFull: 3, msPerTflopPartial: 4, msPerTflopEmpty: 0, assumed: [], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0,
  holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
};

const SEQLENS = [1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144];
/** Host time by S (ms): no trend, a 2x spread among the small ones. */
const HOST = [6, 3, 5, 4, 4.5, 5.5, 3.5, 5, 4];

/** Rows of `kernel` whose time is host time plus the made-up kernel's. */
function observations(kernel: string): KernelObservation[] {
  return SEQLENS.map((s, i) => {
    const call = kernelCall(tileProfile([{ mask: docs(s, 2048), weight: 1 }]), 64, 128, 'fwd', 'bfloat16', 1, 8);
    return { id: `${kernel}:${s}`, gpu: 'h200', kernel, family: 'causal_document', seqlen: s, headsQ: 64, headsKv: 8, world: 1, call, ms: HOST[i] + curveMs(KERNEL, call), heldOut: false };
  });
}

describe('host-bound rows', () => {
  it('one constant at the geometric middle: off by middle / min - 1', () => {
    expect(constantBound([2, 8]).middleMs).toBeCloseTo(4, 9);
    expect(constantBound([2, 8]).worstPct).toBeCloseTo(100, 9);
    expect(constantBound([5, 5, 5]).worstPct).toBeCloseTo(0, 9);
  });

  it('lists the rows of a host path whose kernel part is small, and none of its long ones', () => {
    const obs = observations('k@varlen');
    // The data has both kinds of rows (else the test says nothing).
    const kernelShare = obs.map((o) => curveMs(KERNEL, o.call) / o.ms);
    expect(kernelShare.filter((x) => x < 0.1).length).toBeGreaterThanOrEqual(3);
    expect(kernelShare.filter((x) => x > 0.5).length).toBeGreaterThanOrEqual(2);
    const cal = calibrate(obs, {}, () => true);
    const [h] = hostBoundRows(cal, obs, 'h200');
    expect(h.kernel).toBe('k@varlen');
    const listed = new Set(h.rows.map((r) => r.obs.seqlen));
    obs.forEach((o, i) => {
      if (kernelShare[i] < 0.1) expect(listed.has(o.seqlen), `S ${o.seqlen}`).toBe(true);
      if (kernelShare[i] > 0.5) expect(listed.has(o.seqlen), `S ${o.seqlen}`).toBe(false);
    });
    // The 6 ms and the 3 ms host rows are both host-bound: one constant is >= 30% off on one.
    expect(listed.has(1024) && listed.has(2048)).toBe(true);
    const line = hostTimeLines(cal, obs, 'h200').join('\n');
    const m = /k@varlen fwd: 1k 64:8 6\.\d+ .*off by >= (\d+)%/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(30);
  });

  it('reports no plain path and no other GPU', () => {
    const obs = observations('k');
    const cal = calibrate(obs, {}, () => true);
    expect(hostBoundRows(cal, obs, 'h200')).toEqual([]);
    const nested = observations('k@varlen');
    expect(hostBoundRows(calibrate(nested, {}, () => true), nested, 'h100')).toEqual([]);
  });
});
