// dispatch (ours): place the sequence on ranks from the mask's area so every rank gets the same
// work, then move only the K/V columns each rank's queries attend to (in the spirit of
// MagiAttention's dispatcher and DCP, SOSP 2025, and of WLB-LLM / ByteScale document packing; our
// own algorithm).
//
// 1. Placement (layout `sharding`):
//      documents  whole documents per rank, balanced by area with a token cap, only documents too
//                 large for one rank split (doc-place.ts); the default when the mask has documents
//                 and the result meets the imbalance target (default 1.05) - with at most 2P
//                 documents only if it also fetches fewer keys than the granule placement;
//      granules   the placement before issue 14: the sequence cut into g-token granules, the
//                 fewest bytes among contiguous / chunked / chunked_local candidates within the
//                 target (default 1.02; dispatch-granules.ts). The default for masks without
//                 document structure (full, causal, windows).
//    Document placements then choose which rank holds which token set (layout `node`, GPUs per
//    node, default 8; doc-nodes.ts): sets that exchange the most keys share a node, so their
//    fetches cross NVLink, not InfiniBand (balance and bytes unchanged).
// 2. Communication: a rank needs the key columns its rows reach (AreaIndex.colExtent) minus what
//    it owns, split by owner. One batched p2p moves exactly those ranges (fetched during the local
//    block's compute), then one attention step covers all of them (concatenated); when every rank
//    needs everything it is an all-gather instead. Backward fetches again, computes the remote
//    dK/dV in one step, splits it per owner and returns it in one batched p2p (or a
//    reduce-scatter), where the owner adds it into its dkv. So a rank runs at most two attention
//    steps per direction (local, remote), whatever the placement.
import type { Mask, Range } from '../../mask/types.js';
import type { CpLayout, CpShape, P2POp, Planner, Step } from '../types.js';
import { AreaIndex, mergeSorted, rangesIntersect, rangesLength } from './area.js';
import { tileOrder } from './doc-order.js';
import { documentUnits, placeDocuments } from './doc-place.js';
import { nodeOrder } from './doc-nodes.js';
import { fetchSets, fetchTokens, granulePlacement, imbalanceOf, layoutNumber } from './dispatch-granules.js';
import {
  allHeads,
  assemblePlan,
  attnBwdStep,
  attnPair,
  attnStep,
  Buffers,
  checkLayoutKeys,
  checkShape,
  checkSquare,
  checkWorld,
  declareIo,
  layoutEnum,
  layoutInt,
  RankBuilder,
  waitSteps,
  type AttnPair,
  type LayoutParam,
} from './common.js';
import { badInput } from '../../errors.js';

const SHARDING_MODES = ['auto', 'documents', 'granules', 'contiguous', 'chunked', 'chunked_local'] as const;
const SPLIT_MODES = ['fill', 'zigzag'] as const;
const COMM_MODES = ['auto', 'p2p', 'all_gather'] as const;

export const params: readonly LayoutParam[] = [
  {
    key: 'sharding',
    kind: 'enum',
    values: SHARDING_MODES,
    description:
      'auto (default: documents when the mask has documents and that meets the target, else granules), documents (whole documents per rank, doc-place.ts), granules (the fewest bytes of contiguous / chunked / chunked_local within the target: the placement before issue 14), contiguous, chunked or chunked_local',
  },
  { key: 'split', kind: 'enum', values: SPLIT_MODES, description: 'documents: how documents too large for one rank are cut: zigzag (k equal-token head/tail pairs, default: every piece owner sends about as much as it receives) or fill (k contiguous equal-area pieces: about 10% fewer bytes in all, but the head piece is large and goes to the rank of every later piece)' },
  { key: 'chunks', kind: 'int', description: 'chunks per rank for chunked sharding (default: the fewest of 1, 2, 4, ... that meet the target)' },
  { key: 'granule', kind: 'int', description: 'token granularity of cuts (default: a power of two <= 128, >= 16 granules per rank)' },
  { key: 'comm', kind: 'enum', values: COMM_MODES, description: 'auto (default), p2p or all_gather' },
  { key: 'target', kind: 'number', description: 'area imbalance bound (default 1.05 for documents, 1.02 for granule shardings)' },
  { key: 'node', kind: 'int', description: 'documents: GPUs per node for the rank order (default 8: token sets that exchange most share a node, doc-nodes.ts); 1 keeps the placement\'s order' },
  { key: 'max_token_ratio', kind: 'number', description: 'largest tokens per rank / mean (default 1.5 for documents, 2 for chunked, none for contiguous)' },
];

