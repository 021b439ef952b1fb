// dispatch's rank programs from a placement and the routes of its K/V exchange (dispatch.ts
// chooses both; dispatch-routes.ts says who sends what to whom).
//
// Forward, per rank: phase A (one batched p2p: owners' K/V to the ranks that fetch them, or to
// their node's relay); phase B (relays forward what they received to the other ranks of their
// node), posted as soon as phase A is in; the local attention step runs while the last phase is
// in flight (B when the rank takes part in it: a relay that ran its local step first would hold
// up its node's phase B by that long); the remote K/V concatenated; one attention step over the
// rows that read remote keys. Backward: the same two fetch phases around the local backward step,
// the remote backward step, then dK/dV of remote keys go back: phase C returns them to owners on
// the same node (all owners with direct routes) and to the node's relays, which sum what their
// node computed; phase D sends those sums to their owners (phase E: helpers hand them back). So
// a rank runs two attention steps per direction (three when its local step is cut in two head
// halves), whatever the placement and the routes.
import type { Mask, Range } from '../../mask/types.js';
import type { BufferDesc, CpLayout, CpShape, P2POp, Step } from '../types.js';
import { AreaIndex, mergeSorted, rangesIntersect } from './area.js';
import { allHeads, assemblePlan, attnBwdStep, attnPair, attnStep, Buffers, declareIo, RankBuilder, waitSteps } from './common.js';
import { sendLists, sendListsA, type Routes } from './dispatch-routes.js';

type AttnLike = Extract<Step, { kind: 'attn' | 'attn_bwd' }>;

const sameRanges = (a: readonly Range[], b: readonly Range[]) => a.length === b.length && a.every((x, i) => x.start === b[i].start && x.end === b[i].end);

