// Routes of dispatch's K/V exchange (issue 14): who sends which key ranges to whom.
//
//   direct  every rank fetches what it needs straight from each owner (one batched p2p).
//   relay   (layout exchange=relay; nodes of G consecutive ranks) a rank fetches from owners on
//           its own node directly, but what the ranks of a node need from an owner on another
//           node crosses InfiniBand once: one rank of the node (the relay) receives the union of
//           those ranges, then forwards to each other rank of its node the part it needs, over
//           NVLink. A long document spread over many nodes is then read once per node instead of
//           once per rank, and its first pieces' owners send one copy per node instead of one per
//           rank (at P = 1024 one owner sent 1.2 GiB over its NIC). Relays are chosen per (node,
//           owner) by LPT on the InfiniBand bytes they receive; an owner needed by one rank of the
//           node only is fetched by that rank. Gradients take the routes backwards: each rank
//           returns dK/dV of relayed keys to their relay, which sums them and sends one message
//           per owner.
import type { Range } from '../../mask/types.js';
import { mergeSorted, rangesLength } from './area.js';

export interface Routes {
  /** Phase A: per rank, source -> the ranges it receives from it (its own need, or a relayed union). */
  readonly recvA: readonly Map<number, Range[]>[];
  /** Per rank: the sources whose ranges it receives as relay of its node (in recvA; empty when direct). */
  readonly relayed: readonly number[][];
  /** Phase B (relays forward over NVLink): per rank, relay -> the ranges it receives from it. */
  readonly recvB: readonly Map<number, Range[]>[];
  /**
   * Phase A0 (before A, over NVLink): per helper, owner -> the ranges the owner hands it to send
   * across nodes in its place (empty when direct).
   */
  readonly recv0: readonly Map<number, Range[]>[];
  /** Per phase-A receiver: owner -> the rank that sends it that owner's keys (absent: the owner). */
  readonly senderA: readonly Map<number, number>[];
}

/** Everything straight from its owner. */
export function directRoutes(need: readonly Map<number, Range[]>[]): Routes {
  return { recvA: need.map((m) => new Map(m)), relayed: need.map(() => []), recvB: need.map(() => new Map()), recv0: need.map(() => new Map()), senderA: need.map(() => new Map()) };
}

/** Nodes of G consecutive ranks; inter-node fetches go through one relay per (node, owner). */
export function relayRoutes(need: readonly Map<number, Range[]>[], G: number): Routes {
  const P = need.length;
  const recvA = need.map(() => new Map<number, Range[]>());
  const relayed: number[][] = need.map(() => []);
  const viaB = need.map(() => new Map<number, Range[]>()); // unmerged ranges per relay
  for (let n0 = 0; n0 < P; n0 += G) {
    const members = Array.from({ length: Math.min(G, P - n0) }, (_, i) => n0 + i);
    // Owners on other nodes -> the members that need them.
    const bySrc = new Map<number, number[]>();
    for (const r of members) {
      for (const [s, rs] of need[r]) {
        if (s >= n0 && s < n0 + G) recvA[r].set(s, rs);
        else {
          const list = bySrc.get(s);
          if (list) list.push(r);
          else bySrc.set(s, [r]);
        }
      }
    }
    const items = [...bySrc].map(([s, rs]) => {
      const union = rs.length === 1 ? need[rs[0]].get(s)! : mergeSorted(rs.flatMap((r) => need[r].get(s)!));
      return { s, consumers: rs, union, tokens: rangesLength(union) };
    });
    const load = new Map<number, number>(members.map((r) => [r, 0]));
    const assign = (it: (typeof items)[number], a: number) => {
      load.set(a, load.get(a)! + it.tokens);
      recvA[a].set(it.s, it.union);
      relayed[a].push(it.s);
      for (const r of it.consumers) {
        if (r === a) continue;
        const list = viaB[r].get(a);
        const rs = need[r].get(it.s)!;
        if (list) list.push(...rs);
        else viaB[r].set(a, [...rs]);
      }
    };
    // LPT: largest unions first, each to the member with the fewest relayed tokens so far (ties:
    // a consumer, then the lower rank). An owner needed by one member only may still go through
    // another: the forward over NVLink is far cheaper than a second member's NIC idling.
    items.sort((a, b) => b.tokens - a.tokens || a.s - b.s);
    for (const it of items) {
      let best = -1;
      for (const r of members) {
        if (best < 0) best = r;
        const d = load.get(r)! - load.get(best)!;
        if (d < 0 || (d === 0 && it.consumers.includes(r) && !it.consumers.includes(best))) best = r;
      }
      assign(it, best);
    }
  }
  for (const rl of relayed) rl.sort((a, b) => a - b);
  const recvB = viaB.map((m) => new Map([...m].sort((a, b) => a[0] - b[0]).map(([a, rs]) => [a, mergeSorted(rs)] as const)));
  const { recv0, senderA } = egressHelpers(recvA, G);
  return { recvA, relayed, recvB, recv0, senderA };
}

