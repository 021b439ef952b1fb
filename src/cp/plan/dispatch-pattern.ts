// dispatch on dense masks without documents (full, causal): its own plan or another scheme's plan
// under dispatch's name (layout `pattern`), chosen by cost per direction (issue 14). The forward of
// one borrowed scheme and the backward of another make one plan (splice.ts):
// `pattern=<forward>_<backward>`, e.g. allgather_ring. Both halves then take the zigzag placement
// (ulysses too, whose own plan is contiguous), and a head-sharded backward (ring, usp, ulysses with
// a Ulysses degree > 1) re-creates its head shards of q / kv / o with all-to-alls of its own
// (ring.ts `recreate`) instead of reading those of a forward that did not run: the plan carries
// those collectives, so the checker proves them and the cost model prices them.
import type { Mask } from '../../mask/types.js';
import type { CpShape, Plan, PlanCost } from '../types.js';
import { AttnbenchError, badInput } from '../../errors.js';
import * as loongtrain from './loongtrain.js';
import { planHeadRing } from './ring.js';
import * as ringAllgather from './ring_allgather.js';
import * as ulysses from './ulysses.js';
import * as usp from './usp.js';
import { hoistRecreation } from './prefetch.js';
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

/**
 * One half of a pair: the scheme's plan on the zigzag placement (all-gather, ring and usp take it
 * by default; ulysses is moved onto it); as a backward half, head-sharded schemes re-create their
 * head shards (ring.ts `recreate`), so the half reads only q, kv, o and do.
 */
function pairHalf(p: Borrowed, half: 'fwd' | 'bwd', mask: Mask, P: number, shape: CpShape): Plan {
  if (p === 'allgather') return borrowedOne(p, mask, P, shape);
  const { ly, used } =
    p === 'ring' ? loongtrain.headRing(mask, P, {}, shape)
    : p === 'usp' ? usp.headRing(mask, P, {}, shape)
    : ulysses.headRing(mask, P, P > shape.headsKv ? { replicate_kv: 1 } : {}, shape);
  const scheme = p === 'ring' ? 'loongtrain' : p;
  const half_ = { ...ly, sharding: p === 'ulysses' ? ('zigzag' as const) : ly.sharding, recreate: half === 'bwd' };
  return { ...planHeadRing(scheme, mask, P, half_, shape, used), scheme: 'dispatch', layout: { pattern: p } };
}

/** The forward of `f` and the backward of `b` as one plan (layout {pattern: f_b}). */
function pairPlan(f: Borrowed, b: Borrowed, mask: Mask, P: number, shape: CpShape): Plan {
  const pattern = `${f}_${b}`;
  const p = splicePlans(pairHalf(f, 'fwd', mask, P, shape), pairHalf(b, 'bwd', mask, P, shape), { pattern });
  if (!p) throw badInput(`dispatch: pattern=${pattern}: ${f}'s forward and ${b}'s backward cannot share one plan here (the backward must find the same placement and read only q, kv, o, do: splice.ts)`);
  return p;
}

/** That pair with the backward's q / kv re-creation run during the forward (prefetch.ts), or null when its backward re-creates nothing. */
function prefetched(pair: Plan): Plan | null {
  return hoistRecreation(pair, { ...pair.layout, prefetch: 1 });
}

/** The plan of an explicit pattern (one scheme, or a forward and a backward over one placement). */
export function borrowed(pattern: string, mask: Mask, P: number, shape: CpShape, prefetch = false): Plan {
  const [f, b] = pattern.split('_') as Borrowed[];
  if (b === undefined) return borrowedOne(f, mask, P, shape);
  const pair = pairPlan(f, b, mask, P, shape);
  if (!prefetch) return pair;
  const p = prefetched(pair);
  if (!p) throw badInput(`dispatch: prefetch=1 with pattern=${pattern}: ${b}'s backward re-creates no head shards here (nothing to prefetch)`);
  return p;
}

