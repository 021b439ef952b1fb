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
import { TILE } from './doc-order.js';

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
  /**
   * Tokens that count as a full rank when LPT weighs area against tokens (default: the cap). The
   * mean tokens per rank spreads token-heavy documents more evenly (leaving room for the short
   * documents that must fill the ranks holding pieces of long ones) at some cost in bytes.
   */
  readonly tokenScale?: number;
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

/**
 * Area of a head/tail pair as a share of the mean rank area (zigzagCuts): pairs a little below a
 * full rank leave room for the short documents that even out the rounding to tiles, and the rest
 * of a long document becomes one smaller piece that packs easily.
 */
export const PIECE_FILL = 0.97;

interface Item {
  readonly ranges: Range[];
  readonly area: number;
  readonly tokens: number;
}

/**
 * Cuts unit u into head/tail pairs of at most area(u) / k each, from the outside in: pair i takes a
 * tail of about L / 2k tokens off the end and the longest head off the front that keeps the pair
 * within that area; what is left in the middle becomes contiguous pieces within it. When pieces
 * hold a tile or more, every cut lies on the tile grid counted from the document's end, so every
 * piece but the first head fills whole query tiles (doc-order.ts; on causal documents the first
 * head reads no remote key). Rounding heads down keeps every pair within the bound; what they
 * leave goes to the middle, which may add a piece or two.
 */