export function buildDispatch(
  mask: Mask,
  P: number,
  layout: CpLayout,
  shape: CpShape,
  idx: AreaIndex,
  owned: Range[][],
  need: Map<number, Range[]>[],
  comm: 'p2p' | 'all_gather',
  order: Range[][] | null,
  routes: Routes,
  one: { readonly fwd: boolean; readonly bwd: boolean } = { fwd: false, bwd: false },
) {
  const bufs = new Buffers(shape);
  const waitStep = waitSteps();
  const HQ = allHeads(shape.headsQ);
  const HKV = allHeads(shape.headsKv);
  const group = Array.from({ length: P }, (_, r) => r);
  const all = (order ?? owned).flat();
  const sendA = sendListsA(routes);
  const send0 = sendLists(routes.recv0);
  const sendB = sendLists(routes.recvB);
  const relaysOf = routes.relayed.map((rl) => new Set(rl));
  const builders = owned.map((own, r) => {
    const rb = new RankBuilder(r, order ? order[r] : own);
    declareIo(rb, bufs, shape, HQ, HKV);
    return rb;
  });
  for (const rb of builders) {
    const r = rb.rank;
    const q = rb.desc('q');
    const kv = rb.desc('kv');
    const F = rb.forward;
    const B = rb.backward;
    if (comm === 'all_gather') {
      const kvAll = rb.desc(rb.buf(bufs.get('kv.all', 'kv', all, HKV)));
      const kvAllB = rb.desc(rb.buf(bufs.get('kv.all.b', 'kv', all, HKV)));
      rb.buf(bufs.get('dkv.all', 'dkv', all, HKV));
      const pair = attnPair(idx, rb.owned, all, true)!;
      F.push({ kind: 'all_gather', group, input: 'kv', output: kvAll.name }, attnStep(q, kvAll, 'o', pair, shape));
      B.push(
        { kind: 'all_gather', group, input: 'kv', output: kvAllB.name },
        attnBwdStep(q, kvAllB, { o: 'o', dout: 'do', dq: 'dq', dkv: 'dkv.all' }, pair, shape),
        { kind: 'reduce_scatter', group, input: 'dkv.all', output: 'dkv' },
      );
      continue;
    }
    const recvA = [...routes.recvA[r]].sort((a, b) => a[0] - b[0]);
    const recvB = [...routes.recvB[r]];
    const relayed = routes.relayed[r];
    const relaySet = new Set(relayed);
    // Sources whose keys this rank reads from its own phase-A buffer (not relayed to it by others).
    const direct = recvA.filter(([s]) => !relaySet.has(s));
    // Sent as is when the peer needs all of it in the same order (tileOrder may reorder ranges).
    const whole = (rs: Range[]) => sameRanges(rs, rb.owned);
    // Only the q ranges whose key columns reach a source's ranges take part in its steps.
    const exts = rb.owned.map((x) => idx.colExtent(x.start, x.end));
    const reach = (rs: readonly Range[]) => {
      const sorted = mergeSorted(rs);
      return exts.flatMap((e, i) => (rangesIntersect(e, sorted) ? [i] : []));
    };
    const pairWith = (rs: readonly Range[]) => attnPair(idx, rb.owned, rs, true, reach(rs))!;
    const fetches = [...need[r]];
    const remote = mergeSorted(fetches.flatMap(([, rs]) => rs));
    // The relay's received unions, concatenated when it forwards from several.
    const relayTokens = mergeSorted(relayed.flatMap((s) => routes.recvA[r].get(s)!));
    const relayBuf = (suffix: string) => (relayed.length === 1 ? `kv@${relayed[0]}${suffix}` : `kv.relay${suffix}`);
    /** Declares a fresh buffer once (a name may be asked for twice, e.g. a relay's only sum). */
    const declare = (name: string, tensor: 'kv' | 'dkv', tokens: readonly Range[]) => (rb.has(name) ? name : rb.buf(bufs.fresh(name, tensor, tokens, HKV)));
    /** Phase A0 (owners hand keys to their node's egress helpers), then A: posts A (handle fetch<suffix>); false when this rank has nothing to move. */
    const fetchPhase = (steps: Step[], suffix: string): boolean => {
      const ops0: P2POp[] = [];
      for (const [h, rs] of send0[r]) {
        let name = 'kv';
        if (!whole(rs)) {
          name = declare(`kv.eg${h}${suffix}`, 'kv', rs);
          steps.push({ kind: 'copy', from: 'kv', into: name });
        }
        ops0.push({ op: 'send', peer: h, buf: name });
      }
      for (const [s, rs] of routes.recv0[r]) ops0.push({ op: 'recv', peer: s, buf: declare(`kv.hold${s}${suffix}`, 'kv', rs) });
      if (ops0.length) steps.push({ kind: 'p2p', ops: ops0, handle: `egress${suffix}` }, waitStep(`egress${suffix}`));
      const ops: P2POp[] = [];
      for (const [d, s, rs] of sendA[r]) {
        const from = s === r ? 'kv' : `kv.hold${s}${suffix}`;
        let name = from;
        if (s === r ? !whole(rs) : !sameRanges(rs, routes.recv0[r].get(s)!)) {
          name = declare(s === r ? `kv.to${d}${suffix}` : `kv.to${d}@${s}${suffix}`, 'kv', rs);
          steps.push({ kind: 'copy', from, into: name });
        }
        ops.push({ op: 'send', peer: d, buf: name });
      }
      for (const [s, rs] of recvA) ops.push({ op: 'recv', peer: routes.senderA[r].get(s) ?? s, buf: declare(`kv@${s}${suffix}`, 'kv', rs) });
      if (ops.length) steps.push({ kind: 'p2p', ops, handle: `fetch${suffix}` });
      return ops.length > 0;
    };
    /** Phase B (after phase A's wait): relays forward; returns the buffers holding this rank's remote keys. */
    const forwardPhase = (steps: Step[], suffix: string, whileInFlight: Step | null): string[] => {
      const holders = direct.filter(([s]) => rangesIntersect(routes.recvA[r].get(s)!, remote)).map(([s]) => `kv@${s}${suffix}`);
      const ops: P2POp[] = [];
      if (relayed.length) {
        const rb0 = relayBuf(suffix);
        const mine = rangesIntersect(relayTokens, remote);
        if (relayed.length > 1 && (sendB[r].length || mine)) {
          declare(rb0, 'kv', relayTokens);
          for (const s of relayed) steps.push({ kind: 'copy', from: `kv@${s}${suffix}`, into: rb0 });
        }
        if (mine) holders.push(rb0);
        for (const [d, rs] of sendB[r]) {
          let name = rb0;
          if (!sameRanges(rs, relayTokens)) {
            name = declare(`kv.fw${d}${suffix}`, 'kv', rs);
            steps.push({ kind: 'copy', from: rb0, into: name });
          }
          ops.push({ op: 'send', peer: d, buf: name });
        }
      }
      for (const [a, rs] of recvB) {
        const name = declare(`kv.via${a}${suffix}`, 'kv', rs);
        ops.push({ op: 'recv', peer: a, buf: name });
        holders.push(name);
      }
      if (ops.length) steps.push({ kind: 'p2p', ops, handle: `relay${suffix}` });
      if (whileInFlight) steps.push(whileInFlight);
      if (ops.length) steps.push(waitStep(`relay${suffix}`));
      return holders;
    };
    /**
     * steps=one: the exchange first, then ONE attention step per direction over the rank's rows
     * against [own K/V, received K/V] concatenated (the step's mask in that buffer's coordinates),
     * so no merge; backward sends dK/dV of the received keys back to their owners.
     */
    const fetching = fetches.length > 0;
    const cat = [...rb.owned, ...remote];
    const onePair = () => attnPair(idx, rb.owned, cat, true)!;
    const concat = (steps: Step[], suffix: string): BufferDesc => {
      if (fetchPhase(steps, suffix)) steps.push(waitStep(`fetch${suffix}`));
      const holders = forwardPhase(steps, suffix, null);
      if (!fetching) return kv;
      const into = rb.buf(bufs.fresh(`kv.cat${suffix}`, 'kv', cat, HKV));
      for (const h of ['kv', ...holders]) steps.push({ kind: 'copy', from: h, into });
      return rb.desc(into);
    };
    /** steps=one, backward: one step over the concatenation, dK/dV of the received keys back to their owners. */
    const oneStepB = () => {
      const pair = onePair();
      const kvB = concat(B, '.b');
      const dCat = fetching ? rb.buf(bufs.fresh('dkv.cat', 'dkv', cat, HKV)) : 'dkv';
      B.push(attnBwdStep(q, kvB, { o: 'o', dout: 'do', dq: 'dq', dkv: dCat }, pair, shape));
      const ops: P2POp[] = [];
      const after: Step[] = [];
      if (fetching) B.push({ kind: 'copy', from: dCat, into: 'dkv' });
      for (const [s, rs] of direct) {
        const d = declare(`dkv@${s}`, 'dkv', rs);
        B.push({ kind: 'copy', from: dCat, into: d });
        ops.push({ op: 'send', peer: s, buf: d });
      }
      for (const [d, , rs] of sendA[r]) {
        ops.push({ op: 'recv', peer: d, buf: declare(`dkv.from${d}`, 'dkv', rs) });
        after.push({ kind: 'accumulate', from: `dkv.from${d}`, into: 'dkv' });
      }
      if (ops.length) B.push({ kind: 'p2p', ops }, ...after);
    };
    if (one.fwd) F.push(attnStep(q, concat(F, ''), 'o', onePair(), shape));
    // steps=overlap. Document placements: the remote step runs over the rows that read remote keys only (a copy
    // of them, tile-aligned first: doc-order.ts), so no query tile mixes them with local rows.
    const rows = fetches.length ? reach(remote) : [];
    const sub = order !== null && rows.length < rb.owned.length ? rows.map((i) => rb.owned[i]) : null;
    const remotePair = !fetches.length ? null : sub ? attnPair(idx, sub, remote, true)! : pairWith(remote);
    /** The remote K/V in one buffer: a holder that is exactly it, else copies of every holder. */
    const gather = (steps: Step[], holders: string[], suffix: string): string => {
      const exact = holders.find((h) => sameRanges(rb.desc(h).tokens, remote));
      if (exact && holders.length === 1) return exact;
      const into = rb.buf(bufs.fresh(`kv.remote${suffix}`, 'kv', remote, HKV));
      for (const h of holders) steps.push({ kind: 'copy', from: h, into });
      return into;
    };
    /** A buffer of the `sub` rows copied from `from` (declared with `tensor`, all its heads). */
    const subOf = (steps: Step[], from: string, name: string, tensor: 'q' | 'o' | 'do', heads = HQ) => {
      rb.buf(bufs.fresh(name, tensor, sub!, heads));
      steps.push({ kind: 'copy', from, into: name });
      return name;
    };
    const localPair = pairWith(rb.owned);
    // The local step overlaps phase B when this rank takes part in it (relays forward as soon as
    // phase A is in, not after their local step), else phase A. A rank in phase B whose remote
    // work is at least its local work (its local step is short) also runs half of its local heads
    // during phase A: a third attention step, where the simulated P = 1024 forward gained 3%.
    const inB = recvB.length > 0 || sendB[r].length > 0;
    const halve = inB && remotePair !== null && remotePair.area >= localPair.area && shape.headsKv > 1;
    /** `local` restricted to q heads [a, b) (its KV heads follow), FLOPs pro rata. */
    const heads = (local: AttnLike, a: number, b: number): AttnLike => ({ ...local, heads: { start: a, end: b }, flops: (local.flops * (b - a)) / shape.headsQ });
    const fetchAll = (steps: Step[], suffix: string, local: AttnLike): string[] => {
      const posted = fetchPhase(steps, suffix);
      let late: Step | null = inB ? local : null;
      if (halve) {
        const H = shape.headsQ;
        const h = (H / shape.headsKv) * Math.floor(shape.headsKv / 2);
        steps.push(heads(local, 0, h));
        late = heads(local, h, H);
      } else if (!inB) steps.push(local);
      if (posted) steps.push(waitStep(`fetch${suffix}`));
      return forwardPhase(steps, suffix, late);
    };
    // forward: steps=one above, else the local step during the exchange, then the remote step
    const holdersF = one.fwd ? [] : fetchAll(F, '', attnStep(q, kv, 'o', localPair, shape) as AttnLike);
    if (!one.fwd && remotePair && sub) {
      const kvRemote = rb.desc(gather(F, holdersF, ''));
      const qr = rb.desc(subOf(F, 'q', 'q.r', 'q'));
      rb.buf(bufs.fresh('o.r', 'o', sub, HQ));
      F.push(attnStep(qr, kvRemote, 'o.r', remotePair, shape));
      subOf(F, 'o', 'o.s', 'o');
      F.push({ kind: 'merge', into: 'o.s', from: 'o.r' }, { kind: 'copy', from: 'o.s', into: 'o' });
    } else if (!one.fwd && remotePair) {
      rb.buf(bufs.get('o.p', 'o', rb.owned, HQ));
      F.push(attnStep(q, rb.desc(gather(F, holdersF, '')), 'o.p', remotePair, shape), { kind: 'merge', into: 'o', from: 'o.p' });
    }
    // backward
    if (one.bwd) {
      oneStepB();
      continue;
    }
    const names = { o: 'o', dout: 'do', dq: 'dq' };
    const holdersB = fetchAll(B, '.b', attnBwdStep(q, kv, { ...names, dkv: 'dkv' }, localPair, shape) as AttnLike);
    // Phase C: dK/dV of remote keys back to their direct owners and to the node's relays; the
    // relays' own sums; phase D: the sums to their owners.
    const opsC: P2POp[] = [];
    const after: Step[] = [];
    const dRelay = relayed.length === 1 ? `dkv@${relayed[0]}` : 'dkv.relay';
    if (remotePair) {
      const kvRemote = rb.desc(gather(B, holdersB, '.b'));
      const only = direct.length === 1 && recvB.length === 0 && !relayed.length ? direct[0][0] : -1;
      const dRemote = declare(only >= 0 ? `dkv@${only}` : 'dkv.remote', 'dkv', remote);
      if (sub) {
        const qr = rb.desc(subOf(B, 'q', 'q.r.b', 'q'));
        const io = { o: subOf(B, 'o', 'o.r.b', 'o'), dout: subOf(B, 'do', 'do.r.b', 'do'), dq: 'dq.r', dkv: dRemote };
        rb.buf(bufs.fresh('dq.r', 'dq', sub, HQ));
        B.push(attnBwdStep(qr, kvRemote, io, remotePair, shape), { kind: 'accumulate', from: 'dq.r', into: 'dq' });
      } else B.push(attnBwdStep(q, kvRemote, { ...names, dkv: dRemote }, remotePair, shape));
      for (const [s] of direct) {
        const d = declare(`dkv@${s}`, 'dkv', need[r].get(s)!);
        if (d !== dRemote) B.push({ kind: 'copy', from: dRemote, into: d });
        opsC.push({ op: 'send', peer: s, buf: d });
      }
      for (const [a, rs] of recvB) {
        const d = declare(`dkv.via${a}`, 'dkv', rs);
        B.push({ kind: 'copy', from: dRemote, into: d });
        opsC.push({ op: 'send', peer: a, buf: d });
      }
      if (relayed.length && rangesIntersect(relayTokens, remote)) after.push({ kind: 'accumulate', from: dRemote, into: dRelay });
    }
    for (const [d, o, rs] of sendA[r]) {
      if (o !== r || relaysOf[d].has(r)) continue; // helped keys, and relayed ones: phase D
      opsC.push({ op: 'recv', peer: d, buf: declare(`dkv.from${d}`, 'dkv', rs) });
      after.push({ kind: 'accumulate', from: `dkv.from${d}`, into: 'dkv' });
    }
    for (const [d, rs] of sendB[r]) {
      opsC.push({ op: 'recv', peer: d, buf: declare(`dkv.fw${d}`, 'dkv', rs) });
      after.push({ kind: 'accumulate', from: `dkv.fw${d}`, into: dRelay });
    }
    if (relayed.length) declare(dRelay, 'dkv', relayTokens);
    if (opsC.length) B.push({ kind: 'p2p', ops: opsC });
    B.push(...after);
    const opsD: P2POp[] = [];
    const afterD: Step[] = [];
    for (const s of relayed) {
      const d = declare(`dkv@${s}`, 'dkv', routes.recvA[r].get(s)!);
      if (d !== dRelay) B.push({ kind: 'copy', from: dRelay, into: d });
      opsD.push({ op: 'send', peer: routes.senderA[r].get(s) ?? s, buf: d });
    }
    for (const [d, o, rs] of sendA[r]) {
      if (!relaysOf[d].has(o)) continue;
      const name = declare(o === r ? `dkv.from${d}` : `dkv.from${d}@${o}`, 'dkv', rs);
      opsD.push({ op: 'recv', peer: d, buf: name });
      afterD.push({ kind: 'accumulate', from: name, into: o === r ? 'dkv' : `dkv.hold${o}` });
    }
    for (const [o, rs] of routes.recv0[r]) declare(`dkv.hold${o}`, 'dkv', rs);
    if (opsD.length) B.push({ kind: 'p2p', ops: opsD }, ...afterD);
    // Phase E: helpers hand the owners' sums back over NVLink.
    const opsE: P2POp[] = [];
    const afterE: Step[] = [];
    for (const [o] of routes.recv0[r]) opsE.push({ op: 'send', peer: o, buf: `dkv.hold${o}` });
    for (const [h, rs] of send0[r]) {
      opsE.push({ op: 'recv', peer: h, buf: declare(`dkv.eg${h}`, 'dkv', rs) });
      afterE.push({ kind: 'accumulate', from: `dkv.eg${h}`, into: 'dkv' });
    }
    if (opsE.length) B.push({ kind: 'p2p', ops: opsE }, ...afterE);
  }
  return assemblePlan('dispatch', P, layout, mask, shape, P > 1 ? { world: [group] } : {}, builders);
}
