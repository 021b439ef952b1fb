// block_causal_document (SPEC 3). Reading: the sequence is cut into blocks of `block` tokens (default
// 1024, must divide S); documents are runs of 1-8 whole blocks (uniform in 1..8, stream 'docblocks',
// the last clipped to the blocks left). Token i in block b of a document attends to every token of
// blocks 0..b of the same document (full blocks, so also to the rest of its own block). Document
// lengths come from the block counts, not from a histogram.
// Slices: per block b of a document starting at a, [a + bB, a + (b+1)B) x [a, a + (b+1)B) full.
import { rngFor } from '../prng.js';
import type { Slice } from '../types.js';
import { checkBlock, defineFamily, num, single } from './common.js';

export const MAX_DOC_BLOCKS = 8;

export const blockCausalDocument = defineFamily({
  id: 'block_causal_document',
  description: 'documents of 1-8 blocks; block b of a document attends fully to its blocks 0..b',
  params: [{ name: 'block', kind: 'int', default: 1024, description: 'block size in tokens (must divide S)' }],
  perHead: false,
  random: true,
  generate(seqlen, seed, params) {
    const block = num(params, 'block');
    checkBlock('block_causal_document', 'block', block, seqlen);
    const rng = rngFor(seed, 'docblocks');
    const lens: number[] = [];
    const slices: Slice[] = [];
    let a = 0;
    for (let left = seqlen / block; left > 0; ) {
      const nb = Math.min(rng.int(1, MAX_DOC_BLOCKS + 1), left);
      for (let b = 0; b < nb; b++)
        slices.push({ qStart: a + b * block, qEnd: a + (b + 1) * block, kStart: a, kEnd: a + (b + 1) * block, kind: 'full' });
      lens.push(nb * block);
      a += nb * block;
      left -= nb;
    }
    return single('block_causal_document', seqlen, seed, params, slices, lens);
  },
});