export const plan: Planner = (mask, world, layout, shape) => {
  checkWorld('dispatch', world);
  checkLayoutKeys('dispatch', layout, params);
  checkShape(shape);
  checkSquare('dispatch', mask);
  const S = mask.seqlenQ;
  const P = world;
  if (S < P) throw badInput(`dispatch: seqlen ${S} is smaller than world ${P} (every rank needs at least one token)`);
  const mode = layoutEnum('dispatch', layout, 'sharding', SHARDING_MODES, 'auto');
  const commMode = layoutEnum('dispatch', layout, 'comm', COMM_MODES, 'auto');
  const idx = new AreaIndex(mask);
  let units0: Range[] | undefined;
  let placed: { owned: Range[][]; used: Record<string, number | string> } | null = null;
  if (mode === 'auto' || mode === 'documents') {
    const split = layoutEnum('dispatch', layout, 'split', SPLIT_MODES, 'zigzag');
    const ratio = layoutNumber(layout, 'max_token_ratio', 1.5, 1);
    const target = layoutNumber(layout, 'target', 1.05, 1);
    const units = documentUnits(idx, 0).length;
    if (mode === 'documents' || units > 1) {
      // LPT weighing tokens against the cap, and against the mean (spreads token-heavy documents):
      // within the target, the one that fetches fewer keys; else the more balanced.
      const cap = (ratio * S) / P;
      const tries = [cap, S / P].map((tokenScale) => placeDocuments(idx, P, { cap, target, split, tokenScale }));
      const ok = (x: (typeof tries)[number]) => x.owned.every((o) => o.length > 0) && imbalanceOf(x.loads) <= target;
      const fits = tries.filter(ok);
      const d = fits.length
        ? fits.reduce((a, b) => (fetchTokens(idx, b.owned) < fetchTokens(idx, a.owned) ? b : a))
        : tries.reduce((a, b) => (imbalanceOf(b.loads) < imbalanceOf(a.loads) ? b : a));
      const empty = d.owned.findIndex((o) => o.length === 0);
      if (mode === 'documents' && empty >= 0)
        throw badInput(`dispatch: sharding=documents leaves rank ${empty} without tokens (${d.units} documents over ${P} ranks)`);
      if (empty < 0 && (mode === 'documents' || imbalanceOf(d.loads) <= target))
        placed = { owned: d.owned, used: { sharding: 'documents', split, max_token_ratio: ratio, target } };
      // Few documents for many ranks (global_sliding_window: the global tokens and the band) gain
      // little locality: auto keeps the granule placement when it fetches fewer keys.
      if (placed && mode === 'auto' && units <= 2 * P) {
        const g = granulePlacement(idx, P, layout, 'auto');
        if (fetchTokens(idx, g.owned) < fetchTokens(idx, placed.owned)) placed = g;
      }
    }
  }
  placed ??= granulePlacement(idx, P, layout, mode === 'auto' || mode === 'documents' || mode === 'granules' ? 'auto' : mode);
  let owned = placed.owned;
  let need = fetchSets(idx, owned);
  if (placed.used.sharding === 'documents') {
    const G = layoutInt('dispatch', layout, 'node', 8, 1);
    if (G > 1 && P > G) {
      const perm = nodeOrder(need, G);
      owned = perm.map((i) => owned[i]);
      need = fetchSets(idx, owned);
    }
    placed = { owned, used: { ...placed.used, node: G } };
  }
  const everyone = need.every((m, r) => m.size === P - 1 && [...m].every(([s, rs]) => rangesLength(rs) === rangesLength(owned[s])));
  const comm = commMode === 'auto' ? (everyone && P > 1 ? 'all_gather' : 'p2p') : commMode;
  // The layout that reproduces this plan when given back.
  const used = { ...placed.used, comm };
  // Document placements: each rank's remote-reading pieces first, tile-aligned (doc-order.ts).
  const order = placed.used.sharding === 'documents' ? owned.map((own) => tileOrder(idx, own, units0 ??= documentUnits(idx, 0))) : null;
  return build(mask, P, used, shape, idx, owned, need, comm, order);
};

