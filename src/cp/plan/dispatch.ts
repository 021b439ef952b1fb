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
//    it owns, split by owner. Batched p2p moves exactly those ranges, then one attention step
//    covers all of them (concatenated); when every rank needs everything it is an all-gather
//    instead. Routes (layout `exchange`, dispatch-routes.ts): direct (one batch, during the local
//    step), or relay (auto: when it at least halves the busiest NIC's load): keys from another
//    node cross InfiniBand once per node, to one relay rank that forwards them to the others
//    over NVLink (a second batch, during the local step), and an owner's messages to other
//    nodes leave through its node's NICs (egress helpers). Backward fetches again, computes the
//    remote dK/dV in one step and sends it back the same routes (relays sum their node's
//    gradients first), where the owner adds it into its dkv (dispatch-build.ts). So a rank runs
//    at most three attention steps per direction (local or its two head halves, remote),
//    whatever the placement.
// 3. Form, by cost (plan-cost.ts: the slowest rank's simulated forward + backward, with the
//    caller's cost model or a generic one): within one node (direct routes) each direction runs
//    `steps=one` or `overlap`, whichever costs less; dense masks without documents (full, causal)
//    take the cheapest of this plan and other schemes' plans under dispatch's name (layout
//    `pattern`: loongtrain's ring, usp, ulysses, ring_allgather). An explicit layout key
//    overrides the choice, and the plan's layout records it.
import type { Range } from '../../mask/types.js';
import type { CpLayout, CpShape, Plan, PlanCost, Planner } from '../types.js';
import type { Mask } from '../../mask/types.js';
import { AreaIndex, rangesLength } from './area.js';
import { tileOrder } from './doc-order.js';
import { documentUnits, placeDocuments } from './doc-place.js';
import { nodeOrder } from './doc-nodes.js';
import { buildDispatch } from './dispatch-build.js';
import { directRoutes, interNodePeak, relayRoutes } from './dispatch-routes.js';
import { fetchSets, fetchTokens, granulePlacement, imbalanceOf, layoutNumber } from './dispatch-granules.js';
import { checkLayoutKeys, checkShape, checkSquare, checkWorld, layoutEnum, layoutInt, type LayoutParam } from './common.js';
import { badInput } from '../../errors.js';
import { maskArea } from '../../mask/slices.js';
import * as loongtrain from './loongtrain.js';
import * as ringAllgather from './ring_allgather.js';
import * as ulysses from './ulysses.js';
import * as usp from './usp.js';
import { defaultPlanCost, stepCost } from './plan-cost.js';
import { AttnbenchError } from '../../errors.js';

const SHARDING_MODES = ['auto', 'documents', 'granules', 'contiguous', 'chunked', 'chunked_local'] as const;
const SPLIT_MODES = ['fill', 'zigzag'] as const;
const COMM_MODES = ['auto', 'p2p', 'all_gather'] as const;
const EXCHANGE_MODES = ['auto', 'direct', 'relay'] as const;
const PATTERNS = ['auto', 'own', 'ring', 'usp', 'ulysses', 'allgather'] as const;
/** steps: both directions, or `<forward>_<backward>`. */
const STEPS_MODES = ['auto', 'one', 'overlap', 'one_overlap', 'overlap_one'] as const;
type Pattern = Exclude<(typeof PATTERNS)[number], 'auto' | 'own'>;
type Steps = Exclude<(typeof STEPS_MODES)[number], 'auto'>;
const stepsOf = (fwd: boolean, bwd: boolean): Steps => (fwd === bwd ? (fwd ? 'one' : 'overlap') : fwd ? 'one_overlap' : 'overlap_one');

/** Another scheme's plan with its defaults, under dispatch's name (layout {pattern}). */
function borrowed(p: Pattern, mask: Mask, P: number, shape: CpShape): Plan {
  const plan =
    p === 'ring' ? loongtrain.plan(mask, P, {}, shape)
    : p === 'usp' ? usp.plan(mask, P, {}, shape)
    : p === 'ulysses' ? ulysses.plan(mask, P, P > shape.headsKv ? { replicate_kv: 1 } : {}, shape)
    : ringAllgather.plan(mask, P, {}, shape);
  return { ...plan, scheme: 'dispatch', layout: { pattern: p } };
}

