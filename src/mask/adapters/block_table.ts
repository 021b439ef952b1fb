// 'block_table' format: FlexAttention BlockMask tensors (kv_num_blocks / kv_indices for partial
// blocks, full_kv_num_blocks / full_kv_indices for full ones), one table per head, from the
// sparse block map (src/mask/slices.ts blockMap). Expresses every mask: partial blocks are decided
// by the mask_mod the worker derives from the slices.
//
// Cost: O(blocks touched) to read the block map, plus the padded index arrays, which are dense like
// flex's: H x nbq x (maxK + maxFullK) int32. Causal at S = 1M, B = 128: nbq = 8192, maxK = 1,
// maxFullK = 8191, so 8192 x 8192 entries = 256 MiB (flex's own kv_indices, [1, 1, 8192, 8192],
// is the same size). Documents and windows stay small: maxFullK is the longest document or window
// in blocks. Above blockTableMaxEntries the adapter says unsupported instead of allocating.
import { blockMap } from '../slices.js';
import type { BlockMap, Mask } from '../types.js';
import { ok, sameShapeHeads, unsupported } from './exact.js';
import type { AdaptOptions, AdaptResult, BlockTableValue } from './types.js';

/** flex_attention's default block size. */
export const DEFAULT_BLOCK = 128;
/** 2^28 index entries = 1 GiB of int32 (causal at S = 2M, B = 128 needs 2^28). */
export const BLOCK_TABLE_MAX_ENTRIES = 2 ** 28;

/** What the tables will hold, before anything large is allocated. */
interface BlockTablePlan {
  readonly heads: readonly Mask[];
  readonly maps: readonly BlockMap[];
  readonly blockQ: number;
  readonly blockK: number;
  readonly maxK: number;
  readonly maxFullK: number;
}

/** Block maps and index widths, or why the table cannot be built. O(blocks touched). */
export function planBlockTable(masks: Mask | readonly Mask[], opts: AdaptOptions = {}): AdaptResult<BlockTablePlan> {
  const shape = sameShapeHeads(masks);
  if (shape.kind !== 'ok') return shape;
  const { heads, seqlenQ, seqlenK } = shape.value;
  const blockQ = opts.blockQ ?? DEFAULT_BLOCK;
  const blockK = opts.blockK ?? blockQ;
  const maps = heads.map((m) => blockMap(m, blockQ, blockK));
  let maxK = 0;
  let maxFullK = 0;
  for (const bm of maps) {
    for (let qb = 0; qb < bm.numBlocksQ; qb++) {
      let partial = 0;
      let full = 0;
      for (let r = bm.rowRuns[qb]; r < bm.rowRuns[qb + 1]; r++) {
        if (bm.runFull[r]) full += bm.runEnd[r] - bm.runStart[r];
        else partial += bm.runEnd[r] - bm.runStart[r];
      }
      maxK = Math.max(maxK, partial);
      maxFullK = Math.max(maxFullK, full);
    }
  }
  const nbq = maps[0].numBlocksQ;
  const entries = heads.length * nbq * (maxK + maxFullK);
  const limit = opts.blockTableMaxEntries ?? BLOCK_TABLE_MAX_ENTRIES;
  if (entries > limit) {
    return unsupported(`block table of ${heads.length} x ${nbq} x (${maxK} + ${maxFullK}) = ${entries} indices exceeds the limit of ${limit}`);
  }
  return ok({ heads, maps, blockQ, blockK, maxK, maxFullK });
}

export function toBlockTable(masks: Mask | readonly Mask[], opts: AdaptOptions = {}): AdaptResult<BlockTableValue> {
  const plan = planBlockTable(masks, opts);
  if (plan.kind !== 'ok') return plan;
  const { heads, maps, blockQ, blockK, maxK, maxFullK } = plan.value;
  const H = heads.length;
  const nbq = maps[0].numBlocksQ;
  const kvNumBlocks = new Int32Array(H * nbq);
  const kvIndices = new Int32Array(H * nbq * maxK);
  const fullKvNumBlocks = new Int32Array(H * nbq);
  const fullKvIndices = new Int32Array(H * nbq * maxFullK);
  maps.forEach((bm, h) => {
    for (let qb = 0; qb < nbq; qb++) {
      const row = h * nbq + qb;
      let p = row * maxK;
      let f = row * maxFullK;
      for (let r = bm.rowRuns[qb]; r < bm.rowRuns[qb + 1]; r++) {
        if (bm.runFull[r]) for (let kb = bm.runStart[r]; kb < bm.runEnd[r]; kb++) fullKvIndices[f++] = kb;
        else for (let kb = bm.runStart[r]; kb < bm.runEnd[r]; kb++) kvIndices[p++] = kb;
      }
      kvNumBlocks[row] = p - row * maxK;
      fullKvNumBlocks[row] = f - row * maxFullK;
    }
  });
  return ok({
    heads: H,
    seqlenQ: heads[0].seqlenQ,
    seqlenK: heads[0].seqlenK,
    blockQ,
    blockK,
    numBlocksQ: nbq,
    numBlocksK: maps[0].numBlocksK,
    maxK,
    maxFullK,
    kvNumBlocks,
    kvIndices,
    fullKvNumBlocks,
    fullKvIndices,
  });
}
