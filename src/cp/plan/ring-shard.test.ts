import { describe, expect, it } from 'vitest';
import { AttnbenchError } from '../../errors.js';
import { generateMask } from '../../mask/families/index.js';
import type { Range } from '../../mask/types.js';
import { checkPlan } from '../check.js';
import { planStats, summarizeStats } from '../stats.js';
import type { CpShape, Plan } from '../types.js';
import { AreaIndex, mergeSorted, rangesLength } from './area.js';
import { documentUnits } from './doc-place.js';
import { planCp, sharedMask } from './index.js';
import { MAX_RING_PAIRS, ringPairEstimate, splitTokens } from './ring-shard.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

/** Largest slice count of one attention step's mask, over every rank and step. */
const maxStepSlices = (plan: Plan) => {
  let m = 0;
  for (const r of plan.ranks) for (const s of [...r.forward, ...r.backward]) if (s.kind === 'attn' || s.kind === 'attn_bwd') m = Math.max(m, s.mask.slices.length);
  return m;
};

describe('splitTokens', () => {
  it('cuts sorted ranges into consecutive parts of equal tokens, keeping every token once', () => {
    const rs: Range[] = [
      { start: 0, end: 5 },
      { start: 10, end: 13 },
      { start: 20, end: 30 },
    ];
    const parts = splitTokens(rs, 3);
    expect(parts.map(rangesLength)).toEqual([6, 6, 6]);
    expect(mergeSorted(parts.flat())).toEqual(rs);
    expect(parts[0]).toEqual([
      { start: 0, end: 5 },
      { start: 10, end: 11 },
    ]);
    expect(splitTokens([{ start: 0, end: 7 }], 2).map(rangesLength)).toEqual([3, 4]);
  });
});

describe('doc_zigzag for usp / loongtrain: shards at the ring level', () => {
  const S = 16 * 4096;
  const mask = sharedMask(generateMask('causal_document', S, { seed: 0 }));
  const docs = documentUnits(new AreaIndex(mask), 0).length;

  it.each([
    ['usp', { ulysses: 4, ring: 4, sharding: 'doc_zigzag' }],
    ['loongtrain', { hp: 4, cp: 4, window: 2, sharding: 'doc_zigzag' }],
    ['loongtrain', { hp: 4, cp: 4, window: 2, placement: 'head_first', sharding: 'doc_zigzag' }],
  ] as const)('%s %j: a step mask holds a few slices per document (was (2U)^2), balanced, checker ok', (scheme, layout) => {
    const plan = planCp(scheme, mask, 16, layout, SHAPE);
    // A context group holds 2 pieces of each document after the all-to-all: a step's mask has at
    // most 2 x 2 range pairs per document (cutting into 2P pieces gave 8 x 8).
    expect(maxStepSlices(plan)).toBeLessThanOrEqual(4 * docs);
    expect(summarizeStats(planStats(plan)).imbalance).toBeLessThanOrEqual(1.1);
    expect(checkPlan(plan, mask)).toEqual([]);
  });

  it('each rank holds S/P tokens (to one token)', () => {
    const plan = planCp('usp', mask, 16, { ulysses: 4, ring: 4, sharding: 'doc_zigzag' }, SHAPE);
    const toks = plan.ranks.map((r) => rangesLength(r.owned));
    expect(Math.max(...toks) - Math.min(...toks)).toBeLessThanOrEqual(1 + Math.max(...toks) / 100);
  });
});

describe('ring plans too large to build are refused before building them', () => {
  it('estimates range pairs as the sum over documents of (ranges overlapping it)^2', () => {
    const units: Range[] = [
      { start: 0, end: 10 },
      { start: 10, end: 20 },
    ];
    // Group 0: [0,3) [8,12) -> doc 0 twice, doc 1 once; group 1: [3,8) [12,20) -> each once.
    expect(ringPairEstimate(units, [[{ start: 0, end: 3 }, { start: 8, end: 12 }], [{ start: 3, end: 8 }, { start: 12, end: 20 }]])).toBe(3 * 3 + 2 * 2);
  });

  it('ring_p2p doc_zigzag at 512 ranks on 128k tokens: bad input (exit 2) naming the estimate', () => {
    const mask = sharedMask(generateMask('causal_document', 512 * 256, { seed: 0 }));
    let err: unknown;
    try {
      planCp('ring_p2p', mask, 512, { sharding: 'doc_zigzag' }, SHAPE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AttnbenchError);
    expect((err as AttnbenchError).exit).toBe(2);
    expect((err as Error).message).toMatch(/range pairs.*sharding=zigzag/);
    expect(MAX_RING_PAIRS).toBeLessThan(1e8);
  });
});
