// prefix_lm_causal (SPEC 3): a prefix [0, p) with p random in [1, S] (stream 'p'; parameter p fixes
// it) is bidirectional within itself; every later token i attends causally to all j <= i.
// Slices: [0, p) x [0, p) full, then [p, S) x [0, S) causal (bottom-right aligned: j <= i).
import type { Slice } from '../types.js';
import { checkIntRange, defineFamily, drawOr, single } from './common.js';

export const prefixLmCausal = defineFamily({
  id: 'prefix_lm_causal',
  description: 'bidirectional prefix of random length p in [1, S], causal after it',
  params: [{ name: 'p', kind: 'int', default: 'random', description: 'prefix length, random in [1, S]' }],
  perHead: false,
  random: true,
  generate(seqlen, seed, params) {
    const p = drawOr(params, 'p', seed, 1, seqlen + 1);
    checkIntRange('prefix_lm_causal', 'p', p, 1, seqlen);
    const slices: Slice[] = [{ qStart: 0, qEnd: p, kStart: 0, kEnd: p, kind: 'full' }];
    if (p < seqlen) slices.push({ qStart: p, qEnd: seqlen, kStart: 0, kEnd: seqlen, kind: 'causal' });
    return single('prefix_lm_causal', seqlen, seed, { ...params, p }, slices);
  },
});
