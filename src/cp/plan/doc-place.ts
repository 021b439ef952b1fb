// Document-aware placement (issue 14, DESIGN-NEXT 2): whole documents on ranks, balanced by
// attention area, so that most documents need no communication at all.
//
// Documents are read off the mask, not from the family: a *unit* is a maximal run of tokens tied
// together near the diagonal (each slice ties the tokens of its q range that are also in its k
// range). causal_document, full_document, prefix_lm_document, block_causal_document: one unit per
// document. share_question: the question and each answer are units (an answer's view of the
// question is off the diagonal: the question's K/V is fetched by every rank holding an answer).
// causal_blockwise: every document is a unit, the last one reads every earlier key (fetched).
// global_sliding_window: the global tokens, then one unit for the band. full / causal: one unit.
//
// Placement (LPT with a token cap):
//   1. A unit whose area exceeds the mean rank area M = total / P, or whose tokens exceed the cap,
//      is split into k pieces (k = the most of ceil(area / M) and ceil(tokens / cap)):
//        area     k contiguous pieces of equal area (a causal piece only needs the keys before it,
//                 so the pieces' fetches add up to about 2/3 k L tokens);
//        zigzag   2k equal-token pieces, piece i paired with 2k-1-i (equal tokens and equal area
//                 on causal units; fetches about 3/4 k L tokens).
//      The area split is used when its pieces respect the token cap, else the zigzag pairs.
//   2. Items (whole units and pieces) in decreasing area go to the least loaded rank whose tokens
//      stay within the cap (LPT); when none has room, to the rank with the most room.
// The owned ranges of a rank are its items sorted by position: tokens change places (the plan's
// `owned` lists are the permutation; executors gather Q/K/V and scatter O by them).
import type { Range } from '../../mask/types.js';
import type { AreaIndex } from './area.js';
import { mergeSorted } from './area.js';
import { sliceToBand } from '../../mask/band.js';

/**
 * Documents of the mask as a partition of [0, S) into runs (see the header): the diagonal ties of
 * every slice, then, smallest first, slices whose whole span (rows and keys) joins several runs
 * merge them when the merged run's area is at most `maxArea` (it still fits one rank).
 */
