import { describe, expect, it } from 'vitest';
import { syntheticRow } from './fixtures.js';
import { rangesRatios, rangesTable } from './ranges-panel.js';
import { specToSvg } from './render.js';
import { rangesRatioSpec } from './specs.js';

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

  it('a flex row run with the slice predicate is marked, not dropped', () => {
    const slow = { ...syntheticRow({ kernel: 'flex', family: 'causal_document', tflops: 200 }), notes: ['BlockMask from block table + slice mask_mod'] };
    const rows = [syntheticRow({ kernel: 'triton_ranges', family: 'causal_document', tflops: 300 }), slow];
    expect(rangesTable(rows).rows[0][8]).toBe('1.50 *');
    const fair = { ...slow, notes: ['BlockMask from block table + mask_mod over per-row key ranges'] };
    expect(rangesTable([rows[0], fair]).rows[0][8]).toBe('1.50');
    expect(rangesTable(rows).note).toContain('slice predicate');
  });

  it('one case whatever suite measured it or the order of its parameters: the latest row of each kernel', () => {
    const at = (kernel: string, suite: 'kernel' | 'sparse', tflops: number, date: string, maskParams: Record<string, number>) => {
      const r = syntheticRow({ kernel, family: 'block_sparse', suite, tflops, maskParams });
      return { ...r, env: { ...r.env, date } };
    };
    const rows = [
      at('triton_ranges', 'sparse', 250, '2026-12-06T10:00:00Z', { s: 1, block: 64 }),
      at('flex', 'sparse', 400, '2026-12-06T10:00:00Z', { s: 1, block: 64 }),
      at('triton_ranges', 'kernel', 425, '2026-12-06T11:00:00Z', { block: 64, s: 1 }),
      at('flex', 'kernel', 402, '2026-12-06T11:00:00Z', { block: 64, s: 1 }),
    ];
    const t = rangesTable(rows);
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0][1]).toBe('block=64 s=1');
    expect(t.rows[0][8]).toBe((425 / 402).toFixed(2));
  });

  it('no triton_ranges rows: an empty table', () => {
    expect(rangesTable([syntheticRow({ kernel: 'flex' })]).rows).toEqual([]);
  });

  it('plot: a bar per case against flex, and against the best other where that is not flex, per direction', async () => {
    const rows = [
      syntheticRow({ kernel: 'triton_ranges', family: 'causal_document', tflops: 300 }),
      syntheticRow({ kernel: 'flex', family: 'causal_document', tflops: 200 }),
      syntheticRow({ kernel: 'sdpa_flash', family: 'causal_document', tflops: 250 }),
      syntheticRow({ kernel: 'triton_ranges', family: 'causal', tflops: 100, direction: 'bwd' }),
      syntheticRow({ kernel: 'flex', family: 'causal', tflops: 400, direction: 'bwd' }), // best other and flex: one bar
    ];
    const spec = rangesRatioSpec(rows)!;
    const values = (spec as unknown as { data: { values: { label: string; vs: string; ratio: number; sameRun: string }[] } }).data.values;
    expect(values.map((v) => [v.label, v.vs, v.ratio, v.sameRun])).toEqual([
      ['causal 4k 64:8 d128', 'flex', 0.25, 'yes'],
      ['causal_document 4k 64:8 d128', 'flex', 1.5, 'yes'],
      ['causal_document 4k 64:8 d128', 'best other', 1.2, 'yes'],
    ]);
    const svg = await specToSvg(spec);
    expect(svg.split('aria-roledescription="bar"').length - 1).toBe(3);
    expect(svg).toContain('Our range kernel vs the others');
    expect(rangesRatioSpec([syntheticRow({ kernel: 'flex' })])).toBeNull();
  });
});
