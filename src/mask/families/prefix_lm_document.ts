// prefix_lm_document (SPEC 3). Reading: one f is drawn, uniform in [1, length of document 0] (stream
// 'f'; parameter f fixes it). In every document [a, b) the first min(f, b - a) tokens are a
// bidirectional prefix (they attend to each other, not to the rest of the document), and every later
// token i attends causally to a <= j <= i. Nothing crosses documents.
// Slices per document: [a, a+f') x [a, a+f') full, [a+f', b) x [a, b) causal (j <= i), f' = min(f, b-a).
import type { Slice } from '../types.js';
import { DOC_LENS_PARAM, checkIntRange, defineFamily, drawOr, needDocs, sampleDocs, single } from './common.js';

export const prefixLmDocument = defineFamily({
  id: 'prefix_lm_document',
  description: 'per document: the first f tokens bidirectional, the rest causal (f random in [1, first document length])',
  params: [
    { name: 'f', kind: 'int', default: 'random', description: 'prefix length per document, random in [1, length of document 0]' },
    DOC_LENS_PARAM,
  ],
  perHead: false,
  random: true,
  generate(seqlen, seed, params, h) {
    const lens = sampleDocs(needDocs(h), seqlen, seed);
    const f = drawOr(params, 'f', seed, 1, lens[0] + 1);
    checkIntRange('prefix_lm_document', 'f', f, 1, Number.MAX_SAFE_INTEGER); // larger than a document: whole document bidirectional
    const slices: Slice[] = [];
    let a = 0;
    for (const len of lens) {
      const pf = Math.min(f, len);
      slices.push({ qStart: a, qEnd: a + pf, kStart: a, kEnd: a + pf, kind: 'full' });
      if (pf < len) slices.push({ qStart: a + pf, qEnd: a + len, kStart: a, kEnd: a + len, kind: 'causal' });
      a += len;
    }
    return single('prefix_lm_document', seqlen, seed, { ...params, f }, slices, lens);
  },
});
