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
//    whatever the placement. Dense masks without documents on 64+ ranks take loongtrain's ring
//    instead (layout `pattern`).
import type { Range } from '../../mask/types.js';
import type { Planner } from '../types.js';
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

const SHARDING_MODES = ['auto', 'documents', 'granules', 'contiguous', 'chunked', 'chunked_local'] as const;
const SPLIT_MODES = ['fill', 'zigzag'] as const;
const COMM_MODES = ['auto', 'p2p', 'all_gather'] as const;
const EXCHANGE_MODES = ['auto', 'direct', 'relay'] as const;
const PATTERNS = ['auto', 'own', 'ring'] as const;
const STEPS_MODES = ['auto', 'one', 'overlap'] as const;

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
  { key: 'node', kind: 'int', description: 'GPUs per node (default 8) for the documents rank order (token sets that exchange most share a node, doc-nodes.ts; 1 keeps the placement\'s order) and the relay exchange' },
  {
    key: 'pattern',
    kind: 'enum',
    values: PATTERNS,
    description:
      "own (this placement and fetch), ring (loongtrain's head x context double ring with its defaults: every hop overlaps a step of compute) or auto (default: ring for masks without documents that cover at least a quarter of S x S but not all of it, on 64 or more ranks, when no other layout key is given; else own)",
  },
  { key: 'exchange', kind: 'enum', values: EXCHANGE_MODES, description: 'p2p routes of the K/V exchange: direct (every rank fetches from every owner), relay (keys from another node cross InfiniBand once per node, to one relay rank that forwards them over NVLink: dispatch-routes.ts) or auto (default: relay when it at least halves the most key tokens a rank sends or receives across nodes, else direct)' },
  {
    key: 'steps',
    kind: 'enum',
    values: STEPS_MODES,
    description:
      "one (the exchange first, then ONE attention step per direction over the rank's rows against its own K/V and what it received, concatenated: no merge; direct routes only), overlap (the local step runs during the exchange, then a remote step and a merge) or auto (default: one for document placements within one node, P <= node; else overlap)",
  },
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
  const pattern = layoutEnum('dispatch', layout, 'pattern', PATTERNS, 'auto');
  // The ring pattern: loongtrain's plan under dispatch's name (layout {pattern: ring} replays it).
  const ring = () => ({ ...loongtrain.plan(mask, P, {}, shape), scheme: 'dispatch' as const, layout: { pattern: 'ring' } });
  if (pattern === 'ring') {
    for (const k of Object.keys(layout)) if (k !== 'pattern') throw badInput(`dispatch: layout ${k} does not apply with pattern=ring (loongtrain's defaults)`);
    return ring();
  }
  const mode = layoutEnum('dispatch', layout, 'sharding', SHARDING_MODES, 'auto');
  const commMode = layoutEnum('dispatch', layout, 'comm', COMM_MODES, 'auto');
  const idx = new AreaIndex(mask);
  let units0: Range[] | undefined;
  // Dense masks without documents (causal; a full mask all-gathers) on 64+ ranks, when no layout
  // is given: one remote step over up to the whole sequence, fed by an exchange that only the
  // rank's own diagonal blocks can hide, lost 4-8% to loongtrain's ring in the simulator (flex,
  // P = 64-1024; at P = 16-32 it was ahead or even: README CP section); its ring instead.
  if (pattern === 'auto' && Object.keys(layout).length === 0 && P >= 64) {
    const area = maskArea(mask);
    if (area >= 0.25 * S * S && area < S * S && (units0 ??= documentUnits(idx, 0)).length <= 1) return ring();
  }
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
  const G = layoutInt('dispatch', layout, 'node', 8, 1);
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
  // auto: one step for document placements within one node (the simulated H200 flex@cp forward
  // gained 17-37% on full_document and causal_document at P = 4 and 8, the backward 8-22%); granule
  // placements keep the overlap (causal at P = 4: -0.2% backward with one step).
  const autoOne = P <= G && placed.used.sharding === 'documents' && comm === 'p2p';
  const one = stepsMode === 'one' || (stepsMode === 'auto' && autoOne);
  if (one && exMode === 'relay') throw badInput('dispatch: steps=one takes direct routes only (exchange=relay forwards during the local step)');
  let routes = directRoutes(need);
  let exchange: 'direct' | 'relay' = 'direct';
  if (comm === 'p2p' && G > 1 && P > G && exMode !== 'direct' && !one) {
    const relay = relayRoutes(need, G);
    if (exMode === 'relay' || interNodePeak(relay, G) < 0.5 * interNodePeak(routes, G)) [routes, exchange] = [relay, 'relay'];
  }
  // The layout that reproduces this plan when given back.
  // steps is recorded when one step is used (so those plans get case ids of their own), and
  // overlap where auto would have taken one; document placements record node already.
  const used = { ...placed.used, comm, ...(exchange === 'relay' ? { exchange, node: G } : {}), ...(one || autoOne ? { steps: one ? 'one' : 'overlap' } : {}) };
  // Document placements: each rank's remote-reading pieces first, tile-aligned (doc-order.ts).
  const order = placed.used.sharding === 'documents' ? owned.map((own) => tileOrder(idx, own, units0 ??= documentUnits(idx, 0))) : null;
  return buildDispatch(mask, P, used, shape, idx, owned, need, comm, order, routes, one);
};
