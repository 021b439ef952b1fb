// 'slices' format: the mask's own slices as int32 range arrays (MagiAttention FFA's q_ranges,
// k_ranges, attn_type_map; our CPU and Triton kernels). Expresses every mask.
import { sliceArea } from '../slices.js';
import type { Mask } from '../types.js';
import { int32Problem, ok, unsupported } from './exact.js';
import { SLICE_TYPE_CODE, type AdaptResult, type SlicesValue } from './types.js';

export function toSlices(m: Mask): AdaptResult<SlicesValue> {
  const bad = int32Problem(m);
  if (bad) return unsupported(bad);
  // Slices without a pair add nothing and some kernels reject empty ranges: drop them.
  const kept = m.slices.filter((s) => sliceArea(s) > 0).sort((x, y) => x.qStart - y.qStart || x.kStart - y.kStart);
  const n = kept.length;
  const qRanges = new Int32Array(2 * n);
  const kRanges = new Int32Array(2 * n);
  const types = new Int32Array(n);
  kept.forEach((s, t) => {
    qRanges[2 * t] = s.qStart;
    qRanges[2 * t + 1] = s.qEnd;
    kRanges[2 * t] = s.kStart;
    kRanges[2 * t + 1] = s.kEnd;
    types[t] = SLICE_TYPE_CODE[s.kind];
  });
  return ok({ seqlenQ: m.seqlenQ, seqlenK: m.seqlenK, qRanges, kRanges, types });
}
