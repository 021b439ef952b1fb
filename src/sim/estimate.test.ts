import { describe, expect, it } from 'vitest';
import type { KernelCase } from '../kernels/case.js';
import { callsPerSample, estimateCases, HARNESS, splitCalls } from './estimate.js';

function kcase(kernel: string, direction: 'fwd' | 'bwd', seqlen: number, family = 'causal'): KernelCase {
  return {
    id: `${kernel}:${family}:${seqlen}|${direction}`, suite: 'kernel', kernel, family, maskParams: {}, seed: 0, seqlen, batch: 1,
    headsQ: 4, headsKv: 4, headDim: 128, dtype: 'bfloat16', direction, warmup: 5, iters: 20, checkUpTo: 8192,
  } as KernelCase;
}

describe('device time of a planned sweep', () => {
  it('charges every call the worker makes, the check below checkUpTo, and compiles per kernel shape', () => {
    expect(callsPerSample({ warmup: 5, iters: 20 })).toBe(27);
    const cases = [kcase('triton_blocksparse', 'bwd', 16384), kcase('triton_blocksparse', 'bwd', 32768), kcase('triton_blocksparse', 'bwd', 16384, 'causal_document'),
      kcase('flex', 'fwd', 16384), kcase('flex', 'fwd', 32768), kcase('sdpa_cudnn', 'fwd', 4096)];
    const est = estimateCases(cases.map((c) => ({ case: c, samples: c.kernel === 'sdpa_cudnn' ? 3 : 1 })), () => ({ ms: 10, fallback: false }));
    const tb = HARNESS.compileS.triton_blocksparse.bwd;
    const fx = HARNESS.compileS.flex.fwd;
    // Triton: once per (kernel, direction, heads, family, params); flex: every case.
    expect(est.map((e) => e.compileS)).toEqual([tb, 0, tb, fx, fx, 0]);
    expect(est[1].seconds).toBeCloseTo(HARNESS.overheadS + 0.27, 9);
    // 3 mask samples x 27 calls x 10 ms, plus the reference check at 4k.
    expect(est[5].checkS).toBeCloseTo(HARNESS.checkSPerHeadPair * 4096 * 4096 * 4, 12);
    expect(est[5].seconds).toBeCloseTo(HARNESS.overheadS + est[5].checkS + 0.81, 9);
    expect(est[0].checkS).toBe(0);
  });

  it('splits the run order into calls of a budget; a case larger than the budget gets a call of its own', () => {
    const est = [5, 5, 5, 20, 1].map((s, i) => ({ id: String(i), kernelMs: 0, roofline: false, compileS: 0, checkS: 0, seconds: s }));
    expect(splitCalls(est, 10)).toEqual([{ first: 0, seconds: 10 }, { first: 2, seconds: 5 }, { first: 3, seconds: 20 }, { first: 4, seconds: 1 }]);
  });
});
