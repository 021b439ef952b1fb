import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAMILY_IDS, generateMask } from '../../mask/families/index.js';
import type { Range } from '../../mask/types.js';
import { checkPlan } from '../check.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal } from '../exec/harness.js';
import type { CpLayout, CpShape, Plan } from '../types.js';
import { mergeSorted, rangesLength, subtractRanges } from './area.js';
import { directRoutes, relayRoutes, sendLists, sendListsA } from './dispatch-routes.js';
import { planCp, sharedMask } from './index.js';

const within = (a: readonly Range[], b: readonly Range[]) => subtractRanges(mergeSorted(a), mergeSorted(b)).length === 0;

/** A random need: P ranks, each fetching random ranges of random owners (owner s holds [100 s, 100 s + 100)). */
const arbNeed = fc
  .record({ P: fc.integer({ min: 2, max: 12 }), G: fc.integer({ min: 1, max: 5 }), seed: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(99), fc.nat(99)), { maxLength: 60 }) })
  .map(({ P, G, seed }) => {
    const need: Map<number, Range[]>[] = Array.from({ length: P }, () => new Map());
    for (const [a, b, x, y] of seed) {
      const r = a % P;
      const s = b % P;
      if (r === s) continue;
      const lo = 100 * s + Math.min(x, y);
      const hi = 100 * s + Math.max(x, y) + 1;
      need[r].set(s, mergeSorted([...(need[r].get(s) ?? []), { start: lo, end: hi }]));
    }
    return { need, G };
  });

