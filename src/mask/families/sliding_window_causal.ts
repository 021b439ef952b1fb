// sliding_window_causal: i - w <= j <= i (SPEC 3). One band -> at most two slices.
import { bandToSlices } from '../band.js';
import { WINDOW_PARAM, checkWindow, defineFamily, num, single } from './common.js';

export const slidingWindowCausal = defineFamily({
  id: 'sliding_window_causal',
  description: 'causal window: token i attends to j with i - w <= j <= i',
  params: [WINDOW_PARAM],
  perHead: false,
  random: false,
  generate(seqlen, seed, params) {
    const w = num(params, 'w');
    checkWindow('sliding_window_causal', w, seqlen);
    const band = { q0: 0, q1: seqlen, k0: 0, k1: seqlen, lo: -w, hi: 0 };
    return single('sliding_window_causal', seqlen, seed, params, bandToSlices(band));
  },
});
