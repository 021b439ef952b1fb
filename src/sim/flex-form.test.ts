// flex's mask_mod form is part of its identity in the kernel model: rows that ran the slice predicate
// are `flex@slices`, rows on per-row key ranges (and rows with no partial blocks) are `flex`.
// Test data only (synthetic rows; the note strings are the worker's, python kernels/flex.py).
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../results/schema.js';
import { calibrate, groupKey, hostPath, kernelPath, kernelTile, observe, supersededRows } from './calibrate.js';
import { FLEX_DEFAULT_NOTE, flexCoarse, flexMaskForm } from './flex-form.js';
import { hostBoundRows } from './host-time.js';
import { rowMask } from './sources.js';
import { syntheticKernelRows } from './testing.js';

const ROWS = 'BlockMask from block table + mask_mod over per-row key ranges';
const SLICES_OLD = 'BlockMask from block table + slice mask_mod';
const SLICES_NEW = 'BlockMask from block table + mask_mod over the slice predicate';
const NONE = 'BlockMask from block table (no partial blocks)';
const BLOCKS = 'BlockMask from block table + mask_mod over a 64-token block bitmap on 128-token blocks';
// The coarse form with every 128-block all kept or all dropped (python kernels/flex.py build)
const COARSE_WHOLE = '64-token blocks on 128-token blocks (ATTNBENCH_FLEX_BLOCK)';
const NATIVE64 = "kernel tiles for 64x64 blocks: {'fwd_BLOCK_M': 64}";

function withNotes(rows: readonly ResultRow[], notes: string[], date: string, slower = 1): ResultRow[] {
  return rows.map((r) => {
    const ms = r.times!.medianMs * slower;
    return { ...r, notes, env: { ...r.env, date }, times: { medianMs: ms, p20Ms: ms, p80Ms: ms, samples: 20 } };
  });
}

