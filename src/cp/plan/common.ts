// What every planner shares: layout parsing and validation, sharding, buffer descriptors, and the
// builders of attn / attn_bwd steps (restricted mask + FLOPs, empty steps skipped).
//
// Naming grammar of buffers (per rank; one name = one content):
//   q kv do o dq dkv       the rank's own shards (inputs / outputs, see types.ts)
//   qh kvh oh doh dqh dkvh head-sharded tensors after a Ulysses all-to-all (tokens of the group)
//   <t>.to<m> <t>.from<m>  chunks of tensor <t> sent to / received from group member m
//   kv@<r>                 K/V that originated on rank r (received in the forward)
//   kv@<r>.b               the same, received again in the backward
//   dkv@<r>, dkv@<r>.r     dK/dV accumulator of rank r's keys travelling (.r: realigned)
//   o.p                    a partial output about to be merged into o / oh
import { attentionFlops, BWD_FLOPS_FACTOR } from '../../results/flops.js';
import { badInput } from '../../errors.js';
import type { Mask, Range } from '../../mask/types.js';
import type { BufferDesc, CpLayout, CpShape, Plan, RankProgram, SchemeId, Step, TensorKind } from '../types.js';
import { AreaIndex, rangesLength } from './area.js';
import { docZigzagShards, documentUnits } from './doc-place.js';

// ----- layout parsing -------------------------------------------------------------------------

export interface LayoutParam {
  readonly key: string;
  readonly kind: 'int' | 'number' | 'enum';
  readonly values?: readonly string[];
  readonly description: string;
}

/** Rejects keys the scheme does not know (one line naming the accepted keys). */
export function checkLayoutKeys(scheme: SchemeId, layout: CpLayout, params: readonly LayoutParam[]): void {
  for (const k of Object.keys(layout)) {
    if (!params.some((p) => p.key === k)) {
      const known = params.map((p) => p.key).join(', ') || 'none';
      throw badInput(`unknown layout key '${k}' for scheme ${scheme} (accepted: ${known})`);
    }
  }
}

export function layoutInt(scheme: SchemeId, layout: CpLayout, key: string, dflt: number, min = 1): number {
  const v = layout[key];
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw badInput(`${scheme}: layout ${key}=${v} must be an integer >= ${min}`);
  return n;
}

export function layoutEnum<T extends string>(scheme: SchemeId, layout: CpLayout, key: string, values: readonly T[], dflt: T): T {
  const v = layout[key];
  if (v === undefined) return dflt;
  if (!values.includes(String(v) as T)) throw badInput(`${scheme}: layout ${key}=${v} must be one of ${values.join(', ')}`);
  return String(v) as T;
}

export function checkWorld(scheme: SchemeId, world: number): void {
  if (!Number.isSafeInteger(world) || world < 1) throw badInput(`${scheme}: world must be a positive integer, got ${world}`);
}

export function checkShape(shape: CpShape): void {
  const { headsQ, headsKv, headDim, dtypeBytes } = shape;
  for (const [k, v] of Object.entries({ headsQ, headsKv, headDim, dtypeBytes })) {
    if (!Number.isSafeInteger(v) || v < 1) throw badInput(`shape ${k} must be a positive integer, got ${v}`);
  }
  if (headsQ % headsKv !== 0) throw badInput(`${headsQ} query heads are not a multiple of ${headsKv} KV heads`);
}

// ----- sharding -------------------------------------------------------------------------------

export const SHARDINGS = ['contiguous', 'zigzag', 'doc_zigzag'] as const;
export type Sharding = (typeof SHARDINGS)[number];

/**
 * doc_zigzag gives every rank a piece of every document, so each ring step's mask has a slice per
 * document and planning grows as pieces x world (measured: 6e6 -> 43 s at P = 64, 512k, loaded
 * 2-core machine). Above this budget ring_p2p defaults to zigzag.
 */
export const DOC_ZIGZAG_BUDGET = 1e6;

export const SHARDING_HELP =
  'contiguous (P chunks), zigzag (2P chunks, rank r owns r and 2P-1-r; default) or doc_zigzag (every document cut into 2C pieces zigzag over the C ring positions, the paper\'s ring baseline; plans whose step masks would exceed 2e7 range pairs are refused)';

/**
 * The sharding ring_p2p uses: the layout's, else doc_zigzag when the mask has more than one
 * document (documentUnits) and pieces x world stay within DOC_ZIGZAG_BUDGET, else zigzag.
 * (usp and loongtrain accept doc_zigzag, sharded at the ring level (ring-shard.ts), but keep
 * zigzag by default.)
 */
