import { describe, expect, it } from 'vitest';
import { FAMILY_IDS, generateMask } from '../../mask/families/index.js';
import { maskArea } from '../../mask/slices.js';
import type { Range } from '../../mask/types.js';
import { checkPlan } from '../check.js';
import { planStats, summarizeStats } from '../stats.js';
import type { CpShape, Plan } from '../types.js';
import { rangesLength } from './area.js';
import { nodeOrder } from './doc-nodes.js';
import { planCp, sharedMask } from './index.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

/** Tokens each rank receives from ranks on other nodes of G (the forward fetch). */
function interNodeTokens(plan: Plan, G: number): number[] {
  return plan.ranks.map((rp) => {
    const bufs = new Map(rp.buffers.map((b) => [b.name, b]));
    let n = 0;
    for (const s of rp.forward) {
      if (s.kind !== 'p2p') continue;
      for (const o of s.ops) if (o.op === 'recv' && Math.floor(o.peer / G) !== Math.floor(rp.rank / G)) n += rangesLength(bufs.get(o.buf)!.tokens);
    }
    return n;
  });
}

describe('nodeOrder: sets that exchange most share a node', () => {
  it('groups two interleaved cliques of 4 into nodes of 4 and returns a permutation', () => {
    // Sets 0,2,4,6 fetch from each other (100 tokens), as do 1,3,5,7; 0 and 1 exchange a little.
    const need: Map<number, Range[]>[] = Array.from({ length: 8 }, () => new Map());
    for (let a = 0; a < 8; a++) for (let b = 0; b < 8; b++) if (a !== b && a % 2 === b % 2) need[a].set(b, [{ start: 0, end: 100 }]);
    need[0].set(1, [{ start: 0, end: 5 }]);
    const perm = nodeOrder(need, 4);
    expect([...perm].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const nodes = [perm.slice(0, 4), perm.slice(4)].map((n) => n.map((x) => x % 2));
    for (const n of nodes) expect(new Set(n).size).toBe(1);
  });

  it('leaves the order alone with one node or nodes of one GPU', () => {
    const need: Map<number, Range[]>[] = Array.from({ length: 4 }, () => new Map());
    need[3].set(0, [{ start: 0, end: 9 }]);
    expect(nodeOrder(need, 1)).toEqual([0, 1, 2, 3]);
    expect(nodeOrder(need, 4)).toEqual([0, 1, 2, 3]);
  });

  it('dispatch documents at P = 32: same token sets, balance and bytes; fewer keys cross nodes; checker ok', () => {
    const mask = sharedMask(generateMask('causal_document', 32 * 8192, { seed: 0 }));
    const flat = planCp('dispatch', mask, 32, { node: 1 }, SHAPE);
    const nodes = planCp('dispatch', mask, 32, { exchange: 'direct' }, SHAPE);
    expect(nodes.layout.node).toBe(8);
    const key = (p: Plan) => p.ranks.map((r) => JSON.stringify([...r.owned].sort((a, b) => a.start - b.start))).sort();
    expect(key(nodes)).toEqual(key(flat));
    const [a, b] = [flat, nodes].map((p) => summarizeStats(planStats(p)));
    expect(b.imbalance).toBeCloseTo(a.imbalance, 10);
    expect(b.bytesFwd).toBe(a.bytesFwd);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    expect(sum(interNodeTokens(nodes, 8))).toBeLessThan(sum(interNodeTokens(flat, 8)));
    expect(checkPlan(nodes, mask)).toEqual([]);
  });
});

describe('dispatch with the node order on every family (P = 16, nodes of 4)', () => {
  const shape: CpShape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
  it.each(FAMILY_IDS.filter((f) => f !== 'full' && f !== 'causal'))('%s: checker ok, FLOPs add up', (family) => {
    const gm = generateMask(family, 16 * 1024, { seed: 2 });
    if (gm.heads.length !== 1) return; // per-head masks: not a CP case
    const mask = gm.heads[0];
    const plan = planCp('dispatch', mask, 16, { node: 4 }, shape);
    expect(checkPlan(plan, mask)).toEqual([]);
    const flops = planStats(plan).flopsFwd.reduce((a, b) => a + b, 0);
    expect(flops).toBeCloseTo(4 * maskArea(mask) * shape.headsQ * shape.headDim, 6);
  });
});
