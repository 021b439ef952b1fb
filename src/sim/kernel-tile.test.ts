// Block-table kernels on block masks with blocks under 128 tokens work in those blocks (issue 15):
// the calibrate preset's block_sparse rows with 64-token blocks are whole 64 x 64 tiles to flex and
// triton_blocksparse ("no partial blocks" in their notes), and partial 128 x 128 tiles to the model
// before this rule. Masks from the real family generator.
import { describe, expect, it } from 'vitest';
import { syntheticRow } from '../report/fixtures.js';
import { kernelTile, observe } from './calibrate.js';
import { BLOCK_SIZE } from './kernel-model.js';
import { rowMask } from './sources.js';

const row = (kernel: string, block: number) =>
  syntheticRow({ kernel, family: 'block_sparse', seqlen: 4096, maskParams: { block, s: 0.2 }, suite: 'sparse', headsQ: 4, headsKv: 4 });

describe('the tile a block-table kernel works in', () => {
  it("is the mask's own block under 128 for flex / triton_blocksparse / triton_ranges, else 128", () => {
    expect(kernelTile(row('flex', 64))).toBe(64);
    expect(kernelTile(row('triton_blocksparse', 64))).toBe(64);
    expect(kernelTile(row('triton_ranges', 32))).toBe(32);
    expect(kernelTile(row('flex', 128))).toBe(BLOCK_SIZE);
    expect(kernelTile(row('sdpa_cudnn', 64))).toBe(BLOCK_SIZE);
    expect(kernelTile(row('flex', 48))).toBe(BLOCK_SIZE); // not a divisor of 128: stays on the default grid
    expect(kernelTile(syntheticRow({ kernel: 'flex', family: 'causal' }))).toBe(BLOCK_SIZE);
  });

  it("takes triton_ranges' 128-key tiles on 64-blocks from its notes (the tile choice), its own blocks otherwise", () => {
    const note = (keys: number) => [`ranges tiles 16 tok x 8 heads = 128 rows x ${keys} keys; fwd 1 full + 0 partial tiles`];
    expect(kernelTile({ ...row('triton_ranges', 64), notes: note(128) })).toBe(BLOCK_SIZE);
    expect(kernelTile({ ...row('triton_ranges', 64), notes: note(64) })).toBe(64);
  });

  it('counts a 64-token block mask as whole tiles for those kernels, as partial 128 x 128 tiles for the others', () => {
    // flex's note as the worker writes it for a block mask without partial blocks (its path: flex, flex-form.ts)
    const flexRow = { ...row('flex', 64), notes: ['BlockMask from block table (no partial blocks)'] };
    const { observations, skipped } = observe([flexRow, row('sdpa_cudnn', 64)], rowMask);
    expect(skipped).toEqual([]);
    const flex = observations.find((o) => o.kernel === 'flex')!;
    const other = observations.find((o) => o.kernel !== 'flex')!;
    expect(flex.call.profile.partial).toBe(0);
    expect(flex.call.profile.full).toBeGreaterThan(0);
    expect(flex.call.profile.items).toBe(4096 / 64);
    expect(other.call.profile.partial).toBeGreaterThan(0);
    // the same unmasked pairs either way
    expect(flex.call.profile.full).toBeLessThanOrEqual(other.call.profile.full + other.call.profile.partial);
  });
});
