// The one communication shape behind ulysses, ring_p2p, usp and loongtrain: Ulysses all-to-all
// over U heads groups, then a double ring over the C = w x n context ranks of each head group.
//
//   ranks of one head group u, context index c = i * w + p (i: outer index, p: inner position)
//
//     inner ring (size w)       outer ring (size n)      at global step t = o * w + s rank (i, p)
//     (i,0)->(i,1)->..->(i,w-1)  (0,p)->(1,p)->..->(n-1,p)  holds the K/V of rank (i - o, p - s)
//
//   forward   K/V rotate around the inner ring w - 1 times per outer step; each outer step starts
//             by prefetching the K/V the next outer step starts from over the outer ring
//             (LoongTrain's double ring; n = 1 is ring attention, w = n = 1 is plain Ulysses).
//   backward  K/V travel the same way again with their dK/dV accumulator one hop behind; after
//             the inner ring one more inner hop realigns each accumulator with the rank that
//             holds its K/V's outer origin, then the outer ring carries it on; the last hop
//             lands every accumulator on its owner (ring-flash-attention's backward, doubled).
//
// Ulysses: before the ring, all-to-alls turn (own tokens, all heads) into (the group's tokens,
// heads u); after it, all-to-alls turn outputs and gradients back. Under GQA a member whose
// query heads share a KV head with another member receives a replica of that KV head
// (replicate_kv=1), and the replicas' gradients are summed on the way back.
import { badInput } from '../../errors.js';
import type { Mask, Range } from '../../mask/types.js';
import type { BufferDesc, CpLayout, CpShape, P2POp, Plan, SchemeId, Step } from '../types.js';
import { AreaIndex, mergeSorted, rangesIntersect } from './area.js';
import { guardRingPairs, headRingShards } from './ring-shard.js';
import {
  allHeads,
  assemblePlan,
  attnBwdStep,
  attnPair,
  attnStep,
  Buffers,
  checkShape,
  checkSquare,
  declareIo,
  kvHeadsOf,
  RankBuilder,
  waitSteps,
  type AttnPair,
  type Sharding,
} from './common.js';

