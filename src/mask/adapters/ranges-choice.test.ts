// triton_ranges on 64-blocks: its own tiles or 128-key tiles, the cheaper by the lists' estimate
// (./ranges-choice.ts); ATTNBENCH_RANGES_TILES forces either. The kept lists are exactly the ones
// the picked tiles build (so every list invariant of ./ranges.test.ts holds for them).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RANGES_TILES_ENV, tritonRanges } from '../../kernels/gpu/triton_ranges.js';
import { generateMask } from '../families/index.js';
import { listCost, pickTiles } from './ranges-choice.js';
import { toRanges } from './ranges.js';
import type { RangesValue } from './types.js';

const SHAPES = [
  { headsQ: 64, headsKv: 8, headDim: 128, dtype: 'bfloat16' as const },
  { headsQ: 4, headsKv: 4, headDim: 128, dtype: 'bfloat16' as const },
];

function lists(s: number, shape: (typeof SHAPES)[number]) {
  const g = generateMask('block_sparse', 2048, { seed: 1, params: { block: 64, s, kvHeads: shape.headsKv } });
  const opts = tritonRanges.adaptOptions(shape, 64);
  const r = toRanges(g.heads, opts);
  if (r.kind !== 'ok') throw new Error(r.reason);
  return { g, opts, v: r.value };
}

const withoutChoice = (v: RangesValue) => {
  const { tileChoice: _, ...rest } = v;
  return rest;
};

afterEach(() => vi.unstubAllEnvs());

describe('triton_ranges tiles for 64-blocks', () => {
  it.each(SHAPES)('every block kept: 128-key tiles (their full tiles are faster); few kept: the blocks own tiles (%o)', (shape) => {
    const dense = lists(1, shape).v;
    expect(dense.tileK).toBe(128);
    expect(dense.tileChoice?.picked).toBe('other');
    expect(dense.fwd.partialTiles + dense.bwd.partialTiles).toBe(0);
    const sparse = lists(0.1, shape).v;
    expect(sparse.tileK).toBe(64);
    expect(sparse.tileChoice?.picked).toBe('block');
    expect(sparse.tileChoice!.cost.block).toBeLessThan(sparse.tileChoice!.cost.other);
  });

  it('the kept lists are the ones the picked tiles build', () => {
    for (const s of [0.1, 0.5, 0.8, 1]) {
      const { g, opts, v } = lists(s, SHAPES[0]);
      const alt = opts.ranges!.alternative!;
      const { alternative: _, ...own } = opts.ranges!;
      const direct = toRanges(g.heads, { ranges: v.tileChoice!.picked === 'other' ? alt.tiles : own });
      expect(direct.kind).toBe('ok');
      if (direct.kind === 'ok') expect(withoutChoice(v)).toEqual(direct.value);
    }
  });

  it('ATTNBENCH_RANGES_TILES forces either tiles (no estimate recorded)', () => {
    vi.stubEnv(RANGES_TILES_ENV, 'block');
    const block = lists(1, SHAPES[0]).v;
    expect([block.tileK, block.tileChoice]).toEqual([64, undefined]);
    vi.stubEnv(RANGES_TILES_ENV, '128');
    const wide = lists(0.1, SHAPES[0]).v;
    expect([wide.tileK, wide.tileChoice]).toEqual([128, undefined]);
  });

  it('128-blocks and dense families have no alternative', () => {
    expect(tritonRanges.adaptOptions(SHAPES[0], 128).ranges?.alternative).toBeUndefined();
  });
});

describe('listCost', () => {
  it('partial work costs more than full work of the same area, and speed divides each direction', () => {
    const { v } = lists(1, SHAPES[0]);
    const P = { fwd: 3, bwd: 2 };
    const base = listCost(v, { fwd: 1, bwd: 1 }, P);
    expect(listCost(v, { fwd: 2, bwd: 2 }, P)).toBeCloseTo(base / 2, 6);
    // the backward weighs 2.5x the forward: doubling its speed saves more than doubling the forward's
    expect(listCost(v, { fwd: 1, bwd: 2 }, P)).toBeLessThan(listCost(v, { fwd: 2, bwd: 1 }, P));
    const half = lists(0.5, SHAPES[0]);
    const wide = toRanges(half.g.heads, { ranges: half.opts.ranges!.alternative!.tiles });
    if (wide.kind !== 'ok') throw new Error(wide.reason);
    expect(wide.value.bwd.partialTiles).toBeGreaterThan(0);
    // the same computed area as all-full tiles would cost less
    const asFull = { ...wide.value, bwd: { ...wide.value.bwd, fullTiles: wide.value.bwd.fullTiles + wide.value.bwd.partialTiles, partialTiles: 0 } };
    expect(listCost(asFull, { fwd: 1, bwd: 1 }, P)).toBeLessThan(listCost(wide.value, { fwd: 1, bwd: 1 }, P));
  });

  it('pickTiles keeps the block tiles on a tie', () => {
    const { v } = lists(1, SHAPES[0]);
    expect(pickTiles(v, v, { speed: { fwd: 1, bwd: 1 }, partial: { fwd: 1, bwd: 1 } }).picked).toBe('block');
  });
});
