// One plan from two (issue 14): the forward of one and the backward of another, where both place
// the same tokens on the same ranks. Only the step structure then differs per direction, so
// dispatch can choose each direction's form by its own cost (its exchange routes, another scheme's
// steps) without moving a token between the forward and the backward.
//
// Sound when (checked here; else null):
//   - same world, and every rank owns the same token ranges in the same order;
//   - the well-known buffers (q, kv, o, do, dq, dkv) are declared alike;
//   - the backward reads no buffer its own forward created (a saved activation other than o),
//     since that forward does not run;
//   - the two directions create no buffer of the same name (a receive never overwrites a live
//     buffer). Process groups (steps name their ranks; `groups` lists them for executors that
//     create them up front) are united, the backward's under `<name>.bwd` where a name differs.
// The spliced rank declares the well-known buffers and those its steps name. The checker and the
// executors see an ordinary plan.
import type { BufferDesc, Plan, RankProgram, Step } from '../types.js';

const IO = new Set(['q', 'kv', 'o', 'do', 'dq', 'dkv']);

/** The declared buffer names that `steps` mention (any string field, nested arrays and op lists). */
export function namesIn(steps: readonly Step[], declared: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      if (declared.has(v)) out.add(v);
    } else if (Array.isArray(v)) {
      for (const x of v) visit(x);
    } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      for (const [k, x] of Object.entries(v)) if (k !== 'mask') visit(x);
    }
  };
  for (const s of steps) visit(s);
  return out;
}

const sameDesc = (a: BufferDesc | undefined, b: BufferDesc | undefined) => a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);

function spliceRank(f: RankProgram, b: RankProgram): RankProgram | null {
  if (JSON.stringify(f.owned) !== JSON.stringify(b.owned)) return null;
  const fBufs = new Map(f.buffers.map((x) => [x.name, x]));
  const bBufs = new Map(b.buffers.map((x) => [x.name, x]));
  for (const n of IO) if ((fBufs.has(n) || bBufs.has(n)) && !sameDesc(fBufs.get(n), bBufs.get(n))) return null;
  const usedF = namesIn(f.forward, new Set(fBufs.keys()));
  const usedB = namesIn(b.backward, new Set(bBufs.keys()));
  const bForward = namesIn(b.forward, new Set(bBufs.keys()));
  for (const n of usedB) {
    if (IO.has(n)) continue;
    if (bForward.has(n)) return null; // a saved activation of the other forward
    if (usedF.has(n)) return null; // both directions create it
  }
  const buffers = [
    ...f.buffers.filter((x) => IO.has(x.name) || usedF.has(x.name)),
    ...b.buffers.filter((x) => !IO.has(x.name) && usedB.has(x.name)),
  ];
  return { rank: f.rank, owned: f.owned, buffers, forward: f.forward, backward: b.backward };
}

/** The forward of `fwd` and the backward of `bwd` as one plan (layout `layout`), or null when they cannot share a placement. */
export function splicePlans(fwd: Plan, bwd: Plan, layout: Plan['layout']): Plan | null {
  if (fwd.world !== bwd.world || fwd.seqlen !== bwd.seqlen || JSON.stringify(fwd.shape) !== JSON.stringify(bwd.shape)) return null;
  const groups: Record<string, Plan['groups'][string]> = { ...fwd.groups };
  for (const [k, g] of Object.entries(bwd.groups)) {
    if (!(k in groups)) groups[k] = g;
    else if (JSON.stringify(groups[k]) !== JSON.stringify(g)) groups[`${k}.bwd`] = g; // informational: steps name their ranks
  }
  const ranks: RankProgram[] = [];
  for (let r = 0; r < fwd.world; r++) {
    const x = spliceRank(fwd.ranks[r], bwd.ranks[r]);
    if (!x) return null;
    ranks.push(x);
  }
  return { scheme: fwd.scheme, world: fwd.world, layout, seqlen: fwd.seqlen, shape: fwd.shape, groups, ranks };
}