export const PLACEMENTS = ['head_first', 'context_first'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export interface HeadRingLayout {
  /** Ulysses (head-parallel) degree U. */
  readonly ulysses: number;
  /** Inner ring size w. */
  readonly inner: number;
  /** Outer ring size n. */
  readonly outer: number;
  /** head_first: Ulysses groups are consecutive ranks; context_first: context groups are. */
  readonly placement: Placement;
  readonly sharding: Sharding;
  readonly replicateKv: boolean;
  /**
   * With U > 1: the backward re-creates its head-sharded q / kv / o from the well-known buffers
   * (three all-to-alls, under names of its own) instead of reading the forward's, so it reads
   * nothing its forward made and can follow another plan's forward (splice.ts). Default false.
   */
  readonly recreate?: boolean;
}

/** Validates the head split: U divides the query heads; KV heads are split or replicated. */
export function checkUlysses(scheme: SchemeId, U: number, shape: CpShape, replicateKv: boolean): void {
  if (shape.headsQ % U !== 0) throw badInput(`${scheme}: ulysses degree ${U} does not divide the ${shape.headsQ} query heads`);
  if (U > 1 && shape.headsKv % U !== 0 && !replicateKv) {
    const why = U > shape.headsKv ? `exceeds the ${shape.headsKv} KV heads` : `does not divide the ${shape.headsKv} KV heads`;
    throw badInput(`${scheme}: ulysses degree ${U} ${why} (set layout replicate_kv=1 to replicate K/V heads inside the group)`);
  }
}

export function planHeadRing(scheme: SchemeId, mask: Mask, world: number, ly: HeadRingLayout, shape: CpShape, layout: CpLayout): Plan {
  checkShape(shape);
  checkSquare(scheme, mask);
  const { ulysses: U, inner: w, outer: n } = ly;
  if (U * w * n !== world) throw new Error(`internal: ${U} x ${w} x ${n} != ${world}`);
  checkUlysses(scheme, U, shape, ly.replicateKv);
  const C = w * n;
  const rankOf = (u: number, c: number) => (ly.placement === 'head_first' ? c * U + u : u * C + c);
  const owned = headRingShards(scheme, mask, world, U, ly.sharding, rankOf);
  const ctx = (i: number, p: number) => (((i % n) + n) % n) * w + (((p % w) + w) % w);

  const idx = new AreaIndex(mask);
  const bufs = new Buffers(shape);
  const waitStep = waitSteps();
  const hq = shape.headsQ / U;
  const HQ = allHeads(shape.headsQ);
  const HKV = allHeads(shape.headsKv);
  const qHeads: Range[] = U === 1 ? [HQ] : Array.from({ length: U }, (_, u) => ({ start: u * hq, end: (u + 1) * hq }));
  const kvHeads: Range[] = U === 1 ? [HKV] : qHeads.map((h) => kvHeadsOf(h, shape));
  // Tokens held by context index c after the Ulysses all-to-all: the group's shards, in order.
  const groupTokens: Range[][] = Array.from({ length: C }, (_, c) => {
    const t: Range[] = [];
    for (let u = 0; u < U; u++) for (const r of owned[rankOf(u, c)]) t.push(r);
    return U === 1 ? owned[rankOf(0, c)] : t;
  });
  guardRingPairs(scheme, mask, world, ly.sharding, groupTokens);

  // Key columns each context index's queries reach: a cheap test before computing a step's mask.
  const reach = groupTokens.map((T) => idx.colExtentOf(T));
  const pairOf = (c: number, oc: number, force: boolean) =>
    force || rangesIntersect(reach[c], sortedTokens[oc]) ? attnPair(idx, groupTokens[c], groupTokens[oc], force) : null;
  const sortedTokens = groupTokens.map((T) => mergeSorted(T));

  const groups: Record<string, number[][]> = {};
  if (U > 1) groups.ulysses = Array.from({ length: C }, (_, c) => qHeads.map((_, u) => rankOf(u, c)));
  if (C > 1) groups.ring = qHeads.map((_, u) => Array.from({ length: C }, (_, c) => rankOf(u, c)));
  if (w > 1 && n > 1) {
    groups.inner = [];
    groups.outer = [];
    for (let u = 0; u < U; u++) {
      for (let i = 0; i < n; i++) groups.inner.push(Array.from({ length: w }, (_, p) => rankOf(u, ctx(i, p))));
      for (let p = 0; p < w; p++) groups.outer.push(Array.from({ length: n }, (_, i) => rankOf(u, ctx(i, p))));
    }
  }

  const pairCache = new Map<number, AttnPair | null>();
  const builders: RankBuilder[] = [];
  for (let r = 0; r < world; r++) builders.push(new RankBuilder(r, owned[r]));
  // Names and descriptors of travelling buffers, made once per head group (identical on every
  // rank that holds them; building millions of strings would dominate planning at P = 1024).
  const lazy = <T>(make: (k: number) => T) => {
    const a: (T | undefined)[] = [];
    return (k: number): T => (a[k] ??= make(k));
  };
  const handle = (prefix: string) => {
    const f = lazy((k: number) => `${prefix}${Math.floor(k / C)}.${k % C}`);
    return (o: number, s: number) => f(o * C + s);
  };
  const hF = { outer: lazy((o) => `f.o${o}`), inner: handle('f.i') };
  const hB = { outer: lazy((o) => `b.o${o}`), kv: handle('b.k'), dkv: handle('b.d'), realign: lazy((o) => `b.r${o}`), dOuter: lazy((o) => `b.do${o}`) };
  const travel = qHeads.map((_, u) => ({
    kvF: lazy((oc) => bufs.fresh(`kv@${rankOf(u, oc)}`, 'kv', groupTokens[oc], kvHeads[u])),
    kvB: lazy((oc) => bufs.fresh(`kv@${rankOf(u, oc)}.b`, 'kv', groupTokens[oc], kvHeads[u])),
    dkv: lazy((oc) => bufs.fresh(`dkv@${rankOf(u, oc)}`, 'dkv', groupTokens[oc], kvHeads[u])),
    dkvR: lazy((oc) => bufs.fresh(`dkv@${rankOf(u, oc)}.r`, 'dkv', groupTokens[oc], kvHeads[u])),
  }));
  for (let u = 0; u < U; u++) {
    for (let c = 0; c < C; c++) {
      const rb = builders[rankOf(u, c)];
      declareIo(rb, bufs, shape, HQ, HKV);
      const T = groupTokens[c];
      const head = U === 1
        ? { q: 'q', kv: 'kv', o: 'o', do: 'do', dq: 'dq', dkv: 'dkv' }
        : { q: 'qh', kv: 'kvh', o: 'oh', do: 'doh', dq: 'dqh', dkv: 'dkvh' };
      const qh = rb.desc(rb.buf(bufs.get(head.q, 'q', T, qHeads[u])));
      const kvh = rb.desc(rb.buf(bufs.get(head.kv, 'kv', T, kvHeads[u])));
      rb.buf(bufs.get(head.o, 'o', T, qHeads[u]));
      rb.buf(bufs.get(head.do, 'do', T, qHeads[u]));
      rb.buf(bufs.get(head.dq, 'dq', T, qHeads[u]));
      rb.buf(bufs.get(head.dkv, 'dkv', T, kvHeads[u]));

      const group = U > 1 ? groups.ulysses[c] : [];
      /** all-to-all of tensor `from` (own tokens, all heads) into `into` (group tokens, heads u). */
      const scatterHeads = (steps: Step[], t: 'q' | 'kv' | 'o' | 'do', into: string, prefix = '') => {
        const heads = t === 'kv' ? kvHeads : qHeads;
        const tensor = t;
        const send = qHeads.map((_, m) => rb.buf(bufs.get(`${prefix}${t}.to${m}`, tensor, owned[rankOf(u, c)], heads[m])));
        const recv = qHeads.map((_, m) => rb.buf(bufs.get(`${prefix}${t}.from${m}`, tensor, owned[rankOf(m, c)], heads[u])));
        for (const s of send) steps.push({ kind: 'copy', from: t, into: s });
        steps.push({ kind: 'all_to_all', group, send, recv });
        for (const s of recv) steps.push({ kind: 'copy', from: s, into });
      };
      /** all-to-all of `from` (group tokens, heads u) back into `into` (own tokens, all heads). */
      const gatherHeads = (steps: Step[], t: 'o' | 'dq' | 'dkv', from: string, into: string) => {
        const heads = t === 'dkv' ? kvHeads : qHeads;
        const send = qHeads.map((_, m) => rb.buf(bufs.get(`${t}.to${m}`, t, owned[rankOf(m, c)], heads[u])));
        const recv = qHeads.map((_, m) => rb.buf(bufs.get(`${t}.from${m}`, t, owned[rankOf(u, c)], heads[m])));
        for (const s of send) steps.push({ kind: 'copy', from, into: s });
        steps.push({ kind: 'all_to_all', group, send, recv });
        for (const s of recv) steps.push(t === 'dkv' ? { kind: 'accumulate', from: s, into } : { kind: 'copy', from: s, into });
      };

      // Forward and backward, and the U members of a head group, share the context pair's mask.
      const pairAt = (oc: number, force: boolean) => {
        const key = c * C + oc;
        if (!pairCache.has(key)) pairCache.set(key, pairOf(c, oc, force));
        return pairCache.get(key)!;
      };
      const i = Math.floor(c / w);
      const p = c % w;
      const me = rankOf(u, c);
      const innerNext = rankOf(u, ctx(i, p + 1));
      const innerPrev = rankOf(u, ctx(i, p - 1));
      const outerNext = rankOf(u, ctx(i + 1, p));
      const outerPrev = rankOf(u, ctx(i - 1, p));
      /** Context index of the K/V held at global step (o, s). */
      const originAt = (o: number, s: number) => ctx(i - o, p - s);
      const tr = travel[u];
      // The backward's own head shards: the forward's, or re-created ones (ly.recreate).
      const re = ly.recreate === true && U > 1;
      const qhB = re ? rb.desc(rb.buf(bufs.get('re.qh', 'q', T, qHeads[u]))) : qh;
      const kvhB = re ? rb.desc(rb.buf(bufs.get('re.kvh', 'kv', T, kvHeads[u]))) : kvh;
      const ohB = re ? rb.buf(bufs.get('re.oh', 'o', T, qHeads[u])) : head.o;
      const kvDesc = (oc: number, phase: 'f' | 'b'): BufferDesc => (oc === c ? (phase === 'f' ? kvh : kvhB) : phase === 'f' ? tr.kvF(oc) : tr.kvB(oc));
      const dkvName = (oc: number, realigned = false) => rb.buf(realigned ? tr.dkvR(oc) : tr.dkv(oc));
      const p2p = (steps: Step[], handle: string, send: string, to: number, recv: BufferDesc | string, from: number) => {
        const recvName = typeof recv === 'string' ? recv : rb.buf(recv);
        const ops: P2POp[] = [
          { op: 'send', peer: to, buf: send },
          { op: 'recv', peer: from, buf: recvName },
        ];
        steps.push({ kind: 'p2p', ops, handle });
      };

      // ---- forward ----
      const F = rb.forward;
      if (U > 1) {
        scatterHeads(F, 'q', head.q);
        scatterHeads(F, 'kv', head.kv);
      }
      for (let o = 0; o < n; o++) {
        const outerHandle = hF.outer(o);
        if (o < n - 1) p2p(F, outerHandle, kvDesc(originAt(o, 0), 'f').name, outerNext, kvDesc(originAt(o + 1, 0), 'f'), outerPrev);
        for (let s = 0; s < w; s++) {
          const innerHandle = hF.inner(o, s);
          const cur = kvDesc(originAt(o, s), 'f');
          if (s < w - 1) p2p(F, innerHandle, rb.buf(cur), innerNext, kvDesc(originAt(o, s + 1), 'f'), innerPrev);
          const first = o === 0 && s === 0;
          const pair = pairAt(originAt(o, s), first);
          if (pair) {
            if (first) F.push(attnStep(qh, cur, head.o, pair, shape));
            else {
              rb.buf(bufs.get('o.p', 'o', T, qHeads[u]));
              F.push(attnStep(qh, cur, 'o.p', pair, shape), { kind: 'merge', into: head.o, from: 'o.p' });
            }
          }
          if (s < w - 1) F.push(waitStep(innerHandle));
        }
        if (o < n - 1) F.push(waitStep(outerHandle));
      }
      if (U > 1) gatherHeads(F, 'o', head.o, 'o');

      // ---- backward ----
      const B = rb.backward;
      if (re) {
        scatterHeads(B, 'q', qhB.name, 're.');
        scatterHeads(B, 'kv', kvhB.name, 're.');
        scatterHeads(B, 'o', ohB, 're.');
      }
      if (U > 1) scatterHeads(B, 'do', head.do);
      let dName = w === 1 && n === 1 ? head.dkv : dkvName(c);
      let pending: string | null = null;
      const names = { o: ohB, dout: head.do, dq: head.dq };
      for (let o = 0; o < n; o++) {
        const outerHandle = hB.outer(o);
        if (o < n - 1) p2p(B, outerHandle, rb.buf(kvDesc(originAt(o, 0), 'b')), outerNext, kvDesc(originAt(o + 1, 0), 'b'), outerPrev);
        for (let s = 0; s < w; s++) {
          const kHandle = hB.kv(o, s);
          const cur = kvDesc(originAt(o, s), 'b');
          if (s < w - 1) p2p(B, kHandle, rb.buf(cur), innerNext, kvDesc(originAt(o, s + 1), 'b'), innerPrev);
          if (pending) B.push(waitStep(pending));
          pending = null;
          const pair = pairAt(originAt(o, s), o === 0 && s === 0);
          if (pair) B.push(attnBwdStep(qhB, cur, { ...names, dkv: dName }, pair, shape));
          if (s < w - 1) {
            B.push(waitStep(kHandle));
            const next = dkvName(originAt(o, s + 1));
            pending = hB.dkv(o, s);
            p2p(B, pending, dName, innerNext, next, innerPrev);
            dName = next;
          } else if (w > 1) {
            // Realign: one more inner hop brings back the accumulator of this outer step's origin.
            const next = n === 1 ? head.dkv : dkvName(originAt(o, 0), true);
            pending = hB.realign(o);
            p2p(B, pending, dName, innerNext, next, innerPrev);
            dName = next;
          }
        }
        if (n > 1) {
          if (pending) B.push(waitStep(pending));
          const next = o === n - 1 ? head.dkv : dkvName(originAt(o + 1, 0));
          pending = hB.dOuter(o);
          p2p(B, pending, dName, outerNext, next, outerPrev);
          dName = next;
        }
        if (o < n - 1) B.push(waitStep(outerHandle));
      }
      if (pending) B.push(waitStep(pending));
      if (U > 1) {
        gatherHeads(B, 'dq', head.dq, 'dq');
        gatherHeads(B, 'dkv', head.dkv, 'dkv');
      }
    }
  }
  return assemblePlan(scheme, world, layout, mask, shape, groups, builders);
}
