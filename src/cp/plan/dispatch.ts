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
//    step), or relay (chosen by cost per direction for document placements; for granule ones
//    when it at least halves the busiest NIC's load): keys from another
//    node cross InfiniBand once per node, to one relay rank that forwards them to the others
//    over NVLink (a second batch, during the local step), and an owner's messages to other
//    nodes leave through its node's NICs (egress helpers). Backward fetches again, computes the
//    remote dK/dV in one step and sends it back the same routes (relays sum their node's
//    gradients first), where the owner adds it into its dkv (dispatch-build.ts). So a rank runs
//    at most three attention steps per direction (local or its two head halves, remote),
//    whatever the placement.
// 3. Form, by cost (plan-cost.ts: the slowest rank's simulated forward + backward, with the
//    caller's cost model or a generic one): each direction on direct routes runs `steps=one` or
//    `overlap`, whichever costs less; document placements over several nodes take relays or
//    direct routes per direction (a forward and a backward of two forms over one placement:
//    splice.ts), direct ones bounded by their busiest NIC before they are simulated; dense masks
//    without documents (full, causal) take the cheapest of this plan and other schemes' plans
//    under dispatch's name (layout `pattern`: loongtrain's ring, usp, ulysses, ring_allgather,
//    or a forward and a backward of two of them: dispatch-pattern.ts). An explicit layout key
//    overrides the choice, and the plan's layout records it.
import type { Range } from '../../mask/types.js';
import type { CpLayout, CpShape, Plan, PlanCost, Planner } from '../types.js';
import type { Mask } from '../../mask/types.js';
import { AreaIndex, rangesLength } from './area.js';
import { tileOrder } from './doc-order.js';
import { documentUnits, placeDocuments } from './doc-place.js';
import { nodeOrder } from './doc-nodes.js';
import { buildDispatch } from './dispatch-build.js';
import { directRoutes, interNodePeak, relayRoutes, type Routes } from './dispatch-routes.js';
import { splicePlans } from './splice.js';
import { fetchSets, fetchTokens, granulePlacement, imbalanceOf, layoutNumber } from './dispatch-granules.js';
import { checkLayoutKeys, checkShape, checkSquare, checkWorld, layoutEnum, layoutInt, type LayoutParam } from './common.js';
import { badInput } from '../../errors.js';
import { maskArea } from '../../mask/slices.js';
import { borrowed, cheapestPattern, PATTERNS } from './dispatch-pattern.js';
import { defaultPlanCost, memoCost, stepCost } from './plan-cost.js';

