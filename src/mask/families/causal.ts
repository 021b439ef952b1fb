// causal: token i attends to tokens j <= i (SPEC 3). One causal slice.
import { defineFamily, single } from './common.js';

export const causal = defineFamily({
  id: 'causal',
  description: 'token i attends to tokens j <= i',
  params: [],
  perHead: false,
  random: false,
  generate: (seqlen, seed, params) =>
    single('causal', seqlen, seed, params, [{ qStart: 0, qEnd: seqlen, kStart: 0, kEnd: seqlen, kind: 'causal' }]),
});
