// sliding_window: bidirectional window, j with |i - j| <= w (SPEC 3). One band -> at most three slices.
// Its area counts both sides of the window (about S * (2w + 1)); the paper's reference code counted
// one side only, which SPEC 3 calls out as a 2x error.
import { bandToSlices } from '../band.js';
import { WINDOW_PARAM, checkWindow, defineFamily, num, single } from './common.js';

export const slidingWindow = defineFamily({
  id: 'sliding_window',
  description: 'bidirectional window: token i attends to j with |i - j| <= w',
  params: [WINDOW_PARAM],
  perHead: false,
  random: false,
  generate(seqlen, seed, params) {
    const w = num(params, 'w');
    checkWindow('sliding_window', w, seqlen);
    const band = { q0: 0, q1: seqlen, k0: 0, k1: seqlen, lo: -w, hi: w };
    return single('sliding_window', seqlen, seed, params, bandToSlices(band));
  },
});
