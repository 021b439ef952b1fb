// The order in which a rank of a document placement holds its tokens (issue 14).
//
// `owned` may list a rank's ranges in any order; executors gather Q/K/V by it, and every attention
// step sees the rank's rows in that order. A tiled kernel pays for whole 128 x 128 blocks (the
// simulator's kernel model: a partial block costs 1.7x a full one forward and 6.5x backward, and a
// launch lasts at least as long as its heaviest query tile). In position order, a query tile that
// holds the last rows of a short local document and the first rows of a piece of a long one reads
// all of that piece's remote keys through partial blocks. So the rows that read remote keys come
// first, in pieces whose lengths are multiples of the tile where possible (the placement cuts long
// documents on tile multiples), and the purely local documents after them.
import type { Range } from '../../mask/types.js';
import { type AreaIndex, subtractRanges } from './area.js';

export const TILE = 128;

/**
 * `own` (sorted, merged) cut at document boundaries (`units`: sorted partition of [0, S)) and
 * reordered: the ranges whose rows read keys the rank does not own (adjacent ones merged), those
 * of tile-multiple length first, then the other remote readers, then the local ranges (adjacent
 * ones merged); by position inside each group.
 */
export function tileOrder(idx: AreaIndex, own: readonly Range[], units: readonly Range[]): Range[] {
  const remote: Range[] = [];
  const local: Range[] = [];
  let u = 0;
  for (const x of own) {
    let s = x.start;
    while (s < x.end) {
      while (units[u].end <= s) u++;
      const e = Math.min(x.end, units[u].end);
      const list = subtractRanges(idx.colExtent(s, e), own).length > 0 ? remote : local;
      const last = list[list.length - 1];
      if (last && last.end === s) list[list.length - 1] = { start: last.start, end: e };
      else list.push({ start: s, end: e });
      s = e;
    }
  }
  const tiled = (r: Range) => (r.end - r.start) % TILE === 0;
  return [...remote.filter(tiled), ...remote.filter((r) => !tiled(r)), ...local];
}