export function documentUnits(idx: AreaIndex, maxArea = Infinity): Range[] {
  const S = idx.mask.seqlenQ;
  const ties: Range[] = [];
  const spans: Range[] = [];
  for (const s of idx.mask.slices) {
    const b = sliceToBand(s);
    const a = Math.max(b.q0, b.k0);
    const e = Math.min(b.q1, b.k1);
    if (e - a > 1) ties.push({ start: a, end: e });
    spans.push({ start: Math.min(b.q0, b.k0), end: Math.max(b.q1, b.k1) });
  }
  ties.sort((x, y) => x.start - y.start);
  const base: Range[] = [];
  let pos = 0;
  for (const t of ties) {
    const last = base[base.length - 1];
    if (last && t.start < last.end) {
      if (t.end > last.end) base[base.length - 1] = { start: last.start, end: t.end };
      pos = base[base.length - 1].end;
      continue;
    }
    if (t.start > pos) base.push({ start: pos, end: t.start }); // untied tokens: a run of their own
    base.push({ start: t.start, end: t.end });
    pos = t.end;
  }
  if (pos < S) base.push({ start: pos, end: S });
  if (base.length < 2 || maxArea <= 0) return base;
  // Groups of consecutive base runs: first[u] = the first run of u's group (path-compressed).
  const n = base.length;
  const first = Int32Array.from({ length: n }, (_, u) => u);
  const last = Int32Array.from({ length: n }, (_, u) => u); // valid at group heads
  const find = (u: number): number => {
    let h = u;
    while (first[h] !== h) h = first[h];
    while (first[u] !== h) [u, first[u]] = [first[u], h];
    return h;
  };
  const prefix = new Float64Array(n + 1);
  base.forEach((u, t) => (prefix[t + 1] = prefix[t] + idx.rectArea(u.start, u.end, 0, S)));
  const unitAt = (x: number) => {
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (base[mid].start <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  spans.sort((x, y) => x.end - x.start - (y.end - y.start) || x.start - y.start);
  for (const sp of spans) {
    const g0 = find(unitAt(sp.start));
    const g1 = find(unitAt(sp.end - 1));
    if (g0 === g1) continue;
    const hi = last[g1];
    if (prefix[hi + 1] - prefix[g0] > maxArea) continue;
    for (let u = last[g0] + 1; u <= hi; u = last[u] + 1) first[u] = g0; // u: the next group's head
    last[g0] = hi;
  }
  const out: Range[] = [];
  for (let u = 0; u < n; u = last[u] + 1) out.push({ start: base[u].start, end: base[last[u]].end });
  return out;
}

/**
 * Every unit cut into 2P near-equal pieces, rank r owning pieces r and 2P-1-r of each (the ring
 * baseline of the paper: zigzag inside every document). With one unit this is plain zigzag.
 */
export function docZigzagShards(units: readonly Range[], P: number): Range[][] {
  const owned: Range[][] = Array.from({ length: P }, () => []);
  const n = 2 * P;
  // Short units leave most pieces empty; rotating the start keeps the ranks' token counts even.
  let rot = 0;
  for (const u of units) {
    const L = u.end - u.start;
    const cut = (j: number) => u.start + Math.floor((j * L) / n);
    if (L < n) {
      // Tokens one by one, zigzag order of ranks, continuing where the previous short unit stopped.
      for (let t = 0; t < L; t++) {
        const j = (rot + t) % n;
        const r = j < P ? j : n - 1 - j;
        owned[r].push({ start: u.start + t, end: u.start + t + 1 });
      }
      rot = (rot + L) % n;
      continue;
    }
    for (let j = 0; j < n; j++) {
      const s = cut(j);
      const e = cut(j + 1);
      if (e > s) owned[j < P ? j : n - 1 - j].push({ start: s, end: e });
    }
  }
  return owned.map((rs) => mergeSorted(rs));
}

export interface DocPlacementOptions {
  /** Largest tokens on one rank. */
  readonly cap: number;
  /** Largest area of one rank / mean area. */
  readonly target: number;
  /** How documents too large for a rank are cut: fill (k contiguous equal-area pieces) or zigzag (k head/tail pairs). */
  readonly split: 'fill' | 'zigzag';
  /** documentUnits(idx, mean area), when the caller has them already. */
  readonly units?: readonly Range[];
}

export interface DocPlacement {
  readonly owned: Range[][];
  /** Area per rank. */
  readonly loads: Float64Array;
  readonly units: number;
  /** Units that had to be split. */
  readonly split: number;
}

interface Item {
  readonly ranges: Range[];
  readonly area: number;
  readonly tokens: number;
}

/** Cuts unit u into 2k equal-token pieces and pairs piece i with 2k-1-i. */
function zigzagCuts(idx: AreaIndex, u: Range, k: number, S: number): Item[] {
  const L = u.end - u.start;
  const n = 2 * k;
  const cut = (j: number) => u.start + Math.floor((j * L) / n);
  const items: Item[] = [];
  for (let i = 0; i < k; i++) {
    const rs = [
      { start: cut(i), end: cut(i + 1) },
      { start: cut(n - 1 - i), end: cut(n - i) },
    ].filter((r) => r.end > r.start);
    if (!rs.length) continue;
    let area = 0;
    let tokens = 0;
    for (const r of rs) {
      area += idx.rectArea(r.start, r.end, 0, S);
      tokens += r.end - r.start;
    }
    items.push({ ranges: rs, area, tokens });
  }
  return items;
}

/** Ranks by load, with the token counts that bound them. */
class Ranks {
  readonly loads: Float64Array;
  readonly toks: Float64Array;
  readonly owned: Range[][];
  constructor(
    readonly P: number,
    readonly cap: number,
  ) {
    this.loads = new Float64Array(P);
    this.toks = new Float64Array(P);
    this.owned = Array.from({ length: P }, () => []);
  }

  /** The least loaded rank with room for `tokens` more (else the one with the most room). */
  pick(tokens: number): number {
    let best = -1;
    let roomiest = 0;
    for (let r = 0; r < this.P; r++) {
      if (this.toks[r] + tokens <= this.cap && (best < 0 || this.loads[r] < this.loads[best])) best = r;
      if (this.toks[r] < this.toks[roomiest]) roomiest = r;
    }
    return best >= 0 ? best : roomiest;
  }

  /**
   * The rank where the item leaves the smallest max(area / mean, tokens / mean tokens) (both
   * resources balanced at once: short documents carry many tokens and little area), within the cap.
   */
  pickBoth(area: number, tokens: number, M: number): number {
    const T = this.cap;
    let best = -1;
    let score = Infinity;
    for (let r = 0; r < this.P; r++) {
      if (this.toks[r] + tokens > this.cap) continue;
      const sc = Math.max(M > 0 ? (this.loads[r] + area) / M : 0, (this.toks[r] + tokens) / T);
      if (sc < score) [best, score] = [r, sc];
    }
    return best >= 0 ? best : this.pick(tokens);
  }

  put(r: number, ranges: readonly Range[], area: number, tokens: number): void {
    this.loads[r] += area;
    this.toks[r] += tokens;
    for (const x of ranges) this.owned[r].push(x);
  }
}

/** Cuts unit u into k contiguous pieces of equal area (binary search on the rows' area). */
function areaCuts(rowsArea: (a: number, b: number) => number, u: Range, area: number, k: number): Item[] {
  const cuts = [u.start];
  for (let i = 1; i < k; i++) {
    const want = (area * i) / k;
    let lo = cuts[cuts.length - 1];
    let hi = u.end;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rowsArea(u.start, mid) >= want) hi = mid;
      else lo = mid + 1;
    }
    cuts.push(lo);
  }
  cuts.push(u.end);
  const items: Item[] = [];
  for (let i = 0; i < k; i++) {
    if (cuts[i + 1] <= cuts[i]) continue;
    const r = { start: cuts[i], end: cuts[i + 1] };
    items.push({ ranges: [r], area: rowsArea(r.start, r.end), tokens: r.end - r.start });
  }
  return items;
}

