// What a mask family is (one file per family, registry in index.ts), and the pieces they share:
// parameter checks that name the bad value, document boundaries, per-document slices.
import { badInput } from '../../errors.js';
import { makeSampler, sampleDocLens, type Histogram } from '../doclen/histogram.js';
import { rngFor, shuffleInPlace } from '../prng.js';
import type { GeneratedMask, Mask, Slice } from '../types.js';

export interface ParamSpec {
  readonly name: string;
  readonly kind: 'int' | 'number' | 'string';
  /** A fixed default; 'random': drawn from the seed unless given; 'auto': chosen from S (doc lengths). */
  readonly default: number | 'random' | 'auto';
  readonly description: string;
  /** What the parameter means to readers of results (the report's sparsity plots): the kept
   * fraction or the (average) block size of a block-sparse mask. */
  readonly role?: 'kept' | 'block';
}

/** Parameters as a family's generate() receives them: coerced to their kind, fixed defaults applied. */
export type FamilyParams = Readonly<Record<string, number | string | undefined>>;

export interface Family<Id extends string = string> {
  readonly id: Id;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  /** One mask per KV head (block-sparse families) instead of one shared mask. */
  readonly perHead: boolean;
  /** Whether the mask depends on the seed (random documents, g, p, f, blocks): such families need samples. */
  readonly random: boolean;
  /**
   * Build the mask. `seqlen` is a positive integer and `params` hold only this family's names
   * (checked by generateMask); `docLens` is the resolved histogram of families with a docLens param.
   */
  generate(seqlen: number, seed: number, params: FamilyParams, docLens: Histogram | undefined): GeneratedMask;
}

export function defineFamily<const Id extends string>(f: Family<Id>): Family<Id> {
  return f;
}

/** The docLens parameter shared by every family that samples documents. */
export const DOC_LENS_PARAM: ParamSpec = {
  name: 'docLens',
  kind: 'string',
  default: 'auto',
  description: 'document lengths: pile | prolong64k | prolong512k | path to a histogram file (default by S: <=12k pile, <=64k prolong64k, else prolong512k)',
};

export const WINDOW_PARAM: ParamSpec = { name: 'w', kind: 'int', default: 1024, description: 'window: keys within w tokens (0 <= w < S)' };
export const KV_HEADS_PARAM: ParamSpec = {
  name: 'kvHeads',
  kind: 'int',
  default: 8,
  description: 'KV heads: one random mask each, shared by its query-head group',
};
export const SPARSITY_PARAM: ParamSpec = {
  name: 's',
  role: 'kept',
  kind: 'number',
  default: 0.5,
  description: 'kept fraction of key blocks per query block, in (0, 1]',
};

// ---- parameter access (values are already numbers for int/number params) ----

export function num(p: FamilyParams, name: string): number {
  const v = p[name];
  if (typeof v !== 'number') throw new Error(`internal: parameter ${name} missing`);
  return v;
}

export function checkWindow(family: string, w: number, seqlen: number): void {
  if (w < 0 || w >= seqlen) throw badInput(`${family}: window w=${w} must satisfy 0 <= w < S (S=${seqlen})`);
}

export function checkIntRange(family: string, name: string, v: number, lo: number, hi: number): void {
  if (v < lo || v > hi) throw badInput(`${family}: ${name}=${v} must be in [${lo}, ${hi}]`);
}

export function checkBlock(family: string, name: string, block: number, seqlen: number): void {
  if (block < 1 || block > seqlen || seqlen % block !== 0)
    throw badInput(`${family}: block size ${name}=${block} must divide S=${seqlen} (1 <= ${name} <= S)`);
}

export function checkSparsity(family: string, s: number): void {
  if (!(s > 0 && s <= 1)) throw badInput(`${family}: kept fraction s=${s} must be in (0, 1]`);
}

/** The value of an optional random parameter: the given one, or a draw from its own stream. */
export function drawOr(p: FamilyParams, name: string, seed: number, lo: number, hiExclusive: number): number {
  const v = p[name];
  return typeof v === 'number' ? v : rngFor(seed, name).int(lo, hiExclusive);
}

// ---- documents ----

/** Document lengths from the histogram (stream 'doclens'), summing to exactly `tokens`. */
export function sampleDocs(h: Histogram, tokens: number, seed: number): number[] {
  return sampleDocLens(makeSampler(h), tokens, rngFor(seed, 'doclens'));
}

/** _long variants (SPEC 3): the share of tokens in long documents, and their length range (inclusive). */
export const LONG_FRACTION = 0.6;
export const LONG_DOC_MIN = 8 * 1024;
export const LONG_DOC_MAX = 30 * 1024;

/**
 * Document lengths of the _long variants: round(0.6 S) tokens in long documents of uniform length in
 * [8k, 30k] (stream 'long'; the last one clipped to what is left of that share, so a small S gets one
 * shorter "long" document), the other tokens from the histogram (stream 'doclens'), then all documents
 * shuffled together (stream 'shuffle', Fisher-Yates).
 */
export function sampleLongMix(h: Histogram, seqlen: number, seed: number): number[] {
  const longTokens = Math.round(LONG_FRACTION * seqlen);
  const rng = rngFor(seed, 'long');
  const docs: number[] = [];
  for (let left = longTokens; left > 0; ) {
    const len = Math.min(rng.int(LONG_DOC_MIN, LONG_DOC_MAX + 1), left);
    docs.push(len);
    left -= len;
  }
  for (const len of sampleDocs(h, seqlen - longTokens, seed)) docs.push(len);
  return shuffleInPlace(docs, rngFor(seed, 'shuffle'));
}

/** Start offset of every document plus the total: starts[d] .. starts[d + 1]. */
export function docStarts(lens: readonly number[]): number[] {
  const starts = [0];
  for (const l of lens) starts.push(starts[starts.length - 1] + l);
  return starts;
}

/** One slice per document on the diagonal: full (varlen full) or causal (varlen causal). */
export function documentSlices(lens: readonly number[], kind: 'full' | 'causal'): Slice[] {
  const out: Slice[] = [];
  let a = 0;
  for (const l of lens) {
    out.push({ qStart: a, qEnd: a + l, kStart: a, kEnd: a + l, kind });
    a += l;
  }
  return out;
}

export function oneMask(seqlen: number, slices: readonly Slice[]): Mask {
  return { seqlenQ: seqlen, seqlenK: seqlen, slices };
}

/** A generated mask with one mask shared by every head. */
export function single(
  family: string,
  seqlen: number,
  seed: number,
  params: FamilyParams,
  slices: Slice[],
  docLens?: readonly number[],
): GeneratedMask {
  const g: GeneratedMask = { family, seqlen, seed, params: resolved(params), heads: [oneMask(seqlen, sortSlices(slices))] };
  return docLens ? { ...g, docLens } : g;
}

export function needDocs(h: Histogram | undefined): Histogram {
  if (!h) throw new Error('internal: document family called without a document-length histogram');
  return h;
}

/** Slices sorted by (qStart, kStart), the order GeneratedMask promises. */
export function sortSlices(slices: Slice[]): Slice[] {
  return slices.sort((x, y) => x.qStart - y.qStart || x.kStart - y.kStart);
}

/** The resolved parameters recorded on a generated mask (undefined entries dropped). */
export function resolved(p: Readonly<Record<string, number | string | undefined>>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = v;
  return out;
}
