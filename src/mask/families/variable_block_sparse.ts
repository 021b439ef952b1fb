// variable_block_sparse(s, Bavg) (SPEC 3): block_sparse over blocks of varying sizes.
// partition=paper (default; the paper's generator): for every KV head h, a partition of the query
//   rows and a separate partition of the key columns, each into n = max(1, floor(S / blockAvg))
//   blocks of >= blockMin tokens summing to S (streams 'bounds:q:<h>' and 'bounds:k:<h>': the
//   S - n * blockMin spare tokens are spread by n - 1 sorted uniform cuts, so the mean block is
//   S / n ~ blockAvg at every S); then per query block the top-k of the head's key blocks,
//   k = max(1, floor(s * n)) (stream 'kept:<h>', as block_sparse).
// partition=shared (our first reading, kept as an option): one partition serves as query and key
//   blocks for every head; block sizes uniform in [blockMin, 2 * blockAvg - blockMin] (stream
//   'bounds'), a block that would leave fewer than blockMin tokens takes the rest, so the mean
//   drifts at small S (1365 for blockAvg 1024 at S = 4096).
// Kept blocks of a row that touch are merged into one full slice.
import { badInput } from '../../errors.js';
import { rngFor } from '../prng.js';
import type { Mask, Slice } from '../types.js';
import { KV_HEADS_PARAM, SPARSITY_PARAM, checkIntRange, checkSparsity, defineFamily, num, oneMask, resolved } from './common.js';
import { blockSparseHeads, forEachKeptRow, keptCount } from './block_sparse.js';

export const PARTITIONS = ['paper', 'shared'] as const;

/** Shared partition: block boundaries 0 = b0 < b1 < ... < bn = S (see the file header). */
export function variableBlockBounds(seqlen: number, blockAvg: number, blockMin: number, seed: number): number[] {
  const rng = rngFor(seed, 'bounds');
  const bounds = [0];
  for (let pos = 0; pos < seqlen; ) {
    let size = rng.int(blockMin, 2 * blockAvg - blockMin + 1);
    if (seqlen - pos - size < blockMin) size = seqlen - pos;
    pos += size;
    bounds.push(pos);
  }
  return bounds;
}

/** Paper partition: n blocks of >= blockMin tokens summing to S, from stream `label`. */
export function paperBounds(seqlen: number, n: number, blockMin: number, seed: number, label: string): number[] {
  const spare = seqlen - n * blockMin;
  const rng = rngFor(seed, label);
  const cuts = Array.from({ length: n - 1 }, () => rng.int(0, spare + 1)).sort((a, b) => a - b);
  const bounds = [0];
  for (let b = 0; b < n; b++) bounds.push(bounds[b] + blockMin + ((b < n - 1 ? cuts[b] : spare) - (b > 0 ? cuts[b - 1] : 0)));
  return bounds;
}

/** One mask per KV head: the head's own query and key partitions, top-k of key blocks per query block. */
export function paperHeads(seqlen: number, seed: number, n: number, blockMin: number, s: number, kvHeads: number): Mask[] {
  const k = keptCount(s, n);
  const heads: Mask[] = [];
  for (let h = 0; h < kvHeads; h++) {
    const qb = paperBounds(seqlen, n, blockMin, seed, `bounds:q:${h}`);
    const kb = paperBounds(seqlen, n, blockMin, seed, `bounds:k:${h}`);
    const slices: Slice[] = [];
    forEachKeptRow(seed, h, n, n, k, (row, kept) => {
      for (let j = kept.indexOf(1); j >= 0; ) {
        let e = j + 1;
        while (e < n && kept[e]) e++;
        slices.push({ qStart: qb[row], qEnd: qb[row + 1], kStart: kb[j], kEnd: kb[e], kind: 'full' });
        j = e < n ? kept.indexOf(1, e) : -1;
      }
    });
    heads.push(oneMask(seqlen, slices));
  }
  return heads;
}

export const variableBlockSparse = defineFamily({
  id: 'variable_block_sparse',
  description: 'block_sparse over random block sizes (average blockAvg, minimum blockMin); partition=paper (per-head query / key partitions) or shared',
  params: [
    SPARSITY_PARAM,
    { name: 'blockAvg', role: 'block', kind: 'int', default: 256, description: 'average block size (blockMin <= blockAvg <= S)' },
    { name: 'blockMin', kind: 'int', default: 128, description: 'smallest block size' },
    KV_HEADS_PARAM,
    {
      name: 'partition',
      kind: 'string',
      default: 'auto',
      description: "paper (default): separate query and key partitions per KV head, S / blockAvg blocks each; shared: one partition for queries, keys and heads",
    },
  ],
  perHead: true,
  random: true,
  generate(seqlen, seed, params) {
    const s = num(params, 's');
    const blockAvg = num(params, 'blockAvg');
    const blockMin = num(params, 'blockMin');
    const kvHeads = num(params, 'kvHeads');
    const partition = (params.partition as string | undefined) ?? 'paper';
    checkSparsity('variable_block_sparse', s);
    checkIntRange('variable_block_sparse', 'blockMin', blockMin, 1, seqlen);
    checkIntRange('variable_block_sparse', 'blockAvg', blockAvg, blockMin, seqlen);
    checkIntRange('variable_block_sparse', 'kvHeads', kvHeads, 1, 1024);
    if (!(PARTITIONS as readonly string[]).includes(partition))
      throw badInput(`variable_block_sparse: partition '${partition}' is not one of ${PARTITIONS.join(', ')}`);
    const heads =
      partition === 'shared'
        ? blockSparseHeads(seqlen, seed, variableBlockBounds(seqlen, blockAvg, blockMin, seed), s, kvHeads)
        : paperHeads(seqlen, seed, Math.max(1, Math.floor(seqlen / blockAvg)), blockMin, s, kvHeads);
    return { family: 'variable_block_sparse', seqlen, seed, params: resolved({ ...params, partition }), heads };
  },
});
