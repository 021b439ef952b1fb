import { describe, expect, it } from 'vitest';
import { syntheticRow } from './fixtures.js';
import { rangesRatios, rangesTable } from './ranges-panel.js';

describe('triton_ranges report panel', () => {
  it('ratio against the fastest other kernel of the same case, and against flex', () => {
    const rows = [
      syntheticRow({ kernel: 'triton_ranges', family: 'causal_document', tflops: 300 }),
      syntheticRow({ kernel: 'flex', family: 'causal_document', tflops: 200 }),
      syntheticRow({ kernel: 'sdpa_flash', family: 'causal_document', tflops: 250 }),
      syntheticRow({ kernel: 'sdpa_cudnn', family: 'causal_document', tflops: 900, exceedsTolerance: true }), // wrong: does not count
      syntheticRow({ kernel: 'flex', family: 'causal_document', tflops: 999, seqlen: 8192 }), // another case
      syntheticRow({ kernel: 'triton_ranges', family: 'causal', tflops: 100 }),
      syntheticRow({ kernel: 'sdpa_cudnn', family: 'causal', tflops: 400 }),
    ];
    const r = rangesRatios(rows);
    expect(r.map((x) => [x.ours.family, x.best?.kernel, x.flex?.kernel ?? null])).toEqual([
      ['causal', 'sdpa_cudnn', null],
      ['causal_document', 'sdpa_flash', 'flex'],
    ]);
    const t = rangesTable(rows);
    expect(t.rows[0].slice(7, 9)).toEqual(['0.25', '-']);
    expect(t.rows[1].slice(6, 10)).toEqual(['sdpa_flash 250', '1.20', '1.50', 'yes']);
  });

  it('no triton_ranges rows: an empty table', () => {
    expect(rangesTable([syntheticRow({ kernel: 'flex' })]).rows).toEqual([]);
  });
});
