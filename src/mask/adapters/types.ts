// What each mask adapter produces: one value type per kernel mask format (src/kernels/types.ts),
// and the result union every adapter returns. Flat arrays are row-major; shapes are in comments.

/** Mask formats the adapters produce (below: each format's fields); kernels list the ones they take. */
export type MaskFormat =
  | 'slices' // canonical (q range, k range, kind) lists: MagiAttention FFA style, our CPU/Triton kernels
  | 'window' // (left, right) sliding window (+ causal flag): FlashAttention style; full/causal too
  | 'varlen' // cu_seqlens (+ causal / window): document families
  | 'flashmask' // FlashMask per-column row bounds
  | 'block_table' // FlexAttention BlockMask: kv_num_blocks / kv_indices + full blocks
  | 'dense' // dense boolean mask, built by the worker from slices
  | 'segments' // segment ids (+ causal), JAX style
  | 'ranges'; // triton_ranges work lists (per query tile / per key tile: full runs + partial tiles with their bands)

/** An adapter either expresses the mask exactly or says why it cannot. Never an approximation. */
export type AdaptResult<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'unsupported'; readonly reason: string };

/** Slice kind codes of the 'slices' format, MagiAttention's AttnMaskType order. */
export const SLICE_TYPE_CODE = { full: 0, causal: 1, invcausal: 2, bicausal: 3 } as const;

/**
 * 'slices' (FFA / MagiAttention, our CPU and Triton kernels): slice t covers rows
 * [qRanges[2t], qRanges[2t+1]) and columns [kRanges[2t], kRanges[2t+1]) with kind types[t]
 * (0 full, 1 causal bottom-right, 2 invcausal top-left, 3 bicausal; src/mask/types.ts).
 */
export interface SlicesValue {
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly qRanges: Int32Array; // [n, 2]
  readonly kRanges: Int32Array; // [n, 2]
  readonly types: Int32Array; // [n]
}

/**
 * 'window' (FlashAttention window_size): query i sees key j iff, with d = Sk - Sq (the diagonal is
 * aligned bottom-right, as in flash_attn), j - i >= d - left (skipped when left = -1) and
 * j - i <= d + right (skipped when right = -1). full = (-1, -1), causal = (-1, 0),
 * sliding window w = (w, w), causal sliding window = (w, 0).
 */
export interface WindowValue {
  readonly left: number;
  readonly right: number;
}

/**
 * 'varlen' (flash_attn_varlen_func cu_seqlens): document b is the square
 * [cuSeqlensQ[b], cuSeqlensQ[b+1])^2 on the diagonal (this adapter always emits cuSeqlensK equal
 * to cuSeqlensQ). Inside a document, with local i, j: causal means j <= i; window (if present)
 * means j - i >= -left (left >= 0) and j - i <= right (right >= 0). Nothing across documents.
 */
export interface VarlenValue {
  readonly cuSeqlensQ: Int32Array; // [docs + 1]
  readonly cuSeqlensK: Int32Array; // [docs + 1]
  readonly maxSeqlenQ: number;
  readonly maxSeqlenK: number;
  /** Shortest document (nested tensors need it too: unknown, SDPA reads it back from the GPU each call). */
  readonly minSeqlenQ: number;
  readonly minSeqlenK: number;
  readonly causal: boolean;
  readonly window?: WindowValue;
}

/**
 * 'flashmask' (PaddlePaddle flashmask_attention startend_row_indices, arXiv 2410.01359): for key
 * column j, row i is masked iff LTS <= i < LTE or UTS <= i < UTE, with
 * startRowIndices[4j .. 4j+3] = (LTS, LTE, UTS, UTE). With causal, every i < j is masked as well
 * (FlashMask's causal mode; only emitted for Sq = Sk) and (UTS, UTE) = (0, 0) is unused, so the
 * [.., 1] or [.., 2] forms of the kernel can be sliced out of it. An empty interval is written as
 * (Sq, Sq) for the lower pair and (0, 0) for the upper pair.
 */
export interface FlashmaskValue {
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly startRowIndices: Int32Array; // [Sk, 4]
  readonly causal: boolean;
}