export function placeDocuments(idx: AreaIndex, P: number, opts: DocPlacementOptions): DocPlacement {
  const S = idx.mask.seqlenQ;
  const rowsArea = (a: number, b: number) => idx.rectArea(a, b, 0, S);
  let total = 0;
  for (const u of documentUnits(idx, 0)) total += rowsArea(u.start, u.end);
  const M = total / P;
  const units = opts.units ?? documentUnits(idx, M);
  const cap = Math.max(1, Math.floor(opts.cap));
  const ranks = new Ranks(P, cap);
  // 1. Items: whole units, and units larger than a rank (area or tokens) cut into k pieces.
  const items: Item[] = [];
  let split = 0;
  for (const u of units) {
    const L = u.end - u.start;
    const a = rowsArea(u.start, u.end);
    const k = Math.min(L, Math.max(1, M > 0 ? Math.ceil(a / M - 1e-9) : 1, Math.ceil(L / cap)));
    if (k === 1) {
      items.push({ ranges: [u], area: a, tokens: L });
      continue;
    }
    split++;
    let pieces = opts.split === 'fill' ? areaCuts(rowsArea, u, a, k) : null;
    if (!pieces || pieces.some((p) => p.tokens > cap)) pieces = zigzagCuts(idx, u, k, S);
    items.push(...pieces);
  }
  // 2. LPT: largest area first (ties: more tokens, then position) to the least loaded rank with
  //    token room.
  items.sort((x, y) => y.area - x.area || y.tokens - x.tokens || x.ranges[0].start - y.ranges[0].start);
  for (const it of items) ranks.put(ranks.pickBoth(it.area, it.tokens, M), it.ranges, it.area, it.tokens);
  // 3. Repair: while the most loaded rank is over the target, cut the head of its largest range
  //    (the part that needs the fewest remote keys) and move it to the least loaded rank.
  const goal = M * (1 + (opts.target - 1) / 2);
  for (let iter = 0; iter < 4 * P; iter++) {
    let hi = 0;
    for (let r = 1; r < P; r++) if (ranks.loads[r] > ranks.loads[hi]) hi = r;
    if (ranks.loads[hi] <= goal) break;
    const lo = ranks.pick(1);
    const give = Math.min(ranks.loads[hi] - M, M - ranks.loads[lo]);
    if (lo === hi || give <= 0) break;
    const own = ranks.owned[hi];
    let at = 0;
    let best = -1;
    own.forEach((x, i) => {
      const a = rowsArea(x.start, x.end);
      if (a > best) [best, at] = [a, i];
    });
    const x = own[at];
    let l = x.start + 1;
    let h = Math.min(x.end, x.start + Math.max(1, cap - ranks.toks[lo]));
    while (l < h) {
      const mid = (l + h) >> 1;
      if (rowsArea(x.start, mid) >= give) h = mid;
      else l = mid + 1;
    }
    const moved = rowsArea(x.start, l);
    if (moved >= ranks.loads[hi] - ranks.loads[lo]) break; // would not lower the maximum
    own.splice(at, 1, ...(l < x.end ? [{ start: l, end: x.end }] : []));
    ranks.loads[hi] -= moved;
    ranks.toks[hi] -= l - x.start;
    ranks.put(lo, [{ start: x.start, end: l }], moved, l - x.start);
  }
  // 4. Every rank owns at least one token (executors and checkers expect it): an empty rank takes
  //    the head half of the longest range of the rank with the most tokens.
  for (let r = 0; r < P; r++) {
    if (ranks.toks[r] > 0) continue;
    let d = 0;
    for (let x = 1; x < P; x++) if (ranks.toks[x] > ranks.toks[d]) d = x;
    const own = ranks.owned[d];
    let at = 0;
    own.forEach((x, i) => {
      if (x.end - x.start > own[at].end - own[at].start) at = i;
    });
    const x = own[at];
    if (x.end - x.start < 2) break; // fewer tokens than ranks: the caller reports it
    const mid = x.start + ((x.end - x.start) >> 1);
    const moved = rowsArea(x.start, mid);
    own.splice(at, 1, { start: mid, end: x.end });
    ranks.loads[d] -= moved;
    ranks.toks[d] -= mid - x.start;
    ranks.put(r, [{ start: x.start, end: mid }], moved, mid - x.start);
  }
  return { owned: ranks.owned.map((rs) => mergeSorted(rs)), loads: ranks.loads, units: units.length, split };
}
