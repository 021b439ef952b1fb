// full_document: full attention inside each sampled document, nothing across (varlen full; SPEC 3).
// One full slice per document.
import { DOC_LENS_PARAM, defineFamily, documentSlices, needDocs, sampleDocs, single } from './common.js';

export const fullDocument = defineFamily({
  id: 'full_document',
  description: 'full attention within each document, none across documents (varlen full)',
  params: [DOC_LENS_PARAM],
  perHead: false,
  random: true,
  generate(seqlen, seed, params, h) {
    const lens = sampleDocs(needDocs(h), seqlen, seed);
    return single('full_document', seqlen, seed, params, documentSlices(lens, 'full'), lens);
  },
});