export function ringSharding(scheme: SchemeId, layout: CpLayout, mask: Mask, world: number): Sharding {
  if (layout.sharding !== undefined || scheme !== 'ring_p2p') return layoutEnum(scheme, layout, 'sharding', SHARDINGS, 'zigzag');
  const units = documentUnits(new AreaIndex(mask), 0);
  if (units.length < 2) return 'zigzag';
  let pieces = 0;
  for (const u of units) pieces += Math.min(u.end - u.start, 2 * world);
  return pieces * world <= DOC_ZIGZAG_BUDGET ? 'doc_zigzag' : 'zigzag';
}

/**
 * Owned token ranges of every rank.
 *   contiguous: P equal chunks, rank r owns chunk r.
 *   zigzag:     2P equal chunks, rank r owns chunks r and 2P-1-r (balances causal masks):
 *               P=4:  chunks 0 1 2 3 4 5 6 7  ->  ranks 0 1 2 3 3 2 1 0
 *   doc_zigzag: the same inside every document of the mask (doc-place.ts docZigzagShards).
 */
export function shard(scheme: SchemeId, seqlen: number, world: number, sharding: Sharding, mask?: Mask): Range[][] {
  if (sharding === 'doc_zigzag') {
    if (!mask) throw new Error('internal: doc_zigzag sharding needs the mask');
    if (seqlen < 2 * world) throw badInput(`${scheme}: seqlen ${seqlen} is smaller than 2*world = ${2 * world} (doc_zigzag sharding)`);
    return docZigzagShards(documentUnits(new AreaIndex(mask), 0), world);
  }
  if (sharding === 'contiguous') {
    if (seqlen % world !== 0)
      throw badInput(`${scheme}: seqlen ${seqlen} is not divisible by world ${world} (contiguous sharding cuts the sequence into P equal chunks)`);
    const c = seqlen / world;
    return Array.from({ length: world }, (_, r) => [{ start: r * c, end: (r + 1) * c }]);
  }
  if (seqlen % (2 * world) !== 0)
    throw badInput(`${scheme}: seqlen ${seqlen} is not divisible by 2*world = ${2 * world} (zigzag sharding cuts the sequence into 2P equal chunks)`);
  const c = seqlen / (2 * world);
  return Array.from({ length: world }, (_, r) => [
    { start: r * c, end: (r + 1) * c },
    { start: (2 * world - 1 - r) * c, end: (2 * world - r) * c },
  ]);
}

// ----- heads ----------------------------------------------------------------------------------

export const allHeads = (n: number): Range => ({ start: 0, end: n });

/** KV heads read by q heads [a, b) under GQA (q head h reads KV head floor(h / group)). */
export function kvHeadsOf(q: Range, shape: CpShape): Range {
  const grp = shape.headsQ / shape.headsKv;
  return { start: Math.floor(q.start / grp), end: Math.ceil(q.end / grp) };
}

// ----- buffers --------------------------------------------------------------------------------

/** Bytes of a buffer: tokens x heads x (headDim x dtype) per tensor, + 4-byte lse for `o`. */
export function bufferBytes(tensor: TensorKind, tokens: number, heads: number, shape: CpShape): number {
  const row = shape.headDim * shape.dtypeBytes;
  switch (tensor) {
    case 'kv':
    case 'dkv':
      return 2 * tokens * heads * row;
    case 'o':
      return tokens * heads * (row + 4);
    case 'lse':
      return tokens * heads * 4;
    default:
      return tokens * heads * row;
  }
}

/** Interns buffer descriptors: identical (name, tensor, tokens, heads) -> one shared object. */
export class Buffers {
  private readonly cache = new Map<string, BufferDesc>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;
  constructor(readonly shape: CpShape) {}

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /** A descriptor used by one rank only (no interning: cheaper when there are millions). */
  fresh(name: string, tensor: TensorKind, tokens: readonly Range[], heads: Range): BufferDesc {
    return { name, tensor, tokens, heads, bytes: bufferBytes(tensor, rangesLength(tokens), heads.end - heads.start, this.shape) };
  }

  /** `tokens` and `heads` should be shared objects where possible (they key the cache). */
  get(name: string, tensor: TensorKind, tokens: readonly Range[], heads: Range): BufferDesc {
    const key = `${name}|${tensor}|${this.idOf(tokens)}|${this.idOf(heads)}`;
    let d = this.cache.get(key);
    if (!d) {
      d = { name, tensor, tokens, heads, bytes: bufferBytes(tensor, rangesLength(tokens), heads.end - heads.start, this.shape) };
      this.cache.set(key, d);
    }
    return d;
  }
}

