// block_sparse(s, B) (SPEC 3): B x B blocks (B must divide S). For every KV head h and every query
// block, keep k = max(1, floor(s * number of key blocks)) key blocks: those with the highest i.i.d.
// random scores. Top-k of i.i.d. continuous scores is a uniformly random k-subset, so we draw that
// subset directly with Floyd's algorithm (k draws instead of one score per block): for
// j = n-k .. n-1, t = int(0, j+1); keep t unless already kept, else keep j. Stream 'kept:<h>', query
// blocks in order. Kept blocks of a row that touch are merged into one full slice.
// A per-head mask: `heads` holds one mask per KV head, shared by that head's query-head group (GQA).
import { rngFor } from '../prng.js';
import type { Mask, Slice } from '../types.js';
import { KV_HEADS_PARAM, SPARSITY_PARAM, checkBlock, checkIntRange, checkSparsity, defineFamily, num, oneMask, resolved } from './common.js';

/** k for kept fraction s of n blocks; the 1e-9 absorbs decimal fractions like 0.29 * 100 = 28.999... */
export function keptCount(s: number, n: number): number {
  return Math.max(1, Math.min(n, Math.floor(s * n + 1e-9)));
}

/** For KV head `head`, visit every query block's kept key blocks as a 0/1 array (reused between calls). */
export function forEachKeptRow(
  seed: number,
  head: number,
  numQ: number,
  numK: number,
  k: number,
  visit: (qb: number, kept: Uint8Array) => void,
): void {
  const rng = rngFor(seed, `kept:${head}`);
  const kept = new Uint8Array(numK);
  for (let qb = 0; qb < numQ; qb++) {
    kept.fill(0);
    for (let j = numK - k; j < numK; j++) {
      const t = rng.int(0, j + 1);
      kept[kept[t] ? j : t] = 1;
    }
    visit(qb, kept);
  }
}

/** One mask per KV head over blocks [bounds[b], bounds[b+1]) (same blocks for queries and keys). */
export function blockSparseHeads(seqlen: number, seed: number, bounds: readonly number[], s: number, kvHeads: number): Mask[] {
  const n = bounds.length - 1;
  const k = keptCount(s, n);
  const heads: Mask[] = [];
  for (let h = 0; h < kvHeads; h++) {
    const slices: Slice[] = [];
    forEachKeptRow(seed, h, n, n, k, (qb, kept) => {
      for (let j = kept.indexOf(1); j >= 0; ) {
        let e = j + 1;
        while (e < n && kept[e]) e++;
        slices.push({ qStart: bounds[qb], qEnd: bounds[qb + 1], kStart: bounds[j], kEnd: bounds[e], kind: 'full' });
        j = e < n ? kept.indexOf(1, e) : -1;
      }
    });
    heads.push(oneMask(seqlen, slices));
  }
  return heads;
}

export const blockSparse = defineFamily({
  id: 'block_sparse',
  description: 'per KV head and query block, a random top-k of B x B key blocks (k = max(1, floor(s * blocks)))',
  params: [SPARSITY_PARAM, { name: 'block', role: 'block', kind: 'int', default: 128, description: 'block size B (must divide S)' }, KV_HEADS_PARAM],
  perHead: true,
  random: true,
  generate(seqlen, seed, params) {
    const s = num(params, 's');
    const block = num(params, 'block');
    const kvHeads = num(params, 'kvHeads');
    checkSparsity('block_sparse', s);
    checkBlock('block_sparse', 'block', block, seqlen);
    checkIntRange('block_sparse', 'kvHeads', kvHeads, 1, 1024);
    const bounds = Array.from({ length: seqlen / block + 1 }, (_, b) => b * block);
    return { family: 'block_sparse', seqlen, seed, params: resolved(params), heads: blockSparseHeads(seqlen, seed, bounds, s, kvHeads) };
  },
});