/**
 * The sending side of phase A: an owner whose keys many nodes need (the first pieces of a long
 * document) would send them once per node over its one NIC. Its node's messages across nodes are
 * dealt to the node's members by LPT on the tokens each sends (largest first; ties: the owner);
 * an owner hands a helper the keys it sends in its place over NVLink first (phase A0).
 */
function egressHelpers(recvA: readonly Map<number, Range[]>[], G: number) {
  const P = recvA.length;
  const recv0 = recvA.map(() => new Map<number, Range[]>());
  const senderA = recvA.map(() => new Map<number, number>());
  const items: { a: number; s: number; tokens: number }[][] = Array.from({ length: Math.ceil(P / G) }, () => []);
  recvA.forEach((m, a) => {
    for (const [s, rs] of m) if (Math.floor(s / G) !== Math.floor(a / G)) items[Math.floor(s / G)].push({ a, s, tokens: rangesLength(rs) });
  });
  const held = recvA.map(() => new Map<number, Range[]>()); // unmerged
  items.forEach((list, n) => {
    const load = new Float64Array(G);
    list.sort((x, y) => y.tokens - x.tokens || x.s - y.s || x.a - y.a);
    for (const it of list) {
      let best = it.s - n * G;
      for (let i = 0; i < G && n * G + i < P; i++) if (load[i] < load[best]) best = i;
      load[best] += it.tokens;
      const h = n * G + best;
      if (h === it.s) continue;
      senderA[it.a].set(it.s, h);
      const list2 = held[h].get(it.s);
      if (list2) list2.push(...recvA[it.a].get(it.s)!);
      else held[h].set(it.s, [...recvA[it.a].get(it.s)!]);
    }
  });
  held.forEach((m, h) => {
    for (const [s, rs] of [...m].sort((x, y) => x[0] - y[0])) recv0[h].set(s, mergeSorted(rs));
  });
  return { recv0, senderA };
}

/** Phase A from the senders' side: per rank, [destination, owner, ranges] by destination, then owner. */
export function sendListsA(routes: Routes): [number, number, Range[]][][] {
  const out: [number, number, Range[]][][] = routes.recvA.map(() => []);
  routes.recvA.forEach((m, a) => {
    for (const [s, rs] of [...m].sort((x, y) => x[0] - y[0])) if (s !== a) out[routes.senderA[a].get(s) ?? s].push([a, s, rs]);
  });
  return out;
}

/** Senders' view of a phase: per rank, [destination, ranges] in destination order (self excluded). */
export function sendLists(recv: readonly Map<number, Range[]>[]): [number, Range[]][][] {
  const out: [number, Range[]][][] = recv.map(() => []);
  recv.forEach((m, d) => {
    for (const [s, rs] of m) if (s !== d) out[s].push([d, rs]);
  });
  return out; // built in destination order: d ascends in the outer loop
}

/** The most key tokens any rank sends or receives across nodes of G in phase A (its NIC's load). */
export function interNodePeak(routes: Routes, G: number): number {
  const P = routes.recvA.length;
  const sent = new Float64Array(P);
  let peak = 0;
  routes.recvA.forEach((m, r) => {
    let got = 0;
    for (const [s, rs] of m) {
      if (Math.floor(s / G) === Math.floor(r / G)) continue;
      const t = rangesLength(rs);
      got += t;
      sent[routes.senderA[r].get(s) ?? s] += t;
    }
    peak = Math.max(peak, got);
  });
  for (let r = 0; r < P; r++) peak = Math.max(peak, sent[r]);
  return peak;
}
