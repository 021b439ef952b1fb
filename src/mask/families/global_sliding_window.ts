// global_sliding_window (SPEC 3, read literally): the first g tokens are global, they attend to every
// token and every token attends to them; every other pair attends when |i - j| <= g. The window IS
// g (there is no separate w): one definition, used by every adapter and by FLOP counting.
// g is random in [1, S/3): an integer 1 <= g < S/3 (g = 1 when S <= 3), stream 'g'; parameter g fixes it.
//
//        0   g              S
//     0  +---+--------------+      [0, g) x [0, S)   full   (global rows)
//        |   |  global rows |      [g, S) x [0, g)   full   (global columns)
//     g  +---+\-------------+      [g, S) x [g, S)   band |i - j| <= g  (<= 3 slices)
//        |   | \\\          |
//        | g |   \\\        |
//     S  +---+------\\\-----+
import { bandToSlices } from '../band.js';
import type { Slice } from '../types.js';
import { checkIntRange, defineFamily, drawOr, single } from './common.js';

export const globalSlidingWindow = defineFamily({
  id: 'global_sliding_window',
  description: 'first g tokens global (see all, seen by all); the rest attend within |i - j| <= g',
  params: [{ name: 'g', kind: 'int', default: 'random', description: 'global tokens and window, random in [1, S/3)' }],
  perHead: false,
  random: true,
  generate(seqlen, seed, params) {
    const g = drawOr(params, 'g', seed, 1, Math.max(2, Math.ceil(seqlen / 3)));
    checkIntRange('global_sliding_window', 'g', g, 1, seqlen);
    const slices: Slice[] = [{ qStart: 0, qEnd: g, kStart: 0, kEnd: seqlen, kind: 'full' }];
    if (g < seqlen) {
      slices.push({ qStart: g, qEnd: seqlen, kStart: 0, kEnd: g, kind: 'full' });
      slices.push(...bandToSlices({ q0: g, q1: seqlen, k0: g, k1: seqlen, lo: -g, hi: g }));
    }
    return single('global_sliding_window', seqlen, seed, { ...params, g }, slices);
  },
});
