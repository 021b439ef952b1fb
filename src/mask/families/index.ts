// Mask family registry (SPEC 3): one file per family, listed once here; the id type derives from the
// list. generateMask is the one entry point (parameter parsing, doc-length source), maskFlops the one
// FLOP count (SPEC 6), used by every adapter and report.
import { attentionFlops } from '../../results/flops.js';
import { badInput } from '../../errors.js';
import { resolveDocLens } from '../doclen/load.js';
import { maskArea } from '../slices.js';
import { decimalNumber, MAX_TOKENS } from '../../util/parse.js';
import { guardMaskSize } from './size.js';
import type { GeneratedMask } from '../types.js';
import { blockCausalDocument } from './block_causal_document.js';
import { blockSparse } from './block_sparse.js';
import { causal } from './causal.js';
import { causalBlockwise } from './causal_blockwise.js';
import { causalDocument } from './causal_document.js';
import { causalDocumentLong } from './causal_document_long.js';
import type { Family, ParamSpec } from './common.js';
import { full } from './full.js';
import { fullDocument } from './full_document.js';
import { fullDocumentLong } from './full_document_long.js';
import { globalSlidingWindow } from './global_sliding_window.js';
import { prefixLmCausal } from './prefix_lm_causal.js';
import { prefixLmDocument } from './prefix_lm_document.js';
import { shareQuestion } from './share_question.js';
import { slidingWindow } from './sliding_window.js';
import { slidingWindowCausal } from './sliding_window_causal.js';
import { variableBlockSparse } from './variable_block_sparse.js';

export type { Family, ParamSpec } from './common.js';

export const FAMILIES = [
  full,
  causal,
  fullDocument,
  causalDocument,
  fullDocumentLong,
  causalDocumentLong,
  slidingWindow,
  slidingWindowCausal,
  globalSlidingWindow,
  prefixLmCausal,
  prefixLmDocument,
  shareQuestion,
  causalBlockwise,
  blockCausalDocument,
  blockSparse,
  variableBlockSparse,
] as const;

export type FamilyId = (typeof FAMILIES)[number]['id'];

export const FAMILY_IDS: readonly FamilyId[] = FAMILIES.map((f) => f.id);

/** Every family with one mask shared by all heads (all but the two block-sparse ones). */
export const DENSE_FAMILIES: readonly FamilyId[] = FAMILIES.filter((f) => !f.perHead).map((f) => f.id);

/** Whether a family's mask depends on the seed (so a sweep samples it several times). */
export function isRandomFamily(id: string): boolean {
  return getFamily(id).random;
}

export function isFamilyId(id: string): id is FamilyId {
  return (FAMILY_IDS as readonly string[]).includes(id);
}

export function getFamily(id: string): Family<FamilyId> {
  const f = FAMILIES.find((x) => x.id === id);
  if (!f) throw badInput(`unknown mask family '${id}' (valid: ${FAMILY_IDS.join(', ')})`);
  return f;
}

/**
 * The entries of `params` that family `id` declares: for sweeps that apply one parameter set to many
 * families (generateMask itself rejects names a family does not have, to catch typos).
 */
export function familyParams(id: string, params: Readonly<Record<string, number | string>>): Record<string, number | string> {
  const names = new Set(getFamily(id).params.map((p) => p.name));
  return Object.fromEntries(Object.entries(params).filter(([k]) => names.has(k)));
}

export interface GenerateOptions {
  /** Non-negative integer; default 0. */
  readonly seed?: number;
  readonly params?: Readonly<Record<string, number | string>>;
  /** Document-length source for families that sample documents: built-in name or histogram path. */
  readonly docLens?: string;
}

/** Coerce one user-given parameter value to its declared kind, or throw naming it. */
function coerce(family: string, spec: ParamSpec, raw: number | string): number | string {
  if (spec.kind === 'string') return String(raw);
  const v = typeof raw === 'number' ? raw : (decimalNumber(raw) ?? NaN); // not '0x10'
  if (!Number.isFinite(v) || (spec.kind === 'int' && !Number.isSafeInteger(v)))
    throw badInput(`${family}: parameter ${spec.name}='${raw}' must be ${spec.kind === 'int' ? 'an integer' : 'a number'}`);
  return v;
}

/**
 * The mask of a family for (S, params, seed): deterministic on every machine. Throws badInput
 * (exit 2) for an unknown family, S <= 0, an unknown parameter or a value out of range.
 */
export function generateMask(id: string, seqlen: number, opts: GenerateOptions = {}): GeneratedMask {
  const fam = getFamily(id);
  if (!Number.isSafeInteger(seqlen) || seqlen <= 0) throw badInput(`${id}: invalid seqlen ${seqlen}: must be a positive integer`);
  if (seqlen > MAX_TOKENS) throw badInput(`${id}: invalid seqlen ${seqlen}: at most ${MAX_TOKENS} (4096M) tokens`);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw badInput(`${id}: invalid seed ${seed}: must be a non-negative integer`);
  const given = opts.params ?? {};
  for (const name of Object.keys(given))
    if (!fam.params.some((p) => p.name === name))
      throw badInput(
        `${id}: unknown parameter '${name}' (valid: ${fam.params.map((p) => p.name).join(', ') || 'none'})`,
      );
  const params: Record<string, number | string | undefined> = {};
  for (const spec of fam.params) {
    const raw = given[spec.name];
    params[spec.name] = raw !== undefined ? coerce(id, spec, raw) : typeof spec.default === 'number' ? spec.default : undefined;
  }
  let histogram;
  if (fam.params.some((p) => p.name === 'docLens')) {
    histogram = resolveDocLens((params.docLens as string | undefined) ?? opts.docLens, seqlen);
    params.docLens = histogram.name;
  }
  guardMaskSize(id, seqlen, params, histogram);
  return fam.generate(seqlen, seed, params, histogram);
}

/** Unmasked pairs averaged over the heads' masks (one mask: its area). */
export function meanArea(g: GeneratedMask): number {
  let a = 0;
  for (const m of g.heads) a += maskArea(m);
  return a / g.heads.length;
}

/**
 * SPEC 6 FLOPs of one attention call: forward 4 * area * headsQ * headDim; backward 2.5 x forward.
 * Per-head masks count their mean area over the KV heads, times headsQ (each query-head group has
 * the same size under GQA).
 */
export function maskFlops(g: GeneratedMask, headsQ: number, headDim: number, direction: 'fwd' | 'bwd'): number {
  return attentionFlops(meanArea(g), headsQ, headDim, direction);
}
