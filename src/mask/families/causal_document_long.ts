// causal_document_long: causal_document over the _long document mix (SPEC 3): 40% of the tokens in
// histogram-sampled documents, 60% in long documents of 8k-30k tokens, shuffled (see sampleLongMix).
import { DOC_LENS_PARAM, defineFamily, documentSlices, needDocs, sampleLongMix, single } from './common.js';

export const causalDocumentLong = defineFamily({
  id: 'causal_document_long',
  description: 'causal_document with 60% of tokens in long documents (8k-30k), 40% histogram-sampled, shuffled',
  params: [DOC_LENS_PARAM],
  perHead: false,
  random: true,
  generate(seqlen, seed, params, h) {
    const lens = sampleLongMix(needDocs(h), seqlen, seed);
    return single('causal_document_long', seqlen, seed, params, documentSlices(lens, 'causal'), lens);
  },
});
