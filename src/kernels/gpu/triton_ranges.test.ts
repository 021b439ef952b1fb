// triton_ranges' planning per head dim (issue 13, thirteenth pass): which head dims it takes, and the
// tuning each class gets (python triton_ranges.Lists reads the same classes for CP steps).
import { describe, expect, it } from 'vitest';
import { adapt } from '../../mask/adapters/index.js';
import { gridMask } from '../../mask/testing.js';
import { RANGES_HEAD_DIMS, RANGES_MEASURED_HEAD_DIMS, rangesHeadDimColumns, rangesRefusal, rangesTuning, tritonRanges } from './triton_ranges.js';

const shape = (headDim: number, headsQ = 64, headsKv = 8) => ({ headsQ, headsKv, headDim, dtype: 'bfloat16' });
const HEADS = [[64, 8], [8, 1], [4, 4], [12, 4]] as const;

describe('triton_ranges head dims', () => {
  it('takes every multiple of 8 from 16 to 256 and refuses the rest with the reason', () => {
    expect(RANGES_HEAD_DIMS).toHaveLength(31);
    for (let d = 1; d <= 300; d++) {
      const takes = d % 8 === 0 && d >= 16 && d <= 256;
      expect(RANGES_HEAD_DIMS.includes(d), `d ${d}`).toBe(takes);
      expect(rangesRefusal(shape(d)) === null, `d ${d}`).toBe(takes);
      expect(rangesTuning(shape(d), 128) !== null, `d ${d}`).toBe(takes);
      if (!takes) expect(rangesRefusal(shape(d))).toContain(`head_dim a multiple of 8 from 16 to 256, not ${d}`);
    }
    expect(RANGES_MEASURED_HEAD_DIMS).toEqual([64, 128]);
  });

  it('a tile has the power of two of columns >= d (padded dims masked inside the kernel)', () => {
    expect([16, 24, 32, 48, 64, 80, 96, 120, 128, 136, 192, 256].map(rangesHeadDimColumns)).toEqual([16, 32, 32, 64, 64, 128, 128, 128, 128, 256, 256, 256]);
  });

  it('64 and 128 keep their measured tuning; 16..56 take 64\'s (16..32 with 32-row partial / 32-key dQ steps); 72..120 take 128\'s with no-spill 32 / 16-row dK/dV steps; > 128 the HUGE tuning', () => {
    for (const [hq, hkv] of HEADS)
      for (const block of [128, 64]) {
        const at = (d: number) => rangesTuning(shape(d, hq, hkv), block);
        const d64 = at(64);
        const d128 = at(128);
        if (!d64 || !d128) throw new Error('64 / 128 refused');
        expect('bwdSeparate' in d64.tuning || 'bwdSeparate' in d128.tuning).toBe(false); // the d 64 / 128 lists and jobs stay byte-identical
        for (const d of RANGES_HEAD_DIMS) {
          const t = at(d);
          if (!t) throw new Error(`d ${d} refused`);
          expect({ tileQ: t.tileQ, tileK: t.tileK }).toEqual({ tileQ: d128.tileQ, tileK: d128.tileK }); // tiles do not depend on d
          if (d <= 32) {
            // NARROW: d 64's tuning with 32-row partial dK/dV steps (the 64-row class keeps its own)
            const narrow = block === 64 && hq / hkv <= 1 ? {} : { bwdSubMPart: 32 };
            expect(t).toEqual({ ...d64, tuning: { ...d64.tuning, ...narrow } });
          } else if (d <= 64) {
            expect(t).toEqual(d64);
            expect(t.tuning.dqSubN).toBe(32); // 32-key dQ steps at d <= 64 (H100 call29)
          } else if (d < 128) {
            const steps = hq === hkv ? 16 : 32;
            expect(t.tuning).toEqual({ ...d128.tuning, bwdSubM: steps, bwdSubMPart: steps });
            expect(t.shortLoops ?? t.partialSteps).toBeUndefined(); // the list rules were measured at d 128 only
          } else if (d === 128) {
            expect(t).toEqual(d128);
          } else {
            expect(t.tuning).toMatchObject({ fwdSubN: 32, fwdWarps: 8, fwdStages: 3, bwdKeys: 64, bwdSubM: 32, bwdSubMPart: 32, bwdSeparate: 0, bwdFused: 0, bwdStages: 2, dqSubN: 32 });
            expect('fwdGather' in t.tuning).toBe(false); // the 64-row class's keys are d <= 128 only
            const rest = { fwdSubN: 0, fwdWarps: 0, fwdGather: undefined, bwdKeys: 0, bwdSubM: 0, bwdSubMPart: 0, bwdWarps: 0, bwdStages: 0, bwdPackLse: 0, bwdSeparate: undefined, bwdFused: 0, dqSubN: 0 };
            expect({ ...t.tuning, ...rest }).toEqual({ ...d128.tuning, ...rest });
            expect(t.shortLoops ?? t.partialSteps).toBeUndefined();
          }
        }
      }
  });

  it('through adapt(): a padded head dim is planned with its tuning, a refused one is unsupported', () => {
    const m = gridMask(64, 64, [32], [32], ['causal', null, 'full', 'causal']);
    const ok = adapt(m, 'ranges', tritonRanges.adaptOptions(shape(96, 8, 2), 128));
    expect(ok.kind).toBe('ok');
    if (ok.kind === 'ok') expect(ok.value.tuning).toMatchObject({ pack: 4, bwdSubM: 32, bwdFused: 1 });
    const huge = adapt(m, 'ranges', tritonRanges.adaptOptions(shape(192, 8, 2), 128));
    if (huge.kind !== 'ok') throw new Error('192 refused');
    expect(huge.value.tuning).toMatchObject({ bwdSeparate: 0, fwdSubN: 32 });
    const no = adapt(m, 'ranges', tritonRanges.adaptOptions(shape(100, 8, 2), 128));
    expect(no.kind).toBe('unsupported');
  });

  it('64-row programs (64-blocks without packing, d <= 128) take one warpgroup, the gathered forward and 16-row dK/dV steps; the forward launches in plain LPT order everywhere', () => {
    for (const [hq, hkv] of [[4, 4], [1, 1], [64, 8], [8, 2], [16, 2]] as const)
      for (const d of [64, 96, 128, 256])
        for (const block of [64, 128]) {
          const t = rangesTuning(shape(d, hq, hkv), block);
          if (!t) throw new Error('refused');
          const rows = t.tileQ * (hq / hkv);
          const cls = block === 64 && rows <= 64 && d <= 128;
          if (block === 64) expect(rows === 64, `${hq}:${hkv}`).toBe(hq === hkv);
          const want = { fwdWarps: 4, fwdGather: 2, bwdWarps: 4, bwdSubM: 16, bwdSubMPart: 16, dqSubN: 32 };
          if (cls) expect(t.tuning).toMatchObject(want);
          else expect(t.tuning.fwdGather, `${hq}:${hkv} d ${d} block ${block}`).toBeUndefined();
          expect(t.tuning.lptLaunch).toBe(2);
        }
  });
});