export const params: readonly LayoutParam[] = [
  {
    key: 'sharding',
    kind: 'enum',
    values: SHARDING_MODES,
    description:
      'auto (default: documents when the mask has documents and that meets the target, else granules), documents (whole documents per rank, doc-place.ts), granules (the fewest bytes of contiguous / chunked / chunked_local within the target: the placement before issue 14), contiguous, chunked or chunked_local',
  },
  { key: 'split', kind: 'enum', values: SPLIT_MODES, description: 'documents: how documents too large for one rank are cut: zigzag (k equal-token head/tail pairs: every piece owner sends about as much as it receives) or fill (k contiguous equal-area pieces: about 10% fewer bytes in all, but the head piece is large and goes to the rank of every later piece); default: the cheaper of the two by the cost model (plan-cost.ts)' },
  { key: 'chunks', kind: 'int', description: 'chunks per rank for chunked sharding (default: the fewest of 1, 2, 4, ... that meet the target)' },
  { key: 'granule', kind: 'int', description: 'token granularity of cuts (default: a power of two <= 128, >= 16 granules per rank)' },
  { key: 'comm', kind: 'enum', values: COMM_MODES, description: 'auto (default), p2p or all_gather' },
  { key: 'target', kind: 'number', description: 'area imbalance bound (default 1.05 for documents, 1.02 for granule shardings)' },
  { key: 'node', kind: 'int', description: 'GPUs per node (default 8) for the documents rank order (token sets that exchange most share a node, doc-nodes.ts; 1 keeps the placement\'s order) and the relay exchange' },
  {
    key: 'pattern',
    kind: 'enum',
    values: PATTERNS,
    description:
      "own (this placement and fetch), ring (loongtrain's head x context double ring with its defaults: every hop overlaps a step of compute), usp, ulysses (K/V replicated past the KV heads), allgather (ring_allgather's plan with its defaults) or auto (default: for masks without documents that cover at least a quarter of S x S, when no other layout key is given, the cheapest of own and the others by the cost model (plan-cost.ts); else own)",
  },
  { key: 'exchange', kind: 'enum', values: EXCHANGE_MODES, description: 'p2p routes of the K/V exchange: direct (every rank fetches from every owner), relay (keys from another node cross InfiniBand once per node, to one relay rank that forwards them over NVLink: dispatch-routes.ts) or auto (default: relay when it at least halves the most key tokens a rank sends or receives across nodes, else direct)' },
  {
    key: 'steps',
    kind: 'enum',
    values: STEPS_MODES,
    description:
      "one (the exchange first, then ONE attention step per direction over the rank's rows against its own K/V and what it received, concatenated: no merge; direct routes only), overlap (the local step runs during the exchange, then a remote step and a merge), one_overlap / overlap_one (forward / backward differ) or auto (default: with direct routes and p2p (within one node), per direction the cheaper of one and overlap by the cost model (plan-cost.ts); else overlap)",
  },
  { key: 'max_token_ratio', kind: 'number', description: 'largest tokens per rank / mean (default 1.5 for documents, 2 for chunked, none for contiguous)' },
];

export const plan: Planner = (mask, world, layout, shape, opts) => {
  checkWorld('dispatch', world);
  checkLayoutKeys('dispatch', layout, params);
  checkShape(shape);
  checkSquare('dispatch', mask);
  const S = mask.seqlenQ;
  const P = world;
  if (S < P) throw badInput(`dispatch: seqlen ${S} is smaller than world ${P} (every rank needs at least one token)`);
  const pattern = layoutEnum('dispatch', layout, 'pattern', PATTERNS, 'auto');
  const G = layoutInt('dispatch', layout, 'node', 8, 1);
  let cost: PlanCost | undefined = opts?.cost;
  const costOf = () => (cost ??= defaultPlanCost(G));
  if (pattern !== 'auto' && pattern !== 'own') {
    for (const k of Object.keys(layout)) if (k !== 'pattern') throw badInput(`dispatch: layout ${k} does not apply with pattern=${pattern} (that scheme's defaults)`);
    return borrowed(pattern, mask, P, shape);
  }
  const idx = new AreaIndex(mask);
  // Dense masks without documents (full, causal), when no layout is given: the cheapest of this
  // plan and the other schemes' (its one remote step over up to the whole sequence is fed by an
  // exchange that only the rank's own diagonal blocks can hide, where the ring schemes overlap
  // every hop with a step of compute: README CP section). Ties keep the first (own).
  if (pattern === 'auto' && Object.keys(layout).length === 0 && P > 1) {
    const area = maskArea(mask);
    if (area >= 0.25 * S * S && documentUnits(idx, 0).length <= 1) {
      let best = planOwn(mask, P, layout, shape, idx, G, costOf);
      let bestCost = stepCost(costOf(), best);
      for (const p of ['ring', 'usp', 'ulysses', 'allgather'] as const) {
        let c: Plan;
        try {
          c = borrowed(p, mask, P, shape);
        } catch (e) {
          if (e instanceof AttnbenchError) continue; // not plannable here (e.g. ulysses past the heads)
          throw e;
        }
        const x = stepCost(costOf(), c);
        if (x < bestCost) [best, bestCost] = [c, x];
      }
      return best;
    }
  }
  return planOwn(mask, P, layout, shape, idx, G, costOf);
};

/**
 * dispatch's own placement and fetch (pattern=own). Document placements without a `split` given
 * take the cheaper of zigzag and fill by cost (simulated H100 flex, paper-cp: fill led on
 * full_document at most P, e.g. P = 1024 252 / 184 against 214 / 166 TFLOP/s per GPU, zigzag on
 * causal_document: README CP section); ties keep zigzag.
 */
