// A lower bound on the keys any placement must fetch (issue 14): how close a document placement
// can get in bytes, whatever its algorithm, when Q stays on its rank and K/V travel (dispatch).
//
// Constraints of the placement: every rank holds at most `cap` tokens and at most `target` x the
// mean area (the imbalance bound). A rank that holds rows T of a document fetches every key those
// rows read that it does not hold.
//
//   full document of L tokens: every row reads all L keys, and a rank holds at most
//     per = min(cap, Amax / L) of its rows, so at least k = ceil(L / per) ranks hold it and they
//     fetch sum_j (L - |T_j|) = (k - 1) L keys.
//   causal document: a rank whose last row is at offset m - 1 reads keys [0, m) and fetches at
//     least m - |T_j|. With n(x) = the ranks holding a row at offset >= x, sum_j m_j = sum_x n(x),
//     and those ranks hold every row of [x, L): n(x) >= ceil(area([x, L)) / Amax) and
//     n(x) >= ceil((L - x) / cap). So the fetch is at least sum_x max(1, both) - L.
// Units of other shapes (prefix-LM, windows, blocks) count 0, which keeps the bound valid.
import type { Range } from '../../mask/types.js';
import type { AreaIndex } from './area.js';
import { documentUnits } from './doc-place.js';

const same = (a: readonly Range[], s: number, e: number) => a.length === 1 && a[0].start === s && a[0].end === e;

/** Keys (tokens) every placement within `cap` tokens and `target` x the mean area per rank fetches at least. */
export function fetchLowerBound(idx: AreaIndex, P: number, cap: number, target: number): number {
  const S = idx.mask.seqlenQ;
  const units = documentUnits(idx, 0);
  let total = 0;
  const areas = units.map((u) => {
    const a = idx.rectArea(u.start, u.end, 0, S);
    total += a;
    return a;
  });
  const Amax = (target * total) / P;
  let bound = 0;
  units.forEach((u, i) => {
    const L = u.end - u.start;
    if (areas[i] <= Amax && L <= cap) return;
    const last = idx.colExtent(u.end - 1, u.end);
    if (!same(last, u.start, u.end)) return;
    const first = idx.colExtent(u.start, u.start + 1);
    if (same(first, u.start, u.end) && areas[i] === L * L) {
      const per = Math.min(cap, Math.floor(Amax / L + 1e-9));
      if (per >= 1) bound += (Math.ceil(L / per) - 1) * L;
    } else if (same(first, u.start, u.start + 1) && areas[i] === (L * (L + 1)) / 2) {
      let rows = 0;
      let suffix = 0;
      for (let x = L - 1; x >= 0; x--) {
        suffix += x + 1;
        rows += Math.max(1, Math.ceil(suffix / Amax - 1e-12), Math.ceil((L - x) / cap - 1e-12));
      }
      bound += rows - L;
    }
  });
  return bound;
}