describe("flex's mask form", () => {
  it('reads the form from the notes the worker writes (both spellings of the predicate; no note: the predicate)', () => {
    expect(flexMaskForm([ROWS])).toBe('rows');
    expect(flexMaskForm([SLICES_OLD])).toBe('slices');
    expect(flexMaskForm([SLICES_NEW])).toBe('slices');
    expect(flexMaskForm([NONE, 'kernel tiles for 64x64 blocks: {...}'])).toBe('none');
    expect(flexMaskForm([])).toBe('slices');
    expect(flexMaskForm(['BlockMask from block table'])).toBe('slices');
    expect(flexMaskForm([FLEX_DEFAULT_NOTE])).toBe('rows');
    expect(flexMaskForm([BLOCKS])).toBe('blocks');
  });

  it('makes predicate rows the path flex@slices and leaves other kernels and paths alone', () => {
    expect(kernelPath({ kernel: 'flex', notes: [ROWS] })).toBe('flex');
    expect(kernelPath({ kernel: 'flex', notes: [NONE] })).toBe('flex');
    expect(kernelPath({ kernel: 'flex', notes: [SLICES_OLD] })).toBe('flex@slices');
    expect(kernelPath({ kernel: 'flex', notes: [SLICES_NEW, 'expanded GQA K/V'] })).toBe('flex@slices');
    expect(kernelPath({ kernel: 'flex' })).toBe('flex@slices');
    expect(kernelPath({ kernel: 'triton_blocksparse', notes: [SLICES_OLD] })).toBe('triton_blocksparse');
    expect(kernelPath({ kernel: 'sdpa_flash', notes: ['via nested (jagged) tensors'] })).toBe('sdpa_flash@varlen');
  });

  it('keeps @slices and @coarse plain paths (their launch constant may be capped; not host time)', () => {
    expect(hostPath('flex@slices')).toBe(false);
    expect(hostPath('flex@coarse')).toBe(false);
    expect(hostPath('flex')).toBe(false);
    expect(hostPath('sdpa_flash@varlen')).toBe(true);
    expect(hostPath('sdpa_cudnn@dense')).toBe(true);
    expect(hostPath('flex@cp')).toBe(true);
  });

  it('puts a predicate row and a row-table row of the same case on different curves, neither superseding the other', () => {
    const base = syntheticKernelRows(rowMask, { kernel: 'flex', families: ['causal', 'causal_document', 'full_document'], seqlens: [4096, 8192, 16384, 32768] });
    // The same cases: the predicate run earlier and 1.8x slower, the row-table run later.
    const slices = withNotes(base, [SLICES_OLD], '2026-12-01T00:00:00Z', 1.8);
    const rows = withNotes(base, [ROWS], '2026-12-06T08:00:00Z');
    expect(supersededRows([...slices, ...rows]).size).toBe(0);
    const { observations, skipped } = observe([...slices, ...rows], rowMask);
    expect(skipped).toEqual([]);
    expect(observations).toHaveLength(2 * base.length);
    const one = observations.filter((o) => o.id === base[0].id);
    expect(one.map((o) => o.kernel).sort()).toEqual(['flex', 'flex@slices']);
    expect(groupKey(one[0])).not.toBe(groupKey(one[1]));
    const cal = calibrate(observations, {}, () => true);
    const curve = (k: string, d: string) => cal.curves.find((c) => c.kernel === k && c.direction === d);
    for (const d of ['fwd', 'bwd']) {
      expect(curve('flex', d)?.fitRows).toBe(base.length / 2);
      expect(curve('flex@slices', d)?.fitRows).toBe(base.length / 2);
    }
    // Each curve follows its own rows: the predicate's curve is the slower one.
    const o = observations.find((x) => x.kernel === 'flex' && x.family === 'causal_document' && x.seqlen === 32768 && x.call.direction === 'bwd')!;
    const slow = observations.find((x) => x.kernel === 'flex@slices' && x.id === o.id)!;
    expect(slow.ms / o.ms).toBeCloseTo(1.8, 6);
    // flex@slices is not a host path: no host-bound listing for it
    expect(hostBoundRows(cal, observations, 'h100').map((h) => h.kernel)).not.toContain('flex@slices');
  });

  it('still drops an earlier row of the same form whose notes changed (supersession within a path)', () => {
    const [a] = syntheticKernelRows(rowMask, { kernel: 'flex', families: ['causal'], seqlens: [4096] });
    const early = withNotes([a], [ROWS, 'kernel tiles for 64x64 blocks: old'], '2026-12-01T00:00:00Z');
    const late = withNotes([a], [ROWS, 'kernel tiles for 64x64 blocks: new'], '2026-12-06T00:00:00Z');
    expect([...supersededRows([...early, ...late]).keys()]).toEqual(early);
  });

  it("makes the coarse form (64-blocks on flex's 128 tiles) its own path, tiled in 128-blocks, apart from native 64-block rows", () => {
    expect(flexCoarse([BLOCKS])).toBe(true);
    expect(flexCoarse([NONE, COARSE_WHOLE])).toBe(true);
    expect(flexCoarse([NONE, NATIVE64])).toBe(false);
    expect(kernelPath({ kernel: 'flex', notes: [BLOCKS] })).toBe('flex@coarse');
    expect(kernelPath({ kernel: 'flex', notes: [NONE, COARSE_WHOLE] })).toBe('flex@coarse');
    expect(kernelPath({ kernel: 'flex', notes: [NONE, NATIVE64] })).toBe('flex');
    const [base] = syntheticKernelRows(rowMask, { kernel: 'flex', families: ['causal'], seqlens: [4096] });
    const sparse = { ...base, id: 'flex:block_sparse:4096:fwd:0', family: 'block_sparse', maskParams: { s: 0.3, block: 64 } };
    const native = withNotes([sparse], [NONE, NATIVE64], '2026-12-05T00:00:00Z')[0];
    const coarse = withNotes([sparse], [BLOCKS], '2026-12-06T00:00:00Z', 2)[0];
    expect(kernelTile(native)).toBe(64);
    expect(kernelTile(coarse)).toBe(128);
    expect(kernelTile({ ...coarse, kernel: 'triton_ranges' })).toBe(64);
    // Same case, two forms: both observed (the later coarse row does not supersede the native one)
    expect(supersededRows([native, coarse]).size).toBe(0);
    const { observations } = observe([native, coarse], rowMask);
    expect(observations.map((o) => o.kernel).sort()).toEqual(['flex', 'flex@coarse']);
    const n = observations.find((o) => o.kernel === 'flex')!;
    const c = observations.find((o) => o.kernel === 'flex@coarse')!;
    // Native: 64 x 64 tiles, each kept or dropped whole (no partial pairs); coarse: half the query
    // tiles, 128 x 128 blocks with some of their 64-blocks kept are partial.
    expect(n.call.profile.partial).toBe(0);
    expect(c.call.profile.partial).toBeGreaterThan(0);
    expect(c.call.profile.items).toBe(n.call.profile.items / 2);
    expect(c.call.profile.full + c.call.profile.partial).toBeGreaterThan(n.call.profile.full);
  });
});
