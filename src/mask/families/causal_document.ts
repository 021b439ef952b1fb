// causal_document: causal attention inside each sampled document (varlen causal, packed
// pre-training; SPEC 3). One causal slice per document.
import { DOC_LENS_PARAM, defineFamily, documentSlices, needDocs, sampleDocs, single } from './common.js';

export const causalDocument = defineFamily({
  id: 'causal_document',
  description: 'causal attention within each document, none across documents (varlen causal)',
  params: [DOC_LENS_PARAM],
  perHead: false,
  random: true,
  generate(seqlen, seed, params, h) {
    const lens = sampleDocs(needDocs(h), seqlen, seed);
    return single('causal_document', seqlen, seed, params, documentSlices(lens, 'causal'), lens);
  },
});
