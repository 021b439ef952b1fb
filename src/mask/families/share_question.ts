// share_question (SPEC 3). Reading: the sampled documents are a question (document 0, [0, q)) and
// answers 1..n. The question is causal within itself. Every answer [a, b) attends to the whole
// question and causally within itself (j <= i), never to another answer. "Answer 1 is joined causally
// to the question" is then automatic: question + answer 1 together are one causal sequence [0, b1).
// With a single document there are no answers and the mask is causal.
// Slices: [0, q) x [0, q) causal; per answer [a, b) x [0, q) full and [a, b) x [a, b) causal.
import type { Slice } from '../types.js';
import { DOC_LENS_PARAM, defineFamily, needDocs, sampleDocs, single } from './common.js';

export const shareQuestion = defineFamily({
  id: 'share_question',
  description: 'document 0 is a question; each later document (answer) sees all of it and is causal within itself',
  params: [DOC_LENS_PARAM],
  perHead: false,
  random: true,
  generate(seqlen, seed, params, h) {
    const lens = sampleDocs(needDocs(h), seqlen, seed);
    const q = lens[0];
    const slices: Slice[] = [{ qStart: 0, qEnd: q, kStart: 0, kEnd: q, kind: 'causal' }];
    let a = q;
    for (let d = 1; d < lens.length; d++) {
      const b = a + lens[d];
      slices.push({ qStart: a, qEnd: b, kStart: 0, kEnd: q, kind: 'full' });
      slices.push({ qStart: a, qEnd: b, kStart: a, kEnd: b, kind: 'causal' });
      a = b;
    }
    return single('share_question', seqlen, seed, params, slices, lens);
  },
});
