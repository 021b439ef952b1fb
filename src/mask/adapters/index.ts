// Mask adapters: one Mask (or one per KV head) into each kernel mask format, exactly or not at all.
// Every format but block_table takes a single mask for all heads; per-head masks reach those
// formats only when every head is the same mask.
import type { Mask } from '../types.js';
import { planBlockTable, toBlockTable } from './block_table.js';
import { denseProblem, toDenseFormat } from './dense.js';
import { ok, sameMask, unsupported } from './exact.js';
import { toFlashmask } from './flashmask.js';
import { toSegments } from './segments.js';
import { toRanges } from './ranges.js';
import { toSlices } from './slices.js';
import type { AdaptOptions, AdaptResult, FormatValues, MaskFormat } from './types.js';
import { toVarlen } from './varlen.js';
import { toWindow } from './window.js';

export type * from './types.js';
export { SLICE_TYPE_CODE } from './types.js';
export { BLOCK_TABLE_MAX_ENTRIES, DEFAULT_BLOCK, planBlockTable, toBlockTable } from './block_table.js';
export { DENSE_MAX_CELLS, toDenseFormat } from './dense.js';
export { toFlashmask } from './flashmask.js';
export { SEGMENTS_MAX_RUN_PAIRS, toSegments } from './segments.js';
export { toSlices } from './slices.js';
export { BAND_INF, toRanges, type RangesTiles, type RangesValue, type TileList } from './ranges.js';
export { toVarlen, uncrossedCuts } from './varlen.js';
export { toWindow } from './window.js';
export { sameMask } from './exact.js';

type Adapter<F extends MaskFormat> = (heads: readonly Mask[], opts: AdaptOptions) => AdaptResult<FormatValues[F]>;

/** A single-mask adapter applied to per-head masks: only when all heads are one mask. */
function shared<T>(fn: (m: Mask, opts: AdaptOptions) => AdaptResult<T>): (heads: readonly Mask[], opts: AdaptOptions) => AdaptResult<T> {
  return (heads, opts) => {
    if (heads.length === 0) return unsupported('no heads');
    const h = heads.findIndex((m) => !sameMask(m, heads[0]));
    if (h >= 0) return unsupported(`head ${h} has another mask than head 0; this format takes one mask for all heads (block_table takes one per head)`);
    return fn(heads[0], opts);
  };
}

const ADAPTERS: { readonly [F in MaskFormat]: Adapter<F> } = {
  slices: shared(toSlices),
  window: shared(toWindow),
  varlen: shared(toVarlen),
  flashmask: shared(toFlashmask),
  block_table: (heads, opts) => toBlockTable(heads, opts),
  segments: shared(toSegments),
  dense: shared(toDenseFormat),
  ranges: (heads, opts) => toRanges(heads, opts),
};

/** Every mask format, in the adapter table's order. */
export const MASK_FORMATS = Object.keys(ADAPTERS) as readonly MaskFormat[];

function asHeads(mask: Mask | readonly Mask[]): readonly Mask[] {
  return Array.isArray(mask) ? mask : [mask as Mask];
}

/** The mask (or per-head masks) in the given kernel format, or why that format cannot express it. */
export function adapt<F extends MaskFormat>(mask: Mask | readonly Mask[], format: F, opts: AdaptOptions = {}): AdaptResult<FormatValues[F]> {
  return ADAPTERS[format](asHeads(mask), opts);
}

export type FormatSupport = { readonly format: MaskFormat; readonly kind: 'ok' } | { readonly format: MaskFormat; readonly kind: 'unsupported'; readonly reason: string };

/**
 * Which formats express the mask, with the reason for each that does not (the support matrix).
 * Skips the quadratic builds: block_table and dense are sized, not filled; the others are built (O(S)).
 */
export function formatSupport(mask: Mask | readonly Mask[], opts: AdaptOptions = {}): FormatSupport[] {
  const heads = asHeads(mask);
  const check: { readonly [F in MaskFormat]: Adapter<MaskFormat> } = {
    ...ADAPTERS,
    block_table: (hs, o) => planBlockTable(hs, o) as AdaptResult<never>,
    dense: shared((m, o) => {
      const bad = denseProblem(m, o);
      return bad ? unsupported(bad) : ok(undefined as never);
    }),
  };
  return MASK_FORMATS.map((format) => {
    const r = check[format](heads, opts);
    return r.kind === 'ok' ? { format, kind: 'ok' } : { format, kind: 'unsupported', reason: r.reason };
  });
}

/** The formats that express the mask exactly. */
export function supportedFormats(mask: Mask | readonly Mask[], opts: AdaptOptions = {}): MaskFormat[] {
  return formatSupport(mask, opts)
    .filter((s) => s.kind === 'ok')
    .map((s) => s.format);
}