/**
 * 'block_table' (FlexAttention BlockMask): for head h and query block qb, the first
 * kvNumBlocks[h, qb] entries of kvIndices[h, qb, :] are the partial key blocks (the mask_mod,
 * derived from the slices, decides inside them) and the first fullKvNumBlocks[h, qb] entries of
 * fullKvIndices[h, qb, :] are the full key blocks (no mask_mod). Indices ascend; padding is 0.
 * The last dimension is the largest count over heads and rows (maxK / maxFullK), not the number of
 * key blocks as in flex: the worker pads to numBlocksK if the torch version wants that.
 */
export interface BlockTableValue {
  readonly heads: number;
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly blockQ: number;
  readonly blockK: number;
  readonly numBlocksQ: number;
  readonly numBlocksK: number;
  readonly maxK: number;
  readonly maxFullK: number;
  readonly kvNumBlocks: Int32Array; // [H, nbq]
  readonly kvIndices: Int32Array; // [H, nbq, maxK]
  readonly fullKvNumBlocks: Int32Array; // [H, nbq]
  readonly fullKvIndices: Int32Array; // [H, nbq, maxFullK]
}

/**
 * 'segments' (JAX dot_product_attention / splash attention segment ids): query i sees key j iff
 * segmentIds[i] === segmentIds[j], and also j <= i when causal. Segments need not be contiguous.
 */
export interface SegmentsValue {
  readonly segmentIds: Int32Array; // [S]
  readonly causal: boolean;
}

/** 'dense': data[i * seqlenK + j] = 1 where query i sees key j. */
export interface DenseValue {
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly data: Uint8Array; // [Sq, Sk]
}

/** The value of each format; index.ts's adapter table is typed over MaskFormat, so none is missing. */
export interface FormatValues {
  readonly slices: SlicesValue;
  readonly window: WindowValue;
  readonly varlen: VarlenValue;
  readonly flashmask: FlashmaskValue;
  readonly block_table: BlockTableValue;
  readonly segments: SegmentsValue;
  readonly dense: DenseValue;
  readonly ranges: RangesValue;
}

export interface AdaptOptions {
  /** Tiles of 'ranges' (triton_ranges' work lists; default 128 x 128) and the kernel's tuning, carried into the job. */
  readonly ranges?: RangesTiles;
  /** Block sizes of 'block_table' (default 128 x 128, flex's default). */
  readonly blockQ?: number;
  readonly blockK?: number;
  /** Largest Sq * Sk the 'dense' adapter builds (default DENSE_MAX_CELLS). */
  readonly denseMaxCells?: number;
  /** Largest total index entries (kvIndices + fullKvIndices) of 'block_table' (default BLOCK_TABLE_MAX_ENTRIES). */
  readonly blockTableMaxEntries?: number;
}

// ---- 'ranges' (our Triton ranges kernel's work lists: ./ranges.ts builds them) ----

/** One direction's work list; rows are query tiles (forward) or key tiles (backward), per mask head. */
export interface TileList {
  readonly numRows: number; // tiles per head along the rows
  readonly numCols: number;
  /** [H * numRows + 1]: runs of row h * numRows + r are runs[2 * t .. 2 * t + 1] for t in rowRuns[x] .. rowRuns[x + 1]. */
  readonly rowRuns: Int32Array;
  /** [nRuns, 2]: full column tiles [c0, c1). Sorted, disjoint, maximal within a row. */
  readonly runs: Int32Array;
  /** [H * numRows + 1] offsets into parts. */
  readonly rowParts: Int32Array;
  /**
   * [nParts, 5]: (column tile, first index into sliceIds, count of bands that cut the tile, lo, hi):
   * [lo, hi) are the columns the bands touch inside the tile (global), so the kernel skips the
   * inner steps outside them.
   */
  readonly parts: Int32Array;
  /** Band ids (rows of RangesValue.bands) of the partial tiles. */
  readonly sliceIds: Int32Array;
  /**
   * [H * numRows]: every row index h * numRows + r, longest estimated work first; with a persistent
   * schedule (progStart), grouped by program: program p's share is order[progStart[p] .. progStart[p + 1]).
   */
  readonly order: Int32Array;
  /** [programs + 1]: the persistent grid's shares of order (LPT: each row to the least-loaded program), when asked for. */
  readonly progStart?: Int32Array;
  readonly fullTiles: number;
  readonly partialTiles: number;
  /**
   * Only on a list whose long rows were split (./ranges-split.ts; the backward list, when it pays):
   * [nItems, 6] the launched programs in LPT order, (row x, run0, run1, part0, part1, slot): full
   * runs [run0, run1) of itemRuns and partial tiles [part0, part1) of parts, a contiguous piece of
   * row x; slot -1 = the whole row, written directly; slot >= 0 = a chunk writing float32 partials there.
   */
  readonly items?: Int32Array;
  /** [n, 2]: the items' full runs (runs cut by a chunk's bounds clipped to the chunk). */
  readonly itemRuns?: Int32Array;
  /** [nSplit, 3]: (row x, first slot, chunks) of the split rows; their slots are summed in order by a second launch. */
  readonly splitRows?: Int32Array;
}

