import { describe, expect, it } from 'vitest';
import { caseId, expandSweep, hash64, type KernelSweep } from './sweep.js';

const base: KernelSweep = {
  suite: 'kernel',
  kernels: ['cpu_tiled', 'reference'],
  families: ['causal', 'full'],
  seqlens: [1024, 2048, 4096],
  directions: ['fwd', 'bwd'],
  headsQ: 8,
  headsKv: 2,
  headDim: 64,
  dtype: 'float32',
  seed: 0,
  warmup: 1,
  iters: 3,
  checkUpTo: 2048,
};

describe('sweep expansion', () => {
  it('expands the full product with unique, stable ids', () => {
    const cases = expandSweep(base);
    expect(cases).toHaveLength(2 * 2 * 3 * 2);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(expandSweep(base).map((c) => c.id)).toEqual(cases.map((c) => c.id));
  });
  it('parameter grids multiply cases and change ids', () => {
    const cases = expandSweep({ ...base, families: ['block_sparse'], paramGrid: { sparsity: [0.1, 0.5], block: [64, 128] } });
    expect(cases).toHaveLength(4 * 3 * 2 * 2);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(cases.some((c) => c.maskParams.sparsity === 0.5 && c.maskParams.block === 64)).toBe(true);
  });
  it('timing policy does not change the id, what is measured does', () => {
    const [c] = expandSweep(base);
    const { id: _id, ...rest } = c;
    expect(caseId({ ...rest, iters: 100 })).toBe(c.id);
    expect(caseId({ ...rest, headDim: 128 })).not.toBe(c.id);
  });
  it('hash64 is FNV-1a', () => {
    expect(hash64('')).toBe('cbf29ce484222325');
    expect(hash64('a')).toBe('af63dc4c8601ec8c');
  });
});