/** One rank's program under construction. */
export class RankBuilder {
  readonly forward: Step[] = [];
  readonly backward: Step[] = [];
  private readonly bufs = new Map<string, BufferDesc>();
  constructor(
    readonly rank: number,
    readonly owned: readonly Range[],
  ) {}

  /** Declares a buffer (idempotent for the same descriptor); returns its name. */
  buf(d: BufferDesc): string {
    const old = this.bufs.get(d.name);
    if (old && old !== d) throw new Error(`internal: rank ${this.rank} declares buffer ${d.name} twice with different contents`);
    this.bufs.set(d.name, d);
    return d.name;
  }

  has(name: string): boolean {
    return this.bufs.has(name);
  }

  desc(name: string): BufferDesc {
    const d = this.bufs.get(name);
    if (!d) throw new Error(`internal: rank ${this.rank} has no buffer ${name}`);
    return d;
  }

  build(): RankProgram {
    return { rank: this.rank, owned: this.owned, buffers: [...this.bufs.values()], forward: this.forward, backward: this.backward };
  }
}

/** Declares the well-known input/output buffers of a rank owning `owned` (shared token list). */
export function declareIo(rb: RankBuilder, bufs: Buffers, shape: CpShape, hq: Range, hkv: Range): void {
  rb.buf(bufs.get('q', 'q', rb.owned, hq));
  rb.buf(bufs.get('kv', 'kv', rb.owned, hkv));
  rb.buf(bufs.get('o', 'o', rb.owned, hq));
  rb.buf(bufs.get('do', 'do', rb.owned, hq));
  rb.buf(bufs.get('dq', 'dq', rb.owned, hq));
  rb.buf(bufs.get('dkv', 'dkv', rb.owned, hkv));
}

// ----- compute steps --------------------------------------------------------------------------

export { BWD_FLOPS_FACTOR };

/** SPEC 6 forward FLOPs (src/results/flops.ts) of `heads` query heads. */
export function fwdFlops(area: number, heads: number, shape: CpShape): number {
  return attentionFlops(area, heads, shape.headDim, 'fwd');
}

export interface AttnPair {
  readonly mask: Mask;
  readonly area: number;
}

/**
 * The restricted mask of q buffer x kv buffer, or null when they share no unmasked pair (`force`:
 * an empty step anyway). `only`: indices of the q ranges that can reach the keys (see AreaIndex).
 */
export function attnPair(idx: AreaIndex, qTokens: readonly Range[], kvTokens: readonly Range[], force = false, only?: readonly number[]): AttnPair | null {
  const { mask, area } = idx.restrictWithArea(qTokens, kvTokens, only);
  if (area === 0 && !force) return null;
  return { mask, area };
}

export function attnStep(q: BufferDesc, kv: BufferDesc, out: string, pair: AttnPair, shape: CpShape): Step {
  return { kind: 'attn', q: q.name, kv: kv.name, out, mask: pair.mask, heads: q.heads, flops: fwdFlops(pair.area, q.heads.end - q.heads.start, shape) };
}

export function attnBwdStep(
  q: BufferDesc,
  kv: BufferDesc,
  names: { o: string; dout: string; dq: string; dkv: string },
  pair: AttnPair,
  shape: CpShape,
): Step {
  return {
    kind: 'attn_bwd',
    q: q.name,
    kv: kv.name,
    o: names.o,
    lse: names.o,
    dout: names.dout,
    dq: names.dq,
    dkv: names.dkv,
    mask: pair.mask,
    heads: q.heads,
    flops: BWD_FLOPS_FACTOR * fwdFlops(pair.area, q.heads.end - q.heads.start, shape),
  };
}

/** `wait` steps, interned per plan (the same handles recur on every rank). */
export function waitSteps(): (handle: string) => Step {
  const waits = new Map<string, Step>();
  return (handle) => {
    let w = waits.get(handle);
    if (!w) waits.set(handle, (w = { kind: 'wait', handle }));
    return w;
  };
}

export function assemblePlan(
  scheme: SchemeId,
  world: number,
  layout: CpLayout,
  mask: Mask,
  shape: CpShape,
  groups: Plan['groups'],
  ranks: readonly RankBuilder[],
): Plan {
  return { scheme, world, layout, seqlen: mask.seqlenQ, shape, groups, ranks: ranks.map((r) => r.build()) };
}

export function checkSquare(scheme: SchemeId, mask: Mask): void {
  if (mask.seqlenQ !== mask.seqlenK) throw badInput(`${scheme}: context parallelism needs a self-attention mask (got ${mask.seqlenQ}x${mask.seqlenK})`);
}
