// full: every token attends to every token (SPEC 3). One full slice.
import { defineFamily, single } from './common.js';

export const full = defineFamily({
  id: 'full',
  description: 'every token attends to every token',
  params: [],
  perHead: false,
  random: false,
  generate: (seqlen, seed, params) =>
    single('full', seqlen, seed, params, [{ qStart: 0, qEnd: seqlen, kStart: 0, kEnd: seqlen, kind: 'full' }]),
});