/** Pairs evaluated (built and simulated) at most per choice: planning time stays bounded. */
export const MAX_PAIRS = 2;

/**
 * The cheapest of `own` and the borrowed plans by forward + backward time; then the pairs
 * (forward of one borrowed plan, backward of another, splice.ts) whose halves' own times
 * (fwd of f + bwd of b: a lower bound, the spliced backward adds the re-creation of its head
 * shards where it has any) beat that, cheapest bound first, at most MAX_PAIRS of them tried: each
 * with its re-creation in the backward, or its q / kv part during the forward (`prefetch=1`,
 * prefetch.ts). Only the best plan found stays in memory (P = 1024 plans are large). Ties keep
 * the earlier (own first, then BORROWED's order, one plan before a pair, in the backward before
 * prefetched).
 */
export function cheapestPattern(own: Plan, mask: Mask, P: number, shape: CpShape, cost: PlanCost): Plan {
  type Cand = { name: 'own' | Borrowed; plan: Plan | null; fwd: number; bwd: number };
  const cands: Cand[] = [{ name: 'own', plan: own, fwd: cost(own, 'fwd'), bwd: cost(own, 'bwd') }];
  let best = cands[0];
  for (const p of BORROWED) {
    let plan: Plan;
    try {
      plan = borrowedOne(p, mask, P, shape);
    } catch (e) {
      if (e instanceof AttnbenchError) continue; // not plannable here (e.g. ulysses past the heads)
      throw e;
    }
    const c: Cand = { name: p, plan, fwd: cost(plan, 'fwd'), bwd: cost(plan, 'bwd') };
    cands.push(c);
    if (c.fwd + c.bwd < best.fwd + best.bwd) best = c;
  }
  for (const c of cands) if (c !== best) c.plan = null; // halves are rebuilt when a pair is tried
  let bestPlan = best.plan!;
  let bestCost = best.fwd + best.bwd;
  const pairs: { f: Cand; b: Cand; bound: number }[] = [];
  for (const f of cands) for (const b of cands) if (f !== b && f.name !== 'own' && b.name !== 'own') pairs.push({ f, b, bound: f.fwd + b.bwd });
  pairs.sort((x, y) => x.bound - y.bound);
  let tried = 0;
  for (const { f, b, bound } of pairs) {
    if (bound >= bestCost || tried >= MAX_PAIRS) break;
    tried++;
    const fb = `${f.name}_${b.name}`;
    let bHalf: Plan;
    try {
      bHalf = pairHalf(b.name as Borrowed, 'bwd', mask, P, shape);
    } catch (e) {
      if (e instanceof AttnbenchError) continue;
      throw e;
    }
    // A re-creating backward costs at least its prefetched form (o's all-to-all only): priced
    // first, it prunes the pair before the forward half is built or anything else simulated.
    const preB = hoistRecreation(bHalf, bHalf.layout);
    const preBwd = preB ? cost(preB, 'bwd') : cost(bHalf, 'bwd');
    if (f.fwd + preBwd >= bestCost && f.name !== 'ulysses') continue;
    const plan = splicePlans(pairHalf(f.name as Borrowed, 'fwd', mask, P, shape), bHalf, { pattern: fb });
    if (!plan) continue;
    // Per direction a spliced plan costs what its halves cost (the same steps), except the
    // forward of ulysses, which the pair moves to zigzag, and a prefetched forward.
    const fwd = f.name === 'ulysses' ? cost(plan, 'fwd') : f.fwd;
    const c = fwd + (preB ? cost(bHalf, 'bwd') : preBwd);
    if (c < bestCost) [bestPlan, bestCost] = [plan, c];
    const pre = preB && fwd + preBwd < bestCost ? prefetched(plan) : null;
    if (pre) {
      const cp = cost(pre, 'fwd') + preBwd;
      if (cp < bestCost) [bestPlan, bestCost] = [pre, cp];
    }
  }
  return bestPlan;
}
