import { describe, expect, it } from 'vitest';
import { DENSE_FAMILIES, generateMask } from '../../mask/families/index.js';
import { checkPlan } from '../check.js';
import { planStats, summarizeStats } from '../stats.js';
import type { CpShape } from '../types.js';
import { planCp, sharedMask } from './index.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };
const DOCUMENT_FAMILIES: readonly string[] = DENSE_FAMILIES.filter((f) => f.includes('document') || f === 'share_question' || f === 'causal_blockwise');

describe('dispatch: balance and bytes (the issue targets, P = 8, S = 64k)', () => {
  it.each(DENSE_FAMILIES)('%s: imbalance <= 1.05, no more bytes than ring_p2p on documents', (family) => {
    const mask = sharedMask(generateMask(family, 65536, { seed: 1 }));
    const d = planCp('dispatch', mask, 8, {}, SHAPE);
    const sd = summarizeStats(planStats(d));
    expect(sd.imbalance).toBeLessThanOrEqual(1.05);
    if (DOCUMENT_FAMILIES.includes(family)) {
      const sr = summarizeStats(planStats(planCp('ring_p2p', mask, 8, {}, SHAPE)));
      expect(sd.bytesFwd).toBeLessThanOrEqual(sr.bytesFwd);
      expect(sd.bytesBwd).toBeLessThanOrEqual(sr.bytesBwd);
    }
  });

  it('gives back a layout that reproduces the plan', () => {
    const mask = sharedMask(generateMask('causal_blockwise', 65536, { seed: 2 }));
    const a = planCp('dispatch', mask, 8, {}, SHAPE);
    const b = planCp('dispatch', mask, 8, a.layout, SHAPE);
    expect(b.ranks.map((r) => r.owned)).toEqual(a.ranks.map((r) => r.owned));
    expect(checkPlan(b, mask, { skipCoverage: false })).toEqual([]);
  });
});
