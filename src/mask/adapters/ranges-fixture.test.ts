// The committed fixture of python/tests/test_triton_ranges.py is what the adapter builds today.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rangesTuning } from '../../kernels/gpu/triton_ranges.js';
import { DESCRIPTOR_D128_GQA8, DESCRIPTOR_D64_MHA, RANGES_FIXTURE_PATH, rangesFixture } from './ranges-fixture.js';

describe('ranges fixture for the python kernel test', () => {
  it('matches the adapter (ATTNBENCH_UPDATE_FIXTURES=1 rewrites it)', () => {
    const text = JSON.stringify(rangesFixture()) + '\n';
    if (process.env.ATTNBENCH_UPDATE_FIXTURES === '1') fs.writeFileSync(RANGES_FIXTURE_PATH, text);
    expect(fs.readFileSync(RANGES_FIXTURE_PATH, 'utf8')).toBe(text);
  });

  it("the descriptor cases carry the descriptor's tiles and tuning", () => {
    for (const c of [DESCRIPTOR_D128_GQA8, DESCRIPTOR_D64_MHA]) {
      const t = rangesTuning({ headsQ: c.hq, headsKv: c.hkv, headDim: c.d, dtype: 'bfloat16' }, 0);
      expect({ tileQ: c.tileQ, tileK: c.tileK, tuning: c.tuning }).toEqual(t);
    }
  });
});
