import { describe, expect, it } from 'vitest';
import { DENSE_FAMILIES, generateMask } from '../../mask/families/index.js';
import { checkPlan } from '../check.js';
import { planStats, summarizeStats } from '../stats.js';
import type { CpShape, Plan } from '../types.js';
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

describe('dispatch pattern (issue 14: dense masks without documents take the cheapest form)', () => {
  it('causal at P = 64: the pattern the cost model prefers (here the ring: loongtrain\'s plan under dispatch\'s name), replayed by its layout; documents and given layouts keep dispatch\'s own', () => {
    const shape: CpShape = { headsQ: 16, headsKv: 8, headDim: 16, dtypeBytes: 2 };
    const mask = sharedMask(generateMask('causal', 64 * 128, { seed: 0 }));
    const ringCheapest = { cost: (p: Plan) => (p.layout.pattern === 'ring' ? 1 : 2) };
    const never = { cost: (): number => { throw new Error('cost model called'); } };
    const p = planCp('dispatch', mask, 64, {}, shape, ringCheapest);
    expect(p.scheme).toBe('dispatch');
    expect(p.layout).toEqual({ pattern: 'ring' });
    const lt = planCp('loongtrain', mask, 64, {}, shape);
    expect(p.ranks).toEqual(lt.ranks);
    expect(p.groups).toEqual(lt.groups);
    expect(planCp('dispatch', mask, 64, p.layout, shape, never)).toEqual(p);
    expect(checkPlan(p, mask)).toEqual([]);
    // The cost model decides: the same request with own cheapest gives dispatch's own plan.
    expect(planCp('dispatch', mask, 64, {}, shape, { cost: (x: Plan) => (x.layout.pattern === undefined ? 1 : 2) }).layout.pattern).toBeUndefined();
    // Any layout given, or a document mask: dispatch's own plan, whatever the cost model says.
    expect(planCp('dispatch', mask, 64, { exchange: 'relay' }, shape, never).layout.pattern).toBeUndefined();
    expect(planCp('dispatch', sharedMask(generateMask('causal_document', 64 * 128, { seed: 0 })), 64, {}, shape, ringCheapest).layout.pattern).toBeUndefined();
    expect(() => planCp('dispatch', mask, 64, { pattern: 'ring', node: 4 }, shape)).toThrow(/does not apply with pattern=ring/);
    expect(planCp('dispatch', mask, 64, { pattern: 'own' }, shape).layout.pattern).toBeUndefined();
  });
});