describe('relayRoutes', () => {
  it('delivers every need once; each (node, remote owner) crosses nodes once; same-node fetches stay direct', () => {
    fc.assert(
      fc.property(arbNeed, ({ need, G }) => {
        const rt = relayRoutes(need, G);
        const node = (r: number) => Math.floor(r / G);
        need.forEach((m, r) => {
          for (const [s, rs] of m) {
            if (node(s) === node(r)) {
              expect(rt.recvA[r].get(s)).toEqual(rs);
              continue;
            }
            // The relay of (r's node, s): the one member that receives from s.
            const relays = need.map((_, a) => a).filter((a) => node(a) === node(r) && rt.recvA[a].has(s));
            expect(relays).toHaveLength(1);
            const a = relays[0];
            expect(rt.relayed[a]).toContain(s);
            expect(within(rs, rt.recvA[a].get(s)!)).toBe(true);
            if (a !== r) expect(within(rs, rt.recvB[r].get(a)!)).toBe(true);
          }
        });
        // Nothing arrives that nobody needs, and phase B stays inside nodes.
        rt.recvA.forEach((m, a) => {
          for (const [s, rs] of m) {
            const wanted = mergeSorted(need.flatMap((mm, r) => (node(r) === node(a) ? (mm.get(s) ?? []) : [])));
            expect(within(rs, wanted)).toBe(true);
          }
        });
        rt.recvB.forEach((m, r) => {
          for (const a of m.keys()) expect(node(a)).toBe(node(r));
        });
        // Egress helpers: a phase-A sender other than the owner sits on the owner's node and was
        // handed at least what it sends (phase A0).
        rt.senderA.forEach((m, a) => {
          for (const [s, h] of m) {
            expect(h).not.toBe(s);
            expect(node(h)).toBe(node(s));
            expect(node(a)).not.toBe(node(s));
            expect(within(rt.recvA[a].get(s)!, rt.recv0[h].get(s)!)).toBe(true);
          }
        });
        rt.recv0.forEach((m, h) => {
          for (const [s, rs] of m) {
            const sent = rt.recvA.flatMap((mm, a) => (rt.senderA[a].get(s) === h ? mm.get(s)! : []));
            expect(mergeSorted(sent)).toEqual(rs);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('balances the relays of a node: 4 ranks of node 1 all need 4 owners on node 0', () => {
    const need: Map<number, Range[]>[] = Array.from({ length: 8 }, () => new Map());
    for (let r = 4; r < 8; r++) for (let s = 0; s < 4; s++) need[r].set(s, [{ start: 100 * s, end: 100 * s + 100 }]);
    const rt = relayRoutes(need, 4);
    expect(rt.relayed.slice(4).map((x) => x.length)).toEqual([1, 1, 1, 1]);
    // Each owner sends once instead of four times.
    expect(sendListsA(rt).slice(0, 4).map((x) => x.length)).toEqual([1, 1, 1, 1]);
    expect(sendLists(directRoutes(need).recvA).slice(0, 4).map((x) => x.length)).toEqual([4, 4, 4, 4]);
  });

  it('deals an owner\'s messages to other nodes over its node\'s members: owner 0 needed by 3 other nodes', () => {
    const need: Map<number, Range[]>[] = Array.from({ length: 8 }, () => new Map());
    for (const r of [2, 4, 6]) need[r].set(0, [{ start: 0, end: 100 }]);
    const rt = relayRoutes(need, 2);
    const senders = [2, 4, 6].map((a) => rt.senderA[a].get(0) ?? 0).sort();
    expect(senders).toEqual([0, 0, 1]); // LPT over ranks 0 and 1: 100, 100 -> 1, then 0
    expect(rt.recv0[1].get(0)).toEqual([{ start: 0, end: 100 }]);
  });
});

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

/** Per rank, bytes received (or sent) from (to) ranks on other nodes of G in the forward. */
function interNodeBytes(plan: Plan, G: number, op: 'send' | 'recv'): number[] {
  return plan.ranks.map((rp) => {
    const bufs = new Map(rp.buffers.map((b) => [b.name, b]));
    let n = 0;
    for (const s of rp.forward) if (s.kind === 'p2p') for (const o of s.ops) if (o.op === op && Math.floor(o.peer / G) !== Math.floor(rp.rank / G)) n += bufs.get(o.buf)!.bytes;
    return n;
  });
}

describe('dispatch exchange=relay', () => {
  it('causal_document P = 64 (512k): the default; same placement, and the most any rank sends or receives over InfiniBand falls', () => {
    const mask = sharedMask(generateMask('causal_document', 64 * 8192, { seed: 0 }));
    const relay = planCp('dispatch', mask, 64, {}, SHAPE);
    const direct = planCp('dispatch', mask, 64, { exchange: 'direct' }, SHAPE);
    expect(relay.layout.exchange).toBe('relay');
    expect(relay.ranks.map((r) => r.owned)).toEqual(direct.ranks.map((r) => r.owned));
    for (const op of ['send', 'recv'] as const) {
      const [a, b] = [relay, direct].map((p) => Math.max(...interNodeBytes(p, 8, op)));
      expect(a).toBeLessThan(0.6 * b);
    }
    expect(checkPlan(relay, mask)).toEqual([]);
    // At most three attention steps per rank and direction (local, or its two head halves; remote).
    for (const rp of relay.ranks) {
      expect(rp.forward.filter((s) => s.kind === 'attn').length).toBeLessThanOrEqual(3);
      expect(rp.backward.filter((s) => s.kind === 'attn_bwd').length).toBeLessThanOrEqual(3);
    }
    expect(planCp('dispatch', mask, 64, relay.layout, SHAPE)).toEqual(relay);
  });

  it.each(FAMILY_IDS.filter((f) => f !== 'block_sparse' && f !== 'variable_block_sparse'))('%s (P = 16, nodes of 4, relays): checker ok, the CPU run matches the reference', async (family) => {
    const shape: CpShape = { headsQ: 2, headsKv: 1, headDim: 4, dtypeBytes: 4 };
    const mask = sharedMask(generateMask(family, family.includes('sliding') ? 2048 : 1024, { seed: 3 }));
    const layouts: CpLayout[] = [{ node: 4, exchange: 'relay' }, { node: 4, exchange: 'relay', sharding: 'granules' }];
    for (const layout of layouts) {
      const plan = planCp('dispatch', mask, 16, layout, shape);
      expect(plan.layout.exchange).toBe(plan.layout.comm === 'all_gather' ? undefined : 'relay');
      expect(checkPlan(plan, mask)).toEqual([]);
      const g = randomInputs(mask.seqlenQ, shape, 7);
      const run = await runLocal(plan, rankInputs(plan, g));
      expect(compare(assemble(plan, run.outputs), reference(mask, shape, g)).exceedsTolerance).toBe(false);
    }
  });

  it('a relay with little local work splits its local step by heads (half during phase A): checker ok, the CPU run matches the reference', async () => {
    const shape: CpShape = { headsQ: 4, headsKv: 2, headDim: 4, dtypeBytes: 4 };
    const mask = sharedMask(generateMask('causal_document_long', 2048, { seed: 1 }));
    const plan = planCp('dispatch', mask, 16, { node: 4, exchange: 'relay' }, shape);
    const split = plan.ranks.filter((rp) => rp.forward.some((s) => s.kind === 'attn' && s.heads.end - s.heads.start === 2));
    expect(split.length).toBeGreaterThan(0);
    for (const rp of split) expect(rp.backward.filter((s) => s.kind === 'attn_bwd' && s.heads.end - s.heads.start === 2)).toHaveLength(2);
    expect(checkPlan(plan, mask)).toEqual([]);
    const g = randomInputs(mask.seqlenQ, shape, 9);
    const run = await runLocal(plan, rankInputs(plan, g));
    expect(compare(assemble(plan, run.outputs), reference(mask, shape, g)).exceedsTolerance).toBe(false);
  });

  it('relays and egress helpers really take part on this mask (phases A0, B, D and E exist)', () => {
    const mask = sharedMask(generateMask('causal_document', 2048, { seed: 3 }));
    const plan = planCp('dispatch', mask, 16, { node: 4, exchange: 'relay', sharding: 'granules' }, { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 });
    const p2p = (steps: Plan['ranks'][number]['forward']) => steps.filter((s) => s.kind === 'p2p').length;
    expect(Math.max(...plan.ranks.map((r) => p2p(r.forward)))).toBe(3);
    expect(Math.max(...plan.ranks.map((r) => p2p(r.backward)))).toBe(6);
    expect(rangesLength(plan.ranks.flatMap((r) => r.owned))).toBe(2048);
  });
});
