import { describe, expect, it } from 'vitest';
import { generateMask } from '../../mask/families/index.js';
import type { Mask, Range } from '../../mask/types.js';
import { checkPlan } from '../check.js';
import { planStats, summarizeStats } from '../stats.js';
import type { CpShape, Plan } from '../types.js';
import { AreaIndex, mergeSorted, rangesLength } from './area.js';
import { docZigzagShards, documentUnits, placeDocuments } from './doc-place.js';
import { planCp, sharedMask } from './index.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

/** The docs' boundaries as ranges. */
function docRanges(lens: readonly number[]): Range[] {
  let a = 0;
  return lens.map((l) => ({ start: a, end: (a += l) }));
}

function expectPartition(owned: readonly (readonly Range[])[], S: number): void {
  const all = mergeSorted(owned.flat());
  expect(all).toEqual([{ start: 0, end: S }]);
  expect(owned.reduce((n, o) => n + rangesLength(o), 0)).toBe(S);
}

const attnSteps = (plan: Plan, dir: 'forward' | 'backward') =>
  Math.max(...plan.ranks.map((r) => r[dir].filter((s) => s.kind === 'attn' || s.kind === 'attn_bwd').length));

describe('documentUnits: documents read off the mask', () => {
  it.each(['causal_document', 'full_document', 'prefix_lm_document', 'block_causal_document'])('%s: one unit per document', (family) => {
    const gm = generateMask(family, 16384, { seed: 4 });
    expect(documentUnits(new AreaIndex(sharedMask(gm)))).toEqual(docRanges(gm.docLens!));
  });

  it('share_question: question and answers apart at maxArea 0, merged while they fit', () => {
    const gm = generateMask('share_question', 16384, { seed: 4 });
    const idx = new AreaIndex(sharedMask(gm));
    expect(documentUnits(idx, 0)).toEqual(docRanges(gm.docLens!));
    const merged = documentUnits(idx);
    expect(merged).toEqual([{ start: 0, end: 16384 }]);
  });

  it('causal_blockwise: the last document is a unit of its own (it reads every earlier key remotely)', () => {
    const gm = generateMask('causal_blockwise', 16384, { seed: 4 });
    expect(documentUnits(new AreaIndex(sharedMask(gm)), 0)).toEqual(docRanges(gm.docLens!));
  });

  it('causal and full: a single unit; untied tokens make their own units', () => {
    expect(documentUnits(new AreaIndex(sharedMask(generateMask('causal', 4096, { seed: 0 }))))).toEqual([{ start: 0, end: 4096 }]);
    const gaps: Mask = { seqlenQ: 10, seqlenK: 10, slices: [{ qStart: 2, qEnd: 5, kStart: 2, kEnd: 5, kind: 'causal' }] };
    expect(documentUnits(new AreaIndex(gaps))).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 5 },
      { start: 5, end: 10 },
    ]);
  });
});

describe('docZigzagShards', () => {
  it('cuts every document into 2P pieces, rank r owning pieces r and 2P-1-r of each', () => {
    const units = [
      { start: 0, end: 80 },
      { start: 80, end: 85 },
      { start: 85, end: 165 },
    ];
    const owned = docZigzagShards(units, 4);
    expectPartition(owned, 165);
    // 80-token documents: 8 pieces of 10.
    const holds = (r: number, x: Range) => owned[r].some((o) => o.start <= x.start && o.end >= x.end);
    expect(holds(0, { start: 0, end: 10 }) && holds(0, { start: 70, end: 80 })).toBe(true);
    expect(holds(3, { start: 30, end: 50 })).toBe(true);
    expect(holds(1, { start: 95, end: 105 }) && holds(1, { start: 145, end: 155 })).toBe(true);
    expect(holds(1, { start: 85, end: 95 })).toBe(false);
    // Token counts stay within one short document of each other.
    const toks = owned.map(rangesLength);
    expect(Math.max(...toks) - Math.min(...toks)).toBeLessThanOrEqual(5);
  });

  it('ring_p2p doc_zigzag balances causal_document at P = 8, 64k (target <= 1.10; plain zigzag does not)', () => {
    const mask = sharedMask(generateMask('causal_document', 65536, { seed: 0 }));
    const dz = planCp('ring_p2p', mask, 8, {}, SHAPE);
    expect(dz.layout.sharding).toBe('doc_zigzag');
    expect(summarizeStats(planStats(dz)).imbalance).toBeLessThanOrEqual(1.1);
    expect(summarizeStats(planStats(planCp('ring_p2p', mask, 8, { sharding: 'zigzag' }, SHAPE))).imbalance).toBeGreaterThan(1.5);
  });

  it('non-document masks keep zigzag by default', () => {
    const mask = sharedMask(generateMask('causal', 8192, { seed: 0 }));
    expect(planCp('ring_p2p', mask, 4, {}, SHAPE).layout.sharding).toBe('zigzag');
  });
});

