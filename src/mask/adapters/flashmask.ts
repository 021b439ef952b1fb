// 'flashmask' format: FlashMask's column-wise row bounds (PaddlePaddle flashmask_attention,
// startend_row_indices [.., Sk, 4], arXiv 2410.01359). Convention, per key column j:
//
//   row i is masked  iff  LTS <= i < LTE  or  UTS <= i < UTE     (causal mode: also iff i < j)
//
//   column j      The docs draw [LTS, LTE) in the lower-left triangle and [UTS, UTE) in the
//   row 0  .      upper-right one, but the kernel (flashmask apply_flashmask_*) tests both
//          x  UT  intervals on every element, so a column is expressible iff its masked rows form
//          .      at most two runs (at most one run on or below the diagonal in causal mode, which
//          .      is only used for Sq = Sk). Two runs: the upper is (UTS, UTE), the lower
//          x  LT  (LTS, LTE). One run: (UTS, UTE) if it starts at row 0, else (LTS, LTE).
//          x      No run: (LTS, LTE) = (Sq, Sq) and (UTS, UTE) = (0, 0).
//
// A column sweep keeps the slices that cover the column (sorted by kStart) and merges their row
// ranges (colRanges' formula, without its O(slices) scan per column): O(Sk x slices per column),
// stopping at the first column the format cannot express.
import { sliceToBand, type Band } from '../band.js';
import type { Mask } from '../types.js';
import { areaOnDiagonals, int32Problem, ok, unsupported } from './exact.js';
import type { AdaptResult, FlashmaskValue } from './types.js';

export function toFlashmask(m: Mask): AdaptResult<FlashmaskValue> {
  const bad = int32Problem(m);
  if (bad) return unsupported(bad);
  // Causal mode skips the blocks above the diagonal; usable when no pair lies there. It is not
  // always enough where the plain mode is: column 0 has no rows above the diagonal to absorb a run.
  if (m.seqlenQ === m.seqlenK && areaOnDiagonals(m, 1, Infinity) === 0) {
    const r = sweep(m, true);
    if (r.kind === 'ok') return r;
  }
  return sweep(m, false);
}

function sweep(m: Mask, causal: boolean): AdaptResult<FlashmaskValue> {
  const Sq = m.seqlenQ;
  const Sk = m.seqlenK;
  const bands = m.slices.map(sliceToBand).sort((x, y) => x.k0 - y.k0);
  const out = new Int32Array(4 * Sk);
  let active: Band[] = [];
  let nextEnd = Infinity; // smallest k1 among the active bands
  let added = 0;
  const starts: number[] = [];
  const ends: number[] = [];
  for (let j = 0; j < Sk; j++) {
    if (j >= nextEnd) {
      active = active.filter((b) => b.k1 > j);
      nextEnd = Infinity;
      for (const b of active) nextEnd = Math.min(nextEnd, b.k1);
    }
    while (added < bands.length && bands[added].k0 <= j) {
      const b = bands[added++];
      if (b.k1 <= j) continue;
      active.push(b);
      nextEnd = Math.min(nextEnd, b.k1);
    }
    // Unmasked row ranges of column j, sorted by start (insertion sort: few per column).
    let n = 0;
    for (const b of active) {
      const s = Math.max(b.q0, j - b.hi);
      const e = Math.min(b.q1, j - b.lo + 1);
      if (e <= s) continue;
      let t = n++;
      while (t > 0 && starts[t - 1] > s) {
        starts[t] = starts[t - 1];
        ends[t] = ends[t - 1];
        t--;
      }
      starts[t] = s;
      ends[t] = e;
    }
    // Masked runs: the gaps between merged unmasked ranges inside [top, Sq).
    const top = causal ? j : 0;
    let gaps = 0;
    let [g0s, g0e, g1s, g1e] = [0, 0, 0, 0];
    let reach = top;
    for (let t = 0; t <= n; t++) {
      const s = t < n ? starts[t] : Sq;
      if (s > reach) {
        if (gaps === 0) [g0s, g0e] = [reach, s];
        else [g1s, g1e] = [reach, s];
        gaps++;
      }
      if (t < n) reach = Math.max(reach, ends[t]);
    }
    const limit = causal ? 1 : 2;
    if (gaps > limit) {
      return unsupported(`key column ${j} has ${gaps} masked row runs; FlashMask bounds hold ${limit}${causal ? ' below the diagonal' : ''}`);
    }
    let [lts, lte, uts, ute] = [Sq, Sq, 0, 0];
    if (gaps === 2) [uts, ute, lts, lte] = [g0s, g0e, g1s, g1e];
    else if (gaps === 1 && g0s === 0 && !causal) [uts, ute] = [g0s, g0e];
    else if (gaps === 1) [lts, lte] = [g0s, g0e];
    out[4 * j] = lts;
    out[4 * j + 1] = lte;
    out[4 * j + 2] = uts;
    out[4 * j + 3] = ute;
  }
  return ok({ seqlenQ: Sq, seqlenK: Sk, startRowIndices: out, causal });
}
