// The committed fixture of python/tests/test_triton_ranges.py is what the adapter builds today.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rangesTuning } from '../../kernels/gpu/triton_ranges.js';
import { STEP_TILES_Q } from '../../worker/ranges-args.js';
import { DESCRIPTOR_SHAPES, RANGES_FIXTURE_PATH, rangesFixture, stepTileQ } from './ranges-fixture.js';

describe('ranges fixture for the python kernel test', () => {
  it('matches the adapter (ATTNBENCH_UPDATE_FIXTURES=1 rewrites it)', () => {
    const text = JSON.stringify(rangesFixture()) + '\n';
    if (process.env.ATTNBENCH_UPDATE_FIXTURES === '1') fs.writeFileSync(RANGES_FIXTURE_PATH, text);
    expect(fs.readFileSync(RANGES_FIXTURE_PATH, 'utf8')).toBe(text);
  });

  it("the descriptor cases carry the descriptor's tiles and tuning", () => {
    for (const c of DESCRIPTOR_SHAPES) {
      const t = rangesTuning({ headsQ: c.hq, headsKv: c.hkv, headDim: c.d, dtype: 'bfloat16' }, c.block ?? 0);
      expect({ tileQ: c.tileQ, tileK: c.tileK, tuning: c.tuning }).toEqual({ tileQ: t?.tileQ, tileK: t?.tileK, tuning: t?.tuning });
      // the shape-class tuning above; split forward tiles on short key loops are chosen from the list
      // (shortLoops) only at d 128 with 128-row tiles (the python test runs split tiles on every case)
      expect(t?.shortLoops !== undefined).toBe(c.d === 128 && c.tileQ * c.tuning.pack === 128);
      expect(t?.partialSteps !== undefined).toBe(c.d === 128 && c.tileQ * c.tuning.pack === 128); // the gathered forward (fwdGather), same class
    }
  });

  it('the step tile rule: 128 / pack rounded to the worker\'s step tiles, at most 128 rows', () => {
    expect([1, 2, 3, 4, 5, 6, 8, 16].map(stepTileQ)).toEqual([128, 64, 32, 32, 16, 16, 16, 16]);
    for (const p of [1, 2, 3, 4, 5, 6, 7, 8]) expect(STEP_TILES_Q).toContain(stepTileQ(p));
  });
});
