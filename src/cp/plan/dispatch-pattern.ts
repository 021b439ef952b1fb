// dispatch on dense masks without documents (full, causal): its own plan or another scheme's plan
// under dispatch's name (layout `pattern`), chosen by cost per direction (issue 14). Where two
// schemes place the same tokens on the same ranks (ring = loongtrain, usp and allgather =
// ring_allgather all take zigzag by default), the forward of one and the backward of the other
// make one plan (splice.ts): `pattern=<forward>_<backward>`, e.g. allgather_ring.
import type { Mask } from '../../mask/types.js';
import type { CpShape, Plan, PlanCost } from '../types.js';
import { AttnbenchError, badInput } from '../../errors.js';
import * as loongtrain from './loongtrain.js';
import * as ringAllgather from './ring_allgather.js';
import * as ulysses from './ulysses.js';
import * as usp from './usp.js';
import { splicePlans } from './splice.js';

export const BORROWED = ['ring', 'usp', 'ulysses', 'allgather'] as const;
export type Borrowed = (typeof BORROWED)[number];
/** Every `pattern` value: auto, own, a borrowed scheme, or `<forward>_<backward>` of two. */
export const PATTERNS = ['auto', 'own', ...BORROWED, ...BORROWED.flatMap((a) => BORROWED.filter((b) => b !== a).map((b) => `${a}_${b}`))] as const;

/** Another scheme's plan with its defaults, under dispatch's name (layout {pattern}). */
function borrowedOne(p: Borrowed, mask: Mask, P: number, shape: CpShape): Plan {
  const plan =
    p === 'ring' ? loongtrain.plan(mask, P, {}, shape)
    : p === 'usp' ? usp.plan(mask, P, {}, shape)
    : p === 'ulysses' ? ulysses.plan(mask, P, P > shape.headsKv ? { replicate_kv: 1 } : {}, shape)
    : ringAllgather.plan(mask, P, {}, shape);
  return { ...plan, scheme: 'dispatch', layout: { pattern: p } };
}

/** The plan of an explicit pattern (one scheme, or a forward and a backward over one placement). */
export function borrowed(pattern: string, mask: Mask, P: number, shape: CpShape): Plan {
  const [f, b] = pattern.split('_') as Borrowed[];
  if (b === undefined) return borrowedOne(f, mask, P, shape);
  const p = splicePlans(borrowedOne(f, mask, P, shape), borrowedOne(b, mask, P, shape), { pattern });
  if (!p) throw badInput(`dispatch: pattern=${pattern}: ${f}'s forward and ${b}'s backward cannot share one plan here (the backward must find the same placement and read only q, kv, o, do: splice.ts)`);
  return p;
}

/**
 * The cheapest of `own` and the borrowed plans by forward + backward time; then, when the fastest
 * forward and the fastest backward belong to two borrowed plans that share a placement, their
 * pair if it is faster still. Only those three plans stay in memory (P = 1024 plans are large).
 * Ties keep the earlier (own first, then BORROWED's order, one plan before a pair).
 */
export function cheapestPattern(own: Plan, mask: Mask, P: number, shape: CpShape, cost: PlanCost): Plan {
  type Cand = { name: string; plan: Plan; fwd: number; bwd: number };
  const first: Cand = { name: 'own', plan: own, fwd: cost(own, 'fwd'), bwd: cost(own, 'bwd') };
  let [best, bestF, bestB] = [first, first, first];
  for (const p of BORROWED) {
    let plan: Plan;
    try {
      plan = borrowedOne(p, mask, P, shape);
    } catch (e) {
      if (e instanceof AttnbenchError) continue; // not plannable here (e.g. ulysses past the heads)
      throw e;
    }
    const c: Cand = { name: p, plan, fwd: cost(plan, 'fwd'), bwd: cost(plan, 'bwd') };
    if (c.fwd + c.bwd < best.fwd + best.bwd) best = c;
    if (c.fwd < bestF.fwd) bestF = c;
    if (c.bwd < bestB.bwd) bestB = c;
  }
  if (bestF === bestB || bestF.name === 'own' || bestB.name === 'own' || bestF.fwd + bestB.bwd >= best.fwd + best.bwd) return best.plan;
  return splicePlans(bestF.plan, bestB.plan, { pattern: `${bestF.name}_${bestB.name}` }) ?? best.plan;
}