/** How to split the backward list's long rows over programs (the device's program slots). */
export interface RowSplit {
  readonly sms: number; // SMs of the device
  readonly perSm: number; // dK/dV programs resident per SM
  readonly kvHeads: number; // KV heads of the case: programs per row = kvHeads / mask heads x keySplits
  readonly keySplits: number; // programs per key tile and KV head (tileK / the kernel's keys per program)
}

export interface RangesValue {
  readonly heads: number;
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly tileQ: number;
  readonly tileK: number;
  readonly tuning: { readonly [k: string]: number };
  /** Mean inner steps of shortLoops.stepKeys keys per query tile of the forward list, when tiles.shortLoops asked for it (the row's notes). */
  readonly fwdMeanSteps?: number;
  /** Share of partial-tile inner steps in the forward list, when tiles.partialSteps asked for it. */
  readonly fwdPartialShare?: number;
  /** When tiles.alternative was weighed ('auto'): the estimated cost of the kept tiles over the other's (<= 1). */
  readonly tileChoice?: { readonly picked: 'block' | 'other'; readonly cost: { readonly block: number; readonly other: number } };
  /** [nBands, 6]: q0, q1, k0, k1, lo, hi (inclusive j - i bounds, +-BAND_INF when unbounded); all heads. */
  readonly bands: Int32Array;
  readonly fwd: TileList;
  readonly bwd: TileList;
}

export interface RangesTiles {
  readonly tileQ: number;
  readonly tileK: number;
  /** The kernel's choices for this shape class (GQA pack, warps, stages...), passed through to the job. */
  readonly tuning?: { readonly [k: string]: number };
  /**
   * Tuning chosen from the forward list, not only the shape class: when the list's mean inner steps
   * of stepKeys keys per query tile (full runs and the trimmed partial tiles) is below belowSteps,
   * tuning is merged over the shape class's (triton_ranges: split tiles for short key loops).
   */
  readonly shortLoops?: { readonly stepKeys: number; readonly belowSteps: number; readonly tuning: { readonly [k: string]: number } };
  /**
   * Tuning chosen from the forward list: when the partial tiles' inner steps of stepKeys keys are at
   * least atLeast of all its inner steps (full runs and the trimmed partial tiles), tuning is merged
   * over the rest (triton_ranges: the partial steps in one pipelined loop, fwdGather).
   */
  readonly partialSteps?: { readonly stepKeys: number; readonly atLeast: number; readonly tuning: { readonly [k: string]: number } };
  /** Set by a kernel that cannot take the case's shape (e.g. its head_dim): the adapter refuses with this reason. */
  readonly refuse?: string;
  /** Split long rows of the backward list over programs when that shortens the launch (./ranges-split.ts); absent: never. */
  readonly bwdSplit?: RowSplit;
  /**
   * Other tiles for the same kernel (triton_ranges: 128-key tiles for a mask of 64-blocks, whose own
   * tiles keep every tile full or empty but run slower per tile). `pick` 'auto' builds both lists
   * and keeps the cheaper by ./ranges-choice.ts (its full tiles `speed` times as fast per area as
   * these tiles', partial work `partial` times a full tile's, per direction); 'block' keeps these
   * tiles, 'other' the alternative's.
   */
  readonly alternative?: RangesAlternative;
}

export interface RangesAlternative {
  readonly tiles: RangesTiles;
  readonly speed: { readonly fwd: number; readonly bwd: number };
  /** Cost of partial-tile work per area relative to full-tile work, per direction (mask tests, smaller steps). */
  readonly partial: { readonly fwd: number; readonly bwd: number };
  readonly pick: 'auto' | 'block' | 'other';
}
