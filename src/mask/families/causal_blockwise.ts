// causal_blockwise (SPEC 3). Reading: sampled documents are causal within themselves (j <= i in the
// same document); the last document [a, S) is causal over the whole sequence (its tokens attend to
// every j <= i, all earlier documents included). With one document the mask is causal.
// Slices: per document but the last, [a, b) x [a, b) causal; the last, [a, S) x [0, S) causal.
import type { Slice } from '../types.js';
import { DOC_LENS_PARAM, defineFamily, needDocs, sampleDocs, single } from './common.js';

export const causalBlockwise = defineFamily({
  id: 'causal_blockwise',
  description: 'documents causal within themselves; the last document causal over the whole sequence',
  params: [DOC_LENS_PARAM],
  perHead: false,
  random: true,
  generate(seqlen, seed, params, h) {
    const lens = sampleDocs(needDocs(h), seqlen, seed);
    const slices: Slice[] = [];
    let a = 0;
    for (let d = 0; d + 1 < lens.length; d++) {
      slices.push({ qStart: a, qEnd: a + lens[d], kStart: a, kEnd: a + lens[d], kind: 'causal' });
      a += lens[d];
    }
    slices.push({ qStart: a, qEnd: seqlen, kStart: 0, kEnd: seqlen, kind: 'causal' });
    return single('causal_blockwise', seqlen, seed, params, slices, lens);
  },
});
