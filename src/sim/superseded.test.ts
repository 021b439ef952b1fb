// Rows of a case measured again, on a GPU of the same compute class, after the kernel's configuration
// changed (its notes differ): the earlier row is not fitted (issue 15: triton_ranges was retuned
// between the H100 and the H200 calibrate calls). Test data only.
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../results/schema.js';
import { observe, supersededRows } from './calibrate.js';
import { rowMask } from './sources.js';
import { syntheticKernelRows } from './testing.js';

const H200 = 'NVIDIA H200';

function variant(r: ResultRow, gpu: string, date: string, notes: string[], ms: number): ResultRow {
  return { ...r, notes, env: { ...r.env, gpu, date }, times: { medianMs: ms, p20Ms: ms, p80Ms: ms, samples: 20 } };
}

describe('superseded rows', () => {
  const base = syntheticKernelRows(rowMask, { kernel: 'triton_ranges', families: ['causal'], seqlens: [4096, 8192] });

  it('drop the earlier row of a case whose notes changed before a later row on the same compute class', () => {
    const old = variant(base[0], 'NVIDIA H100 80GB HBM3', '2026-12-05T10:19:11+00:00', ['bwd subM 32 w8 s2'], 2.7);
    const now = variant(base[0], H200, '2026-12-05T18:05:42+00:00', ['bwd subM 64 packed lse'], 1.0);
    const stale = supersededRows([old, now]);
    expect([...stale.keys()]).toEqual([old]);
    expect(stale.get(old)).toMatch(/superseded.*h200/);
    // observe fits the later row only, and says why the other is left out
    const { observations, skipped } = observe([old, now, ...base.slice(1)], rowMask);
    expect(observations.filter((o) => o.id === base[0].id).map((o) => [o.gpu, o.ms])).toEqual([['h200', 1.0]]);
    expect(skipped.map((s) => s.id)).toEqual([base[0].id]);
  });

  it('keep both rows when the notes agree (the same kernel on two GPUs), and the later one whatever the order read', () => {
    const a = variant(base[0], 'NVIDIA H100 80GB HBM3', '2026-12-05T10:00:00+00:00', ['same'], 2.0);
    const b = variant(base[0], H200, '2026-12-05T18:00:00+00:00', ['same'], 2.1);
    expect(supersededRows([a, b]).size).toBe(0);
    expect(observe([a, b], rowMask).observations).toHaveLength(2);
    const c = variant(base[0], H200, '2026-12-05T18:00:00+00:00', ['new'], 1.0);
    expect([...supersededRows([c, a]).keys()]).toEqual([a]);
  });

  it('leave rows of other cases and of another compute class alone', () => {
    const a = variant(base[0], 'NVIDIA H100 80GB HBM3', '2026-12-05T10:00:00+00:00', ['old'], 2.0);
    const other = variant(base[1], H200, '2026-12-05T18:00:00+00:00', ['new'], 1.0);
    const b200 = variant(base[0], 'NVIDIA B200', '2026-12-05T18:00:00+00:00', ['new'], 1.0);
    expect(supersededRows([a, other, b200]).size).toBe(0);
  });
});