describe('placeDocuments', () => {
  const mask = sharedMask(generateMask('causal_document', 65536, { seed: 0 }));
  const idx = new AreaIndex(mask);

  it('partitions the sequence, keeps the area within the target and the tokens within the cap', () => {
    for (const split of ['fill', 'zigzag'] as const) {
      const d = placeDocuments(idx, 8, { cap: 1.5 * 8192, target: 1.05, split });
      expectPartition(d.owned, 65536);
      const mean = d.loads.reduce((a, b) => a + b, 0) / 8;
      expect(Math.max(...d.loads) / mean).toBeLessThanOrEqual(1.05);
      for (const o of d.owned) expect(rangesLength(o)).toBeLessThanOrEqual(1.5 * 8192);
    }
  });

  it('splits only documents balance cannot absorb: every small document stays whole on one rank', () => {
    const d = placeDocuments(idx, 8, { cap: 1.5 * 8192, target: 1.05, split: 'fill' });
    const units = documentUnits(idx, 0);
    const mean = d.loads.reduce((a, b) => a + b, 0) / 8;
    const owner = (u: Range) => d.owned.filter((o) => o.some((x) => x.start < u.end && x.end > u.start)).length;
    const splitUnits = units.filter((u) => owner(u) > 1);
    // Documents larger than a rank must split; the repair step may cut at most a few more.
    const large = units.filter((u) => idx.rectArea(u.start, u.end, 0, 65536) > mean).length;
    expect(splitUnits.length).toBeLessThanOrEqual(large + 8);
    expect(units.length - splitUnits.length).toBeGreaterThan(0.9 * units.length);
  });
});

describe('dispatch sharding=documents against the granule placement (issue 14)', () => {
  it.each(['causal_document', 'full_document'])('%s, P = 8, 64k: fewer bytes, <= 2 attention steps per direction, imbalance <= 1.05, checker passes', (family) => {
    const m = sharedMask(generateMask(family, 65536, { seed: 0 }));
    const docs = planCp('dispatch', m, 8, {}, SHAPE);
    const old = planCp('dispatch', m, 8, { sharding: 'granules' }, SHAPE);
    expect(docs.layout.sharding).toBe('documents');
    expect(old.layout.sharding).not.toBe('documents');
    const sd = summarizeStats(planStats(docs));
    const so = summarizeStats(planStats(old));
    expect(sd.imbalance).toBeLessThanOrEqual(1.05);
    expect(sd.bytesFwd).toBeLessThan(0.8 * so.bytesFwd);
    expect(attnSteps(docs, 'forward')).toBeLessThanOrEqual(2);
    expect(attnSteps(docs, 'backward')).toBeLessThanOrEqual(2);
    expect(checkPlan(docs, m)).toEqual([]);
    expect(planCp('dispatch', m, 8, docs.layout, SHAPE)).toEqual(docs);
  });

  it('masks without documents keep the granule placement by default', () => {
    const m = sharedMask(generateMask('causal', 65536, { seed: 0 }));
    expect(planCp('dispatch', m, 8, {}, SHAPE).layout.sharding).not.toBe('documents');
  });
});
