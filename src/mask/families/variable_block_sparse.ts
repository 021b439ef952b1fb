// variable_block_sparse(s, Bavg) (SPEC 3): as block_sparse, but blocks have varying sizes. Reading:
// one partition of the sequence serves as both query and key blocks (self-attention), shared by all
// heads. Block sizes are uniform integers in [blockMin, 2 * blockAvg - blockMin] (mean blockAvg;
// stream 'bounds'); a block that would leave fewer than blockMin tokens takes the rest of the
// sequence, so every block holds >= blockMin tokens. Then the block_sparse top-k per KV head and
// query block (k = max(1, floor(s * number of blocks))), kept blocks merged into full slices.
import { KV_HEADS_PARAM, SPARSITY_PARAM, checkIntRange, checkSparsity, defineFamily, num, resolved } from './common.js';
import { rngFor } from '../prng.js';
import { blockSparseHeads } from './block_sparse.js';

/** Block boundaries 0 = b0 < b1 < ... < bn = S (see the file header). */
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

export const variableBlockSparse = defineFamily({
  id: 'variable_block_sparse',
  description: 'block_sparse over random block sizes (average blockAvg, minimum blockMin)',
  params: [
    SPARSITY_PARAM,
    { name: 'blockAvg', role: 'block', kind: 'int', default: 256, description: 'average block size (blockMin <= blockAvg <= S)' },
    { name: 'blockMin', kind: 'int', default: 128, description: 'smallest block size' },
    KV_HEADS_PARAM,
  ],
  perHead: true,
  random: true,
  generate(seqlen, seed, params) {
    const s = num(params, 's');
    const blockAvg = num(params, 'blockAvg');
    const blockMin = num(params, 'blockMin');
    const kvHeads = num(params, 'kvHeads');
    checkSparsity('variable_block_sparse', s);
    checkIntRange('variable_block_sparse', 'blockMin', blockMin, 1, seqlen);
    checkIntRange('variable_block_sparse', 'blockAvg', blockAvg, blockMin, seqlen);
    checkIntRange('variable_block_sparse', 'kvHeads', kvHeads, 1, 1024);
    const bounds = variableBlockBounds(seqlen, blockAvg, blockMin, seed);
    return {
      family: 'variable_block_sparse',
      seqlen,
      seed,
      params: resolved(params),
      heads: blockSparseHeads(seqlen, seed, bounds, s, kvHeads),
    };
  },
});
