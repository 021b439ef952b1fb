// CP validation picks the row's own kernel's curves (or its roofline), never another kernel's, and
// reports its errors per scheme (issue 15: the H200 triton_ranges CP rows were predicted with flex@cp).
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../results/schema.js';
import { resolveCluster } from './hardware.js';
import type { Calibration, KernelCurve } from './kernel-model.js';
import { kernelCall } from './kernel-model.js';
import { tileProfile } from './tiles.js';
import { FULL_128 } from './testing.js';
import { cpKernelModel, cpRankLines, cpSchemeLines, type CpPrediction } from './validate.js';

function curve(kernel: string, direction: 'fwd' | 'bwd'): KernelCurve {
  return {
    gpu: 'h100+h200', kernel, direction, dtype: 'bfloat16', slots: 132, c0Ms: 0.5, msPerProgram: 0,
    msPerTflopFull: 2, msPerTflopPartial: 3, msPerTflopEmpty: 0, assumed: [], fitRows: 10, fitMedianAbsPct: 0,
    holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
  };
}

const cal: Calibration = {
  version: 2, uncalibrated: [], blockSize: 128, model: '', holdout: '', rows: 40, holdoutMedianAbsPct: null, fitMedianAbsPct: 0,
  // flex has the most fitted rows: the best-covered kernel for callers that name none.
  curves: [curve('flex', 'fwd'), curve('flex', 'bwd'), curve('flex@cp', 'fwd'), curve('sdpa_cudnn', 'fwd')],
};

describe('cpKernelModel', () => {
  const cluster = resolveCluster('h100');
  const call = kernelCall(tileProfile([{ mask: FULL_128, weight: 1 }]), 1, 128, 'fwd', 'bfloat16', 4 * 128 ** 3);
  it("prefers the executor's own call curves, then the kernel suite's", () => {
    expect(cpKernelModel(cal, cluster, 'flex').kernel).toBe('flex@cp');
    expect(cpKernelModel(cal, cluster, 'sdpa_cudnn').kernel).toBe('sdpa_cudnn');
    expect(cpKernelModel(cal, cluster, 'flex').predict(call).fallback).toBe(false);
  });
  it("times a kernel without curves by its roofline, flagged, not by another kernel's curves", () => {
    const m = cpKernelModel(cal, cluster, 'triton_ranges');
    expect(m.kernel).toBe('triton_ranges');
    const p = m.predict(call);
    expect(p.fallback).toBe(true);
    expect(m.missing('fwd', 'bfloat16')).toMatch(/triton_ranges/);
  });
  it('rows naming no kernel get the kernel with the most fitted rows', () => {
    expect(cpKernelModel(cal, cluster, null).kernel).toBe('flex');
  });
});

describe('cpSchemeLines', () => {
  const row = (scheme: string, kernel: string, direction: 'fwd' | 'bwd') =>
    ({ scheme, kernel, direction, env: { gpu: 'NVIDIA H100 80GB HBM3' } }) as unknown as ResultRow;
  const pred = (r: ResultRow, errorPct: number, fallback = false): CpPrediction => ({ row: r, virtualRanks: true, predictedMs: 1, errorPct, fallback, heldOut: false });
  it('groups by GPU, kernel, scheme and direction, roofline rows apart', () => {
    const lines = cpSchemeLines([
      pred(row('ulysses', 'flex', 'bwd'), -40),
      pred(row('ulysses', 'flex', 'bwd'), -50),
      pred(row('ulysses', 'flex', 'fwd'), 10),
      pred(row('ring_p2p', 'triton_ranges', 'fwd'), -80, true),
    ]);
    expect(lines).toEqual([
      'h100 flex ulysses bwd: n=2 median |err| 45.0%, p90 50.0%, max 50.0%',
      'h100 flex ulysses fwd: n=1 median |err| 10.0%, p90 10.0%, max 10.0%',
      'h100 triton_ranges (roofline) ring_p2p fwd: n=1 median |err| 80.0%, p90 80.0%, max 80.0%',
    ]);
  });
});

describe('cpRankLines', () => {
  it('prints every recorded rank of virtual-rank predictions, and nothing for rows without ranks', () => {
    const row = { scheme: 'ulysses', kernel: 'flex', family: 'causal_document', seqlen: 65536, world: 2, direction: 'fwd', env: { gpu: 'NVIDIA H200' } } as unknown as ResultRow;
    const base: CpPrediction = { row, virtualRanks: true, predictedMs: 5, errorPct: 0, fallback: false, heldOut: false };
    expect(cpRankLines([{ ...base, ranks: [{ rank: 0, measuredMs: 4.123, predictedMs: 5 }, { rank: 1, measuredMs: 6.4, predictedMs: 5.01 }] }, base])).toEqual([
      'h200 flex ulysses causal_document S=65536 P=2 fwd (rank measured/simulated ms): 0:4.12/5.00 1:6.40/5.01',
    ]);
  });
});
