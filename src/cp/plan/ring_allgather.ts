// ring_allgather (Llama 3 style): all-gather every rank's K/V once, attend the local queries to
// the whole gathered K/V (the restricted mask skips what they do not see). Backward gathers K/V
// again and reduce-scatters dK/dV back to the owners. Memory grows with P.
import type { Planner } from '../types.js';
import { AreaIndex } from './area.js';
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
  RankBuilder,
  shard,
  SHARDINGS,
  type LayoutParam,
} from './common.js';

export const params: readonly LayoutParam[] = [
  { key: 'sharding', kind: 'enum', values: SHARDINGS, description: 'contiguous, zigzag (default) or doc_zigzag (every document cut into 2P pieces zigzag)' },
];

export const plan: Planner = (mask, world, layout, shape) => {
  checkWorld('ring_allgather', world);
  checkLayoutKeys('ring_allgather', layout, params);
  checkShape(shape);
  checkSquare('ring_allgather', mask);
  const sharding = layoutEnum('ring_allgather', layout, 'sharding', SHARDINGS, 'zigzag');
  const owned = shard('ring_allgather', mask.seqlenQ, world, sharding, mask);
  const group = Array.from({ length: world }, (_, r) => r);
  const all = owned.flat(); // gathered tokens, in group order
  const idx = new AreaIndex(mask);
  const bufs = new Buffers(shape);
  const HQ = allHeads(shape.headsQ);
  const HKV = allHeads(shape.headsKv);
  const ranks = owned.map((own, r) => {
    const rb = new RankBuilder(r, own);
    declareIo(rb, bufs, shape, HQ, HKV);
    const q = rb.desc('q');
    const kvAll = rb.desc(rb.buf(bufs.get('kv.all', 'kv', all, HKV)));
    const kvAllB = rb.desc(rb.buf(bufs.get('kv.all.b', 'kv', all, HKV)));
    rb.buf(bufs.get('dkv.all', 'dkv', all, HKV));
    const pair = attnPair(idx, own, all, true)!;
    rb.forward.push({ kind: 'all_gather', group, input: 'kv', output: kvAll.name }, attnStep(q, kvAll, 'o', pair, shape));
    rb.backward.push(
      { kind: 'all_gather', group, input: 'kv', output: kvAllB.name },
      attnBwdStep(q, kvAllB, { o: 'o', dout: 'do', dq: 'dq', dkv: 'dkv.all' }, pair, shape),
      { kind: 'reduce_scatter', group, input: 'dkv.all', output: 'dkv' },
    );
    return rb;
  });
  return assemblePlan('ring_allgather', world, { sharding }, mask, shape, world > 1 ? { world: [group] } : {}, ranks);
};
