// A pair's backward half that re-creates its head shards (ring.ts `recreate`) spends three
// all-to-alls (q, kv, o) before its first attention step. q and kv exist before the forward runs,
// so their two all-to-alls can instead run during the forward's compute: `hoistRecreation` moves
// them out of the backward into the forward (started async right before its first attention step,
// and waited, with the copies into the head shards, after its last step), leaving only o's
// all-to-all in the backward. The plan stays plain data: the checker proves it, the cost model prices the forward
// with the extra traffic in flight (issue 14).
import type { Plan, RankProgram, Step } from '../types.js';

const PREFIXES = ['re.q.', 're.kv.'] as const;
const recreated = (name: string) => PREFIXES.some((p) => name.startsWith(p));

function hoistRank(r: RankProgram): RankProgram | null {
  const pre: Step[] = [];
  const post: Step[] = [];
  const waits: Step[] = [];
  const rest: Step[] = [];
  for (const s of r.backward) {
    if (s.kind === 'copy' && (s.from === 'q' || s.from === 'kv') && recreated(s.into)) pre.push(s);
    else if (s.kind === 'all_to_all' && s.send.length > 0 && s.send.every(recreated)) {
      const handle = `${s.send[0].slice(0, s.send[0].lastIndexOf('.'))}.pre`; // re.q.pre, re.kv.pre
      pre.push({ ...s, handle });
      waits.push({ kind: 'wait', handle });
    } else if (s.kind === 'copy' && recreated(s.from)) post.push(s);
    else rest.push(s);
  }
  if (waits.length === 0) return null;
  // Started right before the forward's first attention step: after the collectives that feed it,
  // which would otherwise queue behind the prefetch on a shared channel (NCCL runs a
  // communicator's operations in order).
  let at = r.forward.findIndex((s) => s.kind === 'attn');
  if (at < 0) at = r.forward.length;
  return { ...r, forward: [...r.forward.slice(0, at), ...pre, ...r.forward.slice(at), ...waits, ...post], backward: rest };
}

/** `plan` with its backward's q / kv head-shard re-creation run during the forward (layout `layout`), or null when it has none. */
export function hoistRecreation(plan: Plan, layout: Plan['layout']): Plan | null {
  const ranks: RankProgram[] = [];
  for (const r of plan.ranks) {
    const h = hoistRank(r);
    if (!h) return null;
    ranks.push(h);
  }
  return { ...plan, layout, ranks };
}