const SHARDING_MODES = ['auto', 'documents', 'granules', 'contiguous', 'chunked', 'chunked_local'] as const;
const SPLIT_MODES = ['fill', 'zigzag'] as const;
const COMM_MODES = ['auto', 'p2p', 'all_gather'] as const;
/** exchange: both directions, or `<forward>_<backward>`. */
const EXCHANGE_MODES = ['auto', 'direct', 'relay', 'relay_direct', 'direct_relay'] as const;
/** steps: both directions, or `<forward>_<backward>`. */
const STEPS_MODES = ['auto', 'one', 'overlap', 'one_overlap', 'overlap_one'] as const;
type Steps = Exclude<(typeof STEPS_MODES)[number], 'auto'>;
const stepsOf = (fwd: boolean, bwd: boolean): Steps => (fwd === bwd ? (fwd ? 'one' : 'overlap') : fwd ? 'one_overlap' : 'overlap_one');

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
      "own (this placement and fetch), ring (loongtrain's head x context double ring with its defaults: every hop overlaps a step of compute), usp, ulysses (K/V replicated past the KV heads), allgather (ring_allgather's plan with its defaults), <forward>_<backward> of two of those (splice.ts: both on the zigzag placement; a head-sharded backward re-creates its head shards of q / kv / o with all-to-alls of its own) or auto (default: for masks without documents that cover at least a quarter of S x S, when no other layout key is given, the cheapest of own, the others and their pairs by the cost model (plan-cost.ts); else own)",
  },
  { key: 'prefetch', kind: 'int', description: "with pattern=<forward>_<backward> whose backward re-creates head shards: 1 runs the all-to-alls of q and kv during the forward (async, waited after its last step), leaving o's in the backward; 0 (default) keeps all three in the backward. auto records the cheaper" },
  { key: 'exchange', kind: 'enum', values: EXCHANGE_MODES, description: 'p2p routes of the K/V exchange: direct (every rank fetches from every owner), relay (keys from another node cross InfiniBand once per node, to one relay rank that forwards them over NVLink: dispatch-routes.ts), relay_direct / direct_relay (forward / backward differ) or auto (default: document placements over 2-16 nodes: per direction the cheaper by the cost model (plan-cost.ts), direct routes skipped where their busiest NIC alone takes longer than the relays; granule placements, and document ones over more nodes: relay when it at least halves the most key tokens a rank sends or receives across nodes, else direct)' },
  {
    key: 'steps',
    kind: 'enum',
    values: STEPS_MODES,
    description:
      "one (the exchange first, then ONE attention step per direction over the rank's rows against its own K/V and what it received, concatenated: no merge; direct routes only), overlap (the local step runs during the exchange, then a remote step and a merge), one_overlap / overlap_one (forward / backward differ) or auto (default: with p2p, per direction on direct routes the cheaper of one and overlap by the cost model (plan-cost.ts); relayed directions overlap)",
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
  let cost: PlanCost | undefined;
  const costOf = () => (cost ??= memoCost(opts?.cost ?? defaultPlanCost(G)));
  if (pattern !== 'auto' && pattern !== 'own') {
    const pair = pattern.includes('_');
    for (const k of Object.keys(layout))
      if (k !== 'pattern' && !(k === 'prefetch' && pair)) throw badInput(`dispatch: layout ${k} does not apply with pattern=${pattern} (that scheme's defaults${pair ? '; prefetch only' : ''})`);
    const prefetch = layoutInt('dispatch', layout, 'prefetch', 0, 0);
    if (prefetch > 1) throw badInput(`dispatch: layout prefetch=${prefetch} must be 0 or 1`);
    return borrowed(pattern, mask, P, shape, prefetch === 1);
  }
  if (layout.prefetch !== undefined) throw badInput('dispatch: layout prefetch applies only with pattern=<forward>_<backward>');
  const idx = new AreaIndex(mask);
  // Dense masks without documents (full, causal), when no layout is given: the cheapest of this
  // plan and the other schemes' (its one remote step over up to the whole sequence is fed by an
  // exchange that only the rank's own diagonal blocks can hide, where the ring schemes overlap
  // every hop with a step of compute: README CP section). Ties keep the first (own).
  if (pattern === 'auto' && Object.keys(layout).length === 0 && P > 1) {
    const area = maskArea(mask);
    if (area >= 0.25 * S * S && documentUnits(idx, 0).length <= 1) {
      return cheapestPattern(planOwn(mask, P, layout, shape, idx, G, costOf), mask, P, shape, costOf());
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
  if (layout.split !== undefined || (mode !== 'auto' && mode !== 'documents')) return planPlaced(mask, P, layout, shape, idx, G, costOf, false);
  // One choice at a time (not the joint optimum): the split with relays wherever direct routes are
  // an alternative (the exchange below), then the routes for that split only.
  const refined = (p: Plan) => REFINE.get(p)?.() ?? p;
  const zigzag = planPlaced(mask, P, { ...layout, split: 'zigzag' }, shape, idx, G, costOf, true);
  if (zigzag.layout.sharding !== 'documents') return refined(zigzag); // no document placement: split does not apply (nor is it recorded)
  const fill = planPlaced(mask, P, { ...layout, split: 'fill' }, shape, idx, G, costOf, true);
  return refined(fill.layout.sharding === 'documents' && stepCost(costOf(), fill) < stepCost(costOf(), zigzag) ? fill : zigzag);
}

/** A plan planned with relays where direct routes were an alternative -> the choice among them (planOwn). */
const REFINE = new WeakMap<Plan, () => Plan>();

/** `defer`: where the routes are a choice, return the relayed plan and register the choice in REFINE. */
function planPlaced(mask: Mask, P: number, layout: CpLayout, shape: CpShape, idx: AreaIndex, G: number, costOf: () => PlanCost, defer: boolean): Plan {
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
  const stepsMode = layoutEnum('dispatch', layout, 'steps', STEPS_MODES, 'auto');
  const given = stepsMode === 'auto' ? null : { fwd: stepsMode.startsWith('one'), bwd: stepsMode.endsWith('one') };
  // Routes per direction (each a choice where the list has two).
  const multi = comm === 'p2p' && G > 1 && P > G;
  const direct = directRoutes(need);
  let relay: Routes | null = null;
  const relayR = () => (relay ??= relayRoutes(need, G));
  let routeSet: { fwd: Route[]; bwd: Route[] };
  if (!multi || exMode === 'direct') routeSet = { fwd: ['direct'], bwd: ['direct'] };
  else if (exMode !== 'auto') {
    const [f, b = f] = exMode.split('_') as Route[];
    routeSet = { fwd: [f], bwd: [b] };
  } else if (given && (given.fwd || given.bwd)) routeSet = { fwd: ['direct'], bwd: ['direct'] };
  else if (placed.used.sharding === 'documents' && Math.ceil(P / G) <= DIRECT_NODES) routeSet = { fwd: ['relay', 'direct'], bwd: ['relay', 'direct'] };
  else {
    // Granule placements (full, causal, windows: every rank fetches from most others) keep the
    // rule: relays when they at least halve the busiest NIC's load. Measured: relays were 3-20%
    // faster on causal at P = 16-128 (H100 flex), and with direct routes (about P^2 / 2
    // messages) planning causal at P = 1024 took 116 s (docs/cp.md). So do document placements
    // over more than DIRECT_NODES nodes.
    const r: Route = interNodePeak(relayR(), G) < 0.5 * interNodePeak(direct, G) ? 'relay' : 'direct';
    routeSet = { fwd: [r], bwd: [r] };
  }
  for (const d of ['fwd', 'bwd'] as const)
    if (given?.[d] && !routeSet[d].includes('direct')) throw badInput('dispatch: steps=one takes direct routes only (exchange=relay forwards during the local step)');
  // Document placements: each rank's remote-reading pieces first, tile-aligned (doc-order.ts).
  const order = placed.used.sharding === 'documents' ? owned.map((own) => tileOrder(idx, own, units0 ??= documentUnits(idx, 0))) : null;
  // steps, per direction on direct routes: given, else (p2p) the cheaper of one and overlap. A
  // granule sharding named in the layout keeps the overlapped form unless steps is given too, so
  // layouts recorded before this choice (the measured H200 rows) replay as they ran. Relayed
  // directions run overlap (the relays forward during the local step).
  const named = mode !== 'auto' && mode !== 'documents';
  const chooseSteps = !given && !named && comm === 'p2p';
  const formsOf = (d: Dir): Form[] =>
    routeSet[d].flatMap((rt): Form[] => (rt === 'relay' ? [{ route: 'relay', one: false }] : given ? [{ route: 'direct', one: given[d] }] : chooseSteps ? [{ route: 'direct', one: false }, { route: 'direct', one: true }] : [{ route: 'direct', one: false }]));
  const forms = { fwd: formsOf('fwd'), bwd: formsOf('bwd') };
  const layoutOf = (f: Form, b: Form): CpLayout => {
    const out: Record<string, number | string> = { ...placed.used, comm };
    const routeChoice = multi && (exMode !== 'auto' || forms.fwd.some((x) => x.route === 'relay') || forms.bwd.some((x) => x.route === 'relay'));
    // exchange: recorded wherever relays were an option (so a replay needs no cost model).
    if (routeChoice) {
      out.exchange = f.route === b.route ? f.route : `${f.route}_${b.route}`;
      if (f.route === 'relay' || b.route === 'relay') out.node = G;
    }
    // steps: recorded where given or chosen on a direct direction (a relay-only plan has none).
    if ((given || chooseSteps) && (f.route === 'direct' || b.route === 'direct')) out.steps = stepsOf(f.one, b.one);
    return out;
  };
  const build = (rt: Route, one: { fwd: boolean; bwd: boolean }, lay: CpLayout) =>
    buildDispatch(mask, P, lay, shape, idx, owned, need, comm, order, rt === 'relay' ? relayR() : direct, one);
  /** The plan running `f` forward and `b` backward (one build, or a splice of two over the same placement). */
  const assemble = (f: Form, b: Form, built?: (x: Form, y: Form) => Plan | undefined): Plan => {
    const lay = layoutOf(f, b);
    if (f.route === b.route) {
      const p = built?.(f, b);
      return p ? { ...p, layout: lay } : build(f.route, { fwd: f.one, bwd: b.one }, lay);
    }
    const pf = built?.(f, f) ?? build(f.route, { fwd: f.one, bwd: f.one }, lay);
    const pb = built?.(b, b) ?? build(b.route, { fwd: b.one, bwd: b.one }, lay);
    const p = splicePlans(pf, pb, lay);
    if (!p) throw new Error('internal: dispatch forms over one placement did not splice');
    return p;
  };
  if (forms.fwd.length === 1 && forms.bwd.length === 1) return assemble(forms.fwd[0], forms.bwd[0]);
  // By cost, per direction (plan-cost.ts): every form built once over both directions, each
  // direction simulated only for the forms it may take. Direct routes over several nodes are
  // bounded first (nicTokens), and a direction whose bound is no less than the relays' simulated
  // time does not simulate (nor, when neither does, build) the direct forms.
  const plans = new Map<string, Plan>();
  const keyOf = (x: Form) => `${x.route}:${x.one}`;
  const planOf = (x: Form) => {
    let p = plans.get(keyOf(x));
    if (!p) plans.set(keyOf(x), (p = build(x.route, { fwd: x.one, bwd: x.one }, layoutOf(x, x))));
    return p;
  };
  const relayed: Form = { route: 'relay', one: false };
  if (defer && forms.fwd.some((x) => x.route === 'relay') && forms.bwd.some((x) => x.route === 'relay')) {
    const p = assemble(relayed, relayed);
    plans.set(keyOf(relayed), p);
    REFINE.set(p, () => choose());
    return p;
  }
  return choose();
  function choose(): Plan {
  const cost = costOf();
  const best: Partial<Record<Dir, { form: Form; ms: number }>> = {};
  const nic = multi && cost.ibBytesPerMs ? nicTokens(need, G) : null;
  for (const d of ['fwd', 'bwd'] as const) {
    if (forms[d].length === 1) {
      best[d] = { form: forms[d][0], ms: NaN };
      continue;
    }
    const relayMs = forms[d].some((x) => x.route === 'relay') ? cost(planOf({ route: 'relay', one: false }), d) : Infinity;
    let pick: { form: Form; ms: number } = { form: forms[d][0], ms: relayMs };
    const bound = nic ? (Math.max(d === 'fwd' ? nic.got : 2 * nic.got, nic.sent) * kvTokenBytes(shape)) / cost.ibBytesPerMs! : 0;
    if (bound < relayMs)
      for (const x of forms[d]) {
        if (x.route === 'relay') continue;
        const ms = cost(planOf(x), d);
        if (ms < pick.ms) pick = { form: x, ms };
      }
    best[d] = pick;
  }
  return assemble(best.fwd!.form, best.bwd!.form, (x, y) => (keyOf(x) === keyOf(y) ? plans.get(keyOf(x)) : undefined));
  }
}

/**
 * Document placements weigh direct routes against relays over at most this many nodes. Beyond,
 * the relays won in both directions on every paper-cp row (H100 flex and flex@cp, P = 128-1024,
 * by cost; `--layout exchange=direct` at P = 256-1024: full_document 149-172 / 154-189 against
 * 227-255 / 184-208 TFLOP/s per GPU), and the NIC bound pruned too little there to keep full_document
 * at P = 1024 near its planning time without them (docs/cp.md).
 */
const DIRECT_NODES = 16;

type Dir = 'fwd' | 'bwd';
type Route = 'direct' | 'relay';
/** One direction's form: its routes, and whether it runs one attention step (direct routes only). */
interface Form {
  readonly route: Route;
  readonly one: boolean;
}
/**
 * Direct routes' key tokens across nodes of G: the most one rank receives (`got`) and sends
 * (`sent`). Each crosses the rank's one NIC, so at the NIC's rate they bound a direction's time:
 * forward >= max(got, sent); backward >= max(2 got, sent), since a rank fetches every remote key
 * before its remote step (both forms) and returns their gradients after it, over the same NIC.
 * (The owner's side gets no factor 2: its gradients may come back while it still sends.)
 */
function nicTokens(need: readonly Map<number, Range[]>[], G: number): { got: number; sent: number } {
  const sent = new Float64Array(need.length);
  let got = 0;
  need.forEach((m, r) => {
    let g = 0;
    for (const [s, rs] of m) {
      if (Math.floor(s / G) === Math.floor(r / G)) continue;
      const t = rangesLength(rs);
      g += t;
      sent[s] += t;
    }
    got = Math.max(got, g);
  });
  return { got, sent: Math.max(0, ...sent) };
}

/** Bytes of one token's K and V. */
const kvTokenBytes = (shape: CpShape) => 2 * shape.headsKv * shape.headDim * shape.dtypeBytes;