function build(
  mask: Mask,
  P: number,
  layout: CpLayout,
  shape: CpShape,
  idx: AreaIndex,
  owned: Range[][],
  need: Map<number, Range[]>[],
  comm: 'p2p' | 'all_gather',
  order: Range[][] | null,
) {
  const bufs = new Buffers(shape);
  const waitStep = waitSteps();
  const HQ = allHeads(shape.headsQ);
  const HKV = allHeads(shape.headsKv);
  const group = Array.from({ length: P }, (_, r) => r);
  const all = (order ?? owned).flat();
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
    // Who fetches what from me, in rank order; what I fetch from whom, in rank order.
    const sendsTo: [number, Range[]][] = [];
    for (let r2 = 0; r2 < P; r2++) {
      const rs = r2 === r ? undefined : need[r2].get(r);
      if (rs) sendsTo.push([r2, rs]);
    }
    const fetches = [...need[r]].sort((a, b) => a[0] - b[0]);
    // Sent as is when the peer needs all of it in the same order (tileOrder may reorder ranges).
    const whole = (rs: Range[]) => rs.length === rb.owned.length && rs.every((x, i) => x.start === rb.owned[i].start && x.end === rb.owned[i].end);
    // Only the q ranges whose key columns reach a source's ranges take part in its steps.
    const exts = rb.owned.map((x) => idx.colExtent(x.start, x.end));
    const reach = (rs: readonly Range[]) => {
      const sorted = mergeSorted(rs);
      return exts.flatMap((e, i) => (rangesIntersect(e, sorted) ? [i] : []));
    };
    const pairWith = (rs: readonly Range[]) => attnPair(idx, rb.owned, rs, true, reach(rs))!;
    const fetchPhase = (steps: Step[], suffix: string) => {
      const ops: P2POp[] = [];
      for (const [r2, rs] of sendsTo) {
        let name = 'kv';
        if (!whole(rs)) {
          name = rb.buf(bufs.fresh(`kv.to${r2}${suffix}`, 'kv', rs, HKV));
          steps.push({ kind: 'copy', from: 'kv', into: name });
        }
        ops.push({ op: 'send', peer: r2, buf: name });
      }
      for (const [s, rs] of fetches) ops.push({ op: 'recv', peer: s, buf: rb.buf(bufs.fresh(`kv@${s}${suffix}`, 'kv', rs, HKV)) });
      if (ops.length) steps.push({ kind: 'p2p', ops, handle: `fetch${suffix}` });
      return ops.length > 0;
    };
    // Remote K/V: one buffer per source; with several sources they are concatenated first so
    // that one attention step (one restricted mask) covers them all.
    const single = fetches.length === 1;
    const remote = single ? fetches[0][1] : mergeSorted(fetches.flatMap(([, rs]) => rs));
    // Document placements: the remote step runs over the rows that read remote keys only (a copy
    // of them, tile-aligned first: doc-order.ts), so no query tile mixes them with local rows.
    const rows = fetches.length ? reach(remote) : [];
    const sub = order !== null && rows.length < rb.owned.length ? rows.map((i) => rb.owned[i]) : null;
    const remotePair = !fetches.length ? null : sub ? attnPair(idx, sub, remote, true)! : pairWith(remote);
    const gather = (steps: Step[], suffix: string): string => {
      if (single) return `kv@${fetches[0][0]}${suffix}`;
      const into = rb.buf(bufs.fresh(`kv.remote${suffix}`, 'kv', remote, HKV));
      for (const [s] of fetches) steps.push({ kind: 'copy', from: `kv@${s}${suffix}`, into });
      return into;
    };
    /** A buffer of the `sub` rows copied from `from` (declared with `tensor`, all its heads). */
    const subOf = (steps: Step[], from: string, name: string, tensor: 'q' | 'o' | 'do', heads = HQ) => {
      rb.buf(bufs.fresh(name, tensor, sub!, heads));
      steps.push({ kind: 'copy', from, into: name });
      return name;
    };
    // forward
    const fetching = fetchPhase(F, '');
    const localPair = pairWith(rb.owned);
    F.push(attnStep(q, kv, 'o', localPair, shape));
    if (fetching) F.push(waitStep('fetch'));
    if (remotePair && sub) {
      const kvRemote = rb.desc(gather(F, ''));
      const qr = rb.desc(subOf(F, 'q', 'q.r', 'q'));
      rb.buf(bufs.fresh('o.r', 'o', sub, HQ));
      F.push(attnStep(qr, kvRemote, 'o.r', remotePair, shape));
      subOf(F, 'o', 'o.s', 'o');
      F.push({ kind: 'merge', into: 'o.s', from: 'o.r' }, { kind: 'copy', from: 'o.s', into: 'o' });
    } else if (remotePair) {
      rb.buf(bufs.get('o.p', 'o', rb.owned, HQ));
      F.push(attnStep(q, rb.desc(gather(F, '')), 'o.p', remotePair, shape), { kind: 'merge', into: 'o', from: 'o.p' });
    }
    // backward
    const names = { o: 'o', dout: 'do', dq: 'dq' };
    const refetching = fetchPhase(B, '.b');
    B.push(attnBwdStep(q, kv, { ...names, dkv: 'dkv' }, localPair, shape));
    if (refetching) B.push(waitStep('fetch.b'));
    const ret: P2POp[] = [];
    if (remotePair) {
      const kvRemote = rb.desc(gather(B, '.b'));
      const dRemote = single ? `dkv@${fetches[0][0]}` : 'dkv.remote';
      if (!single) rb.buf(bufs.fresh(dRemote, 'dkv', remote, HKV));
      if (sub) {
        const qr = rb.desc(subOf(B, 'q', 'q.r.b', 'q'));
        const io = { o: subOf(B, 'o', 'o.r.b', 'o'), dout: subOf(B, 'do', 'do.r.b', 'do'), dq: 'dq.r', dkv: dRemote };
        rb.buf(bufs.fresh('dq.r', 'dq', sub, HQ));
        B.push(attnBwdStep(qr, kvRemote, io, remotePair, shape), { kind: 'accumulate', from: 'dq.r', into: 'dq' });
      } else B.push(attnBwdStep(q, kvRemote, { ...names, dkv: dRemote }, remotePair, shape));
      for (const [s, rs] of fetches) {
        const d = rb.buf(bufs.fresh(`dkv@${s}`, 'dkv', rs, HKV));
        if (!single) B.push({ kind: 'copy', from: dRemote, into: d });
        ret.push({ op: 'send', peer: s, buf: d });
      }
    }
    for (const [r2, rs] of sendsTo) ret.push({ op: 'recv', peer: r2, buf: rb.buf(bufs.fresh(`dkv.from${r2}`, 'dkv', rs, HKV)) });
    if (ret.length) {
      B.push({ kind: 'p2p', ops: ret });
      for (const [r2] of sendsTo) B.push({ kind: 'accumulate', from: `dkv.from${r2}`, into: 'dkv' });
    }
  }
  return assemblePlan('dispatch', P, layout, mask, shape, P > 1 ? { world: [group] } : {}, builders);
}

