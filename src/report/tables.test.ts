import { describe, expect, it } from 'vitest';
import type { SchemeId } from '../ids.js';
import { syntheticKernelSweep, syntheticRow } from './fixtures.js';
import {
  cpPivots,
  failureTable,
  formatTable,
  rowsTable,
  simTable,
  sparsityTable,
  supportTable,
  tflopsPivot,
  tflopsPivots,
  toHtml,
  toleranceTable,
  type TableModel,
} from './tables.js';

describe('tables', () => {
  it('pivots kernels x seqlen to TFLOP/s for one family and direction, statuses and tolerance marks included', () => {
    const rows = [
      ...syntheticKernelSweep(['flex', 'sdpa_flash'], ['causal'], [1024, 2048], ['fwd']),
      syntheticRow({ kernel: 'torch_naive', seqlen: 1024, tflops: 12.345 }),
      syntheticRow({ kernel: 'torch_naive', seqlen: 2048, status: 'oom' }),
      syntheticRow({ kernel: 'fa3', seqlen: 1024, tflops: 500, exceedsTolerance: true }),
      syntheticRow({ kernel: 'flex', seqlen: 1024, direction: 'bwd' }), // other direction: not in this table
    ];
    const t = tflopsPivot(rows, 'causal', 'fwd');
    expect(t.head).toEqual(['kernel', '1k', '2k']);
    expect(t.rows).toEqual([
      ['torch_naive', '12.3', 'oom'],
      ['sdpa_flash', '110', '130'],
      ['flex', '100', '120'],
      ['fa3', '500!', ''],
    ]);
    expect(t.note).toMatch(/tolerance/);
    expect(tflopsPivots(rows).map((p) => p.title)).toEqual(['causal · fwd (TFLOP/s)', 'causal · bwd (TFLOP/s)']);
  });

  it('pivots CP rows to scheme x family, fwd / bwd with errors, one table per world', () => {
    const cp = (scheme: SchemeId, family: string, direction: 'fwd' | 'bwd', world: number, tflops: number, over = false) =>
      syntheticRow({ kernel: 'flex', scheme, family, direction, world, seqlen: 4096 * world, tflops, exceedsTolerance: over });
    const rows = [
      cp('ulysses', 'causal', 'fwd', 2, 300),
      cp('ulysses', 'causal', 'bwd', 2, 200, true),
      cp('ring_p2p', 'full', 'fwd', 2, 350),
      cp('ulysses', 'full', 'fwd', 4, 380), // S=16k: no error check
      syntheticRow({ kernel: 'flex', family: 'causal' }), // a kernel row: not in these tables
      { ...cp('ulysses', 'full', 'fwd', 8, 1), simulated: true }, // simulated: not measured
    ];
    const ts = cpPivots(rows);
    expect(ts.map((t) => t.title?.split(' · ').slice(0, 2).join(' · '))).toEqual(['CP P=2 · S=8k', 'CP P=4 · S=16k']);
    expect(ts[0].head).toEqual(['scheme', 'full', 'causal']);
    expect(ts[0].rows).toEqual([
      ['ulysses', '–', '300 / 200! (4e-3 / 5e-1*)'],
      ['ring_p2p', '350 / – (4e-3 / –)', '–'],
    ]);
    expect(ts[0].note).toMatch(/tolerance/);
    expect(ts[1].rows).toEqual([['ulysses', '380 / –']]);
    expect(ts[1].note).toBeUndefined();
  });

  it('formats a table as terminal, Markdown, CSV and JSON', () => {
    const t: TableModel = { head: ['a', 'b'], rows: [['1', 'x|y'], ['2', 'say "hi", ok']] };
    expect(formatTable(t, 'md')).toBe('| a | b |\n| --- | --- |\n| 1 | x\\|y |\n| 2 | say "hi", ok |');
    expect(formatTable(t, 'csv')).toBe('a,b\n1,x|y\n2,"say ""hi"", ok"');
    expect(JSON.parse(formatTable(t, 'json'))).toEqual([
      { a: '1', b: 'x|y' },
      { a: '2', b: 'say "hi", ok' },
    ]);
    const term = formatTable(t, 'table');
    expect(term.split('\n')).toHaveLength(5); // top, head, row, row, bottom: no rules between rows
    expect(term).toContain('say "hi", ok');
    expect(toHtml({ head: ['k'], rows: [['<b>'], ['oom'], ['5!']] })).toContain('<td>&lt;b&gt;</td>');
    expect(toHtml({ head: ['k'], rows: [['oom'], ['5!']] })).toMatch(/class="st-oom">oom<.*class="bad">5!</s);
  });

  it('lists errors above tolerance and failures with their messages', () => {
    const rows = [
      syntheticRow({ kernel: 'flex', exceedsTolerance: true }),
      syntheticRow({ kernel: 'sdpa_flash' }),
      syntheticRow({ kernel: 'fa3', status: 'error', message: 'CUDA error: illegal memory access\ntraceback...' }),
      syntheticRow({ kernel: 'fa3', status: 'timeout', seqlen: 8192 }),
      syntheticRow({ kernel: 'fa2', status: 'unsupported' }),
    ];
    const tol = toleranceTable(rows);
    expect(tol.rows).toEqual([['flex', 'causal', 'fwd', '4k', 'bfloat16', '0.50', 'float32']]);
    const fail = failureTable(rows);
    expect(fail.rows.map((r) => [r[0], r[5], r[6]])).toEqual([
      ['fa3', 'error', 'CUDA error: illegal memory access'],
      ['fa3', 'timeout', 'timeout at 8192'],
    ]);
  });

  it('support table shows fwd/bwd when they differ', () => {
    const rows = [
      syntheticRow({ kernel: 'flex', family: 'causal' }),
      syntheticRow({ kernel: 'flex', family: 'causal', direction: 'bwd', status: 'oom' }),
      syntheticRow({ kernel: 'flex', family: 'full', notes: ['via dense mask'] }),
    ];
    expect(supportTable(rows).rows).toEqual([['flex', 'adapter', 'native/oom']]);
    expect(supportTable(rows).head).toEqual(['kernel', 'full', 'causal']);
  });

  it('sparsity table: one column per kept fraction, real / nominal TFLOP/s (issue 17)', () => {
    const rows = [0.1, 0.5].flatMap((sparsity) =>
      [64, 128].map((block) =>
        syntheticRow({ suite: 'sparse', kernel: 'flex', family: 'block_sparse', seqlen: 16384, maskParams: { s: sparsity, block }, tflops: sparsity * 1000 + block }),
      ),
    );
    const t = sparsityTable(rows);
    expect(t.head).toEqual(['kernel', 'family', 'dir', 'S', 'block', '0.1', '0.5']);
    expect(t.rows).toEqual([
      ['flex', 'block_sparse', 'fwd', '16k', '64', '164 / 16.4', '564 / 282'],
      ['flex', 'block_sparse', 'fwd', '16k', '128', '228 / 22.8', '628 / 314'],
    ]);
    expect(t.note).toMatch(/nominal: the paper's count 4 x S\^2 x H x D x s/);
  });

  it('simulator table gives the relative error of each paired configuration', () => {
    const m = syntheticRow({ kernel: 'flex', tflops: 100 });
    const s = { ...syntheticRow({ kernel: 'flex', tflops: 125, simulated: true }), suite: 'sim' as const };
    const t = simTable([m, s]);
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0].at(-1)).toBe('-20.0%');
    expect(t.note).toMatch(/median \|error\| 20.0%/);
  });

  it('row listing marks simulated rows and over-tolerance results', () => {
    const t = rowsTable([syntheticRow({ exceedsTolerance: true }), syntheticRow({ simulated: true, tflops: 50 })]);
    expect(t.rows.map((r) => [r[8], r[11]])).toEqual([
      ['100!', ''],
      ['50.0', 'yes'],
    ]);
  });
});
