import { describe, expect, it } from 'vitest';
import { benchMaskGeneration } from './mask-bench.js';

describe('benchMaskGeneration', () => {
  it('times generation, area and block map per sequence length', () => {
    const rows = benchMaskGeneration({ seqlens: [1 << 16], runs: 2 });
    expect(rows).toHaveLength(1);
    const [r] = rows;
    expect(r).toMatchObject({ family: 'causal_document', seqlen: 1 << 16, runs: 2 });
    expect(r.docs).toBeGreaterThan(0);
    expect(r.slices).toBe(r.docs);
    for (const ms of [r.generateMs, r.areaMs, r.blockMapMs, r.totalMs]) expect(ms).toBeGreaterThanOrEqual(0);
  });
});