function zigzagCuts(idx: AreaIndex, u: Range, k: number, S: number, full = 0): Item[] {
  const L = u.end - u.start;
  const rowsArea = (a: number, b: number) => (b > a ? idx.rectArea(a, b, 0, S) : 0);
  const A = Math.max(rowsArea(u.start, u.end) / k, Math.min(full, rowsArea(u.start, u.end) / (k - 1 || 1)));
  const grid = L >= 2 * k * TILE ? TILE : 1;
  /** The largest grid point x in [lo, hi] with rowsArea(from, x) <= want (lo when none). */
  const within = (from: number, lo: number, hi: number, want: number) => {
    let a = 0;
    let b = Math.floor((hi - lo) / grid);
    const at = (n: number) => (n === 0 ? lo : u.end - grid * Math.ceil((u.end - lo - n * grid) / grid));
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (at(mid) <= hi && rowsArea(from, at(mid)) <= want) a = mid;
      else b = mid - 1;
    }
    return Math.min(hi, at(a));
  };
  const items: Item[] = [];
  const push = (rs: Range[]) => {
    const kept = rs.filter((r) => r.end > r.start);
    if (kept.length) items.push({ ranges: kept, area: kept.reduce((a, r) => a + rowsArea(r.start, r.end), 0), tokens: kept.reduce((n, r) => n + r.end - r.start, 0) });
  };
  let f = u.start;
  let b = u.end;
  for (let i = 0; i < k - 1 && f < b && rowsArea(f, b) > A; i++) {
    let t = Math.min(b - f, grid * Math.max(1, Math.round(L / (2 * k) / grid)));
    while (t > grid && rowsArea(b - t, b) > A) t -= grid;
    if (rowsArea(b - t, b) > A) {
      // One tile of tail rows already holds more than a pair's area: the largest tail within it.
      let lo = 1;
      let hi = t;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (rowsArea(b - mid, b) <= A) lo = mid;
        else hi = mid - 1;
      }
      t = lo;
    }
    const e = within(f, f, b - t, A - rowsArea(b - t, b));
    push([
      { start: f, end: e },
      { start: b - t, end: b },
    ]);
    f = e;
    b -= t;
  }
  // The middle: contiguous pieces of at most A (at least one grid step each).
  while (f < b) {
    const e = Math.max(Math.min(b, f + grid), within(f, f, b, A));
    push([{ start: f, end: e }]);
    f = e;
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
    /** Tokens that count as a full rank when balancing area against tokens (pickBoth). */
    readonly tokenScale: number,
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
    const T = this.tokenScale;
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
  const ranks = new Ranks(P, cap, opts.tokenScale ?? cap);
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
    if (!pieces || pieces.some((p) => p.tokens > cap)) pieces = zigzagCuts(idx, u, k, S, PIECE_FILL * M);
    items.push(...pieces);
  }
  // 2. LPT: largest area first (ties: more tokens, then position) to the least loaded rank with
  //    token room.
  items.sort((x, y) => y.area - x.area || y.tokens - x.tokens || x.ranges[0].start - y.ranges[0].start);
  for (const it of items) ranks.put(ranks.pickBoth(it.area, it.tokens, M), it.ranges, it.area, it.tokens);
  // 3. Repair: while the most loaded rank is over the target, move work to the least loaded rank:
  //    the whole document of the most loaded rank that lowers the pair's maximum the most (balance
  //    from short whole documents costs no bytes), else the head of its largest range (the part
  //    that needs the fewest remote keys), a multiple of the tile long where the range allows.
  const goal = M * (1 + (opts.target - 1) / 2);
  const whole = new Map<number, number>(units.map((u) => [u.start, u.end]));
  for (let iter = 0; iter < 4 * P; iter++) {
    let hi = 0;
    for (let r = 1; r < P; r++) if (ranks.loads[r] > ranks.loads[hi]) hi = r;
    if (ranks.loads[hi] <= goal) break;
    const own = ranks.owned[hi];
    // Whole documents of hi, each to the least loaded rank with room for it: the move that leaves
    // the lower maximum of the two ranks.
    let doc = -1;
    let docTo = -1;
    let docArea = 0;
    let after = ranks.loads[hi];
    own.forEach((x, i) => {
      if (whole.get(x.start) !== x.end) return;
      const a = rowsArea(x.start, x.end);
      const to = ranks.pick(x.end - x.start);
      if (to === hi || ranks.toks[to] + x.end - x.start > cap) return;
      const m = Math.max(ranks.loads[hi] - a, ranks.loads[to] + a);
      if (m < after) [doc, docTo, docArea, after] = [i, to, a, m];
    });
    if (doc >= 0 && ranks.loads[hi] - after > 0.25 * (ranks.loads[hi] - goal)) {
      const x = own[doc];
      own.splice(doc, 1);
      ranks.loads[hi] -= docArea;
      ranks.toks[hi] -= x.end - x.start;
      ranks.put(docTo, [x], docArea, x.end - x.start);
      continue;
    }
    let at = 0;
    let best = -1;
    own.forEach((x, i) => {
      const a = rowsArea(x.start, x.end);
      if (a > best) [best, at] = [a, i];
    });
    const x = own[at];
    // The cut goes to the least loaded rank with room for a tile of it (not a sliver).
    const to = ranks.pick(Math.min(TILE, x.end - x.start));
    const room2 = cap - ranks.toks[to];
    const give2 = Math.min(ranks.loads[hi] - M, goal - ranks.loads[to]);
    if (to === hi || give2 <= 0) break;
    let l = x.start + 1;
    let h = Math.min(x.end, x.start + Math.max(1, room2));
    while (l < h) {
      const mid = (l + h) >> 1;
      if (rowsArea(x.start, mid) >= give2) h = mid;
      else l = mid + 1;
    }
    // A tile multiple of a range of tile multiples (doc-order.ts): rounded up if the room allows,
    // else down; none when that is nothing.
    if ((x.end - x.start) % TILE === 0) {
      const up = x.start + TILE * Math.ceil((l - x.start) / TILE);
      const down = x.start + TILE * Math.floor((l - x.start) / TILE);
      l = up <= x.end && up - x.start <= room2 && rowsArea(x.start, up) < ranks.loads[hi] - ranks.loads[to] ? up : down;
      if (l === x.start) break;
    }
    const moved = rowsArea(x.start, l);
    if (moved >= ranks.loads[hi] - ranks.loads[to]) break; // would not lower the maximum
    own.splice(at, 1, ...(l < x.end ? [{ start: l, end: x.end }] : []));
    ranks.loads[hi] -= moved;
    ranks.toks[hi] -= l - x.start;
    ranks.put(to, [{ start: x.start, end: l }], moved, l - x.start);
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