function planOwn(mask: Mask, P: number, layout: CpLayout, shape: CpShape, idx: AreaIndex, G: number, costOf: () => PlanCost): Plan {
  const mode = layoutEnum('dispatch', layout, 'sharding', SHARDING_MODES, 'auto');
  if (layout.split !== undefined || (mode !== 'auto' && mode !== 'documents')) return planPlaced(mask, P, layout, shape, idx, G, costOf);
  const zigzag = planPlaced(mask, P, { ...layout, split: 'zigzag' }, shape, idx, G, costOf);
  if (zigzag.layout.sharding !== 'documents') return zigzag; // no document placement: split does not apply (nor is it recorded)
  const fill = planPlaced(mask, P, { ...layout, split: 'fill' }, shape, idx, G, costOf);
  return fill.layout.sharding === 'documents' && stepCost(costOf(), fill) < stepCost(costOf(), zigzag) ? fill : zigzag;
}

function planPlaced(mask: Mask, P: number, layout: CpLayout, shape: CpShape, idx: AreaIndex, G: number, costOf: () => PlanCost): Plan {
  const S = mask.seqlenQ;
  const mode = layoutEnum('dispatch', layout, 'sharding', SHARDING_MODES, 'auto');
  const commMode = layoutEnum('dispatch', layout, 'comm', COMM_MODES, 'auto');
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
    if (G > 1 && P > G) {
      const perm = nodeOrder(need, G);
      owned = perm.map((i) => owned[i]);
      need = fetchSets(idx, owned);
    }
    placed = { owned, used: { ...placed.used, node: G } };
  }
  const everyone = need.every((m, r) => m.size === P - 1 && [...m].every(([s, rs]) => rangesLength(rs) === rangesLength(owned[s])));
  const comm = commMode === 'auto' ? (everyone && P > 1 ? 'all_gather' : 'p2p') : commMode;
  const exMode = layoutEnum('dispatch', layout, 'exchange', EXCHANGE_MODES, 'auto');
  // auto: relays when they at least halve the busiest NIC's load (an extra NVLink phase costs a
  // synchronisation: block_causal_document at P = 64 moved 1.5x fewer bytes over its busiest NIC
  // with relays, and its simulated forward fell from 343 to 277 TFLOP/s per GPU).
  const stepsMode = layoutEnum('dispatch', layout, 'steps', STEPS_MODES, 'auto');
  const given = stepsMode === 'auto' ? null : { fwd: stepsMode.startsWith('one'), bwd: stepsMode.endsWith('one') };
  if (given && (given.fwd || given.bwd) && exMode === 'relay') throw badInput('dispatch: steps=one takes direct routes only (exchange=relay forwards during the local step)');
  let routes = directRoutes(need);
  let exchange: 'direct' | 'relay' = 'direct';
  if (comm === 'p2p' && G > 1 && P > G && exMode !== 'direct' && !(given && (given.fwd || given.bwd))) {
    const relay = relayRoutes(need, G);
    if (exMode === 'relay' || interNodePeak(relay, G) < 0.5 * interNodePeak(routes, G)) [routes, exchange] = [relay, 'relay'];
  }
  // Document placements: each rank's remote-reading pieces first, tile-aligned (doc-order.ts).
  const order = placed.used.sharding === 'documents' ? owned.map((own) => tileOrder(idx, own, units0 ??= documentUnits(idx, 0))) : null;
  // steps auto: with p2p over direct routes, per direction the cheaper of one and overlap (the
  // same messages; over several nodes `one` would give up the relays: simulated P = 16-64 7-62%
  // slower on the H100 flex curves, README CP section, so it is a candidate only where the
  // routes are direct anyway). The layout records steps wherever it was a choice. A granule
  // sharding named in the layout keeps the overlapped form unless steps is given too, so layouts
  // recorded before this choice (the measured H200 rows) replay as they ran.
  const named = mode !== 'auto' && mode !== 'documents';
  const choose = !given && !named && comm === 'p2p' && exchange === 'direct';
  const base = { ...placed.used, comm, ...(exchange === 'relay' ? { exchange, node: G } : {}) };
  const build = (one: { fwd: boolean; bwd: boolean }) =>
    buildDispatch(mask, P, given || choose ? { ...base, steps: stepsOf(one.fwd, one.bwd) } : base, shape, idx, owned, need, comm, order, routes, one);
  if (!choose) return build(given ?? { fwd: false, bwd: false });
  const cost = costOf();
  const over = build({ fwd: false, bwd: false });
  const one = build({ fwd: true, bwd: true });
  const fwd = cost(one, 'fwd') < cost(over, 'fwd');
  const bwd = cost(one, 'bwd') < cost(over, 'bwd');
  return fwd === bwd ? (fwd ? one : over) : build({ fwd, bwd });
}
