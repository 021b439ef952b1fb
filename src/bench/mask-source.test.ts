// Per-head families follow the case's heads (issue 17: `--heads 4:4` with block_sparse used to give
// 8 masks, and every case was recorded `unsupported`).
import { describe, expect, it } from 'vitest';
import { caseMaskParams, familyMaskSource } from './mask-source.js';
import { expandSweep } from './sweep.js';

const sweep = (family: string, headsQ: number, headsKv: number, params: Record<string, number> = {}) =>
  expandSweep({
    suite: 'sparse',
    kernels: ['cpu_tiled'],
    families: [family],
    seqlens: [1024],
    directions: ['fwd'],
    headsQ,
    headsKv,
    headDim: 32,
    dtype: 'float32',
    seed: 0,
    params: { [family]: { ...(family === 'variable_block_sparse' ? { blockAvg: 128 } : family === 'block_sparse' ? { block: 64 } : {}), ...params } },
    warmup: 0,
    iters: 1,
    checkUpTo: 0,
  } as never);

describe('kvHeads of per-head families', () => {
  it('one mask per KV head of the case: 4:4 -> 4, 2:1 -> 1, 64:8 -> 8', () => {
    const masks = familyMaskSource(1);
    for (const [q, kv] of [[4, 4], [2, 1], [64, 8]])
      for (const family of ['block_sparse', 'variable_block_sparse']) {
        const c = sweep(family, q, kv)[0];
        expect(masks.generate(c, 0).heads, `${family} ${q}:${kv}`).toHaveLength(kv);
      }
  });

  it('a shared-mask family gets no kvHeads; a kvHeads that disagrees with --heads is bad input', () => {
    expect(caseMaskParams(sweep('causal', 4, 4)[0])).toEqual({});
    expect(() => caseMaskParams(sweep('block_sparse', 4, 4, { kvHeads: 8 })[0])).toThrow(expect.objectContaining({ exit: 2, message: expect.stringMatching(/kvHeads=8 disagrees with the case's 4:4 heads/) }));
    expect(caseMaskParams(sweep('block_sparse', 4, 4, { kvHeads: 4 })[0]).kvHeads).toBe(4);
  });
});
