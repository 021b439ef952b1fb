// The mask model: plain typed data (SPEC section 2).
//
// Glossary
//   range   half-open interval [start, end) of token indices.
//   slice   a q range x a k range and a kind that says which (i, j) inside are unmasked.
//   mask    disjoint slices over an Sq x Sk grid; every (i, j) outside all slices is masked.
//   area    number of unmasked (query, key) pairs.
//   block   a B x B tile of the grid (the last row/column of blocks may be smaller).
//   local   index relative to the start of a slice or sub-rectangle; global: relative to the mask.
//
// Slice kinds, with local row i, column j, sq = qEnd - qStart, sk = kEnd - kStart:
//   full       every (i, j)
//   causal     j <= i + (sk - sq)           aligned bottom-right
//   invcausal  j >= i                       aligned top-left
//   bicausal   both: a band of width sk - sq + 1
//
//   causal (sq=3, sk=5)    invcausal (3x5)    bicausal (3x5)
//   x x x . .              x x x x x          x x x . .
//   x x x x .              . x x x x          . x x x .
//   x x x x x              . . x x x          . . x x x

export const SLICE_KINDS = ['full', 'causal', 'invcausal', 'bicausal'] as const;
export type SliceKind = (typeof SLICE_KINDS)[number];

export interface Slice {
  readonly qStart: number;
  readonly qEnd: number;
  readonly kStart: number;
  readonly kEnd: number;
  readonly kind: SliceKind;
}

export interface Mask {
  readonly seqlenQ: number;
  readonly seqlenK: number;
  /** Disjoint slices. Order is not significant; generators emit them sorted by (qStart, kStart). */
  readonly slices: readonly Slice[];
}

/** A range [start, end). */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** Block classification at block size B. */
export type BlockKind = 'partial' | 'full';

/** A run of consecutive key blocks [kbStart, kbEnd) in one query-block row, all of one kind. */
export interface BlockRun {
  readonly kbStart: number;
  readonly kbEnd: number;
  readonly kind: BlockKind;
}

/**
 * Sparse block map: for every query block row, runs of non-empty key blocks (sorted, disjoint, and
 * maximal: touching runs of one row differ in kind), stored flat. The runs of block row qb are
 * r = rowRuns[qb] .. rowRuns[qb + 1] - 1, run r being key blocks [runStart[r], runEnd[r]), all full
 * when runFull[r] is 1, all partial when 0 (slices.ts blockRuns gives them as BlockRun objects).
 * Empty blocks are not stored. Memory is O(query blocks + runs), never O(blocks^2) for structured masks.
 */
export interface BlockMap {
  readonly blockQ: number;
  readonly blockK: number;
  readonly numBlocksQ: number;
  readonly numBlocksK: number;
  /** numBlocksQ + 1 offsets into the run arrays; rowRuns[0] = 0. */
  readonly rowRuns: Int32Array;
  readonly runStart: Int32Array;
  readonly runEnd: Int32Array;
  readonly runFull: Uint8Array;
  readonly counts: { readonly empty: number; readonly partial: number; readonly full: number };
}

/** Generated mask family instance: what `attnbench masks --json` prints and every consumer takes. */
export interface GeneratedMask {
  readonly family: string;
  readonly seqlen: number;
  readonly seed: number;
  /** Family parameters actually used (window, prefix length, sparsity, block size, ...). */
  readonly params: Readonly<Record<string, number | string>>;
  /** Document lengths (sum to seqlen) for document-like families. */
  readonly docLens?: readonly number[];
  /**
   * One mask per KV head (block-sparse families, shared by that KV head's query-head group),
   * or a single mask shared by every head.
   */
  readonly heads: readonly Mask[];
}
