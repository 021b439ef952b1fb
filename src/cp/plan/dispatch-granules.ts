// dispatch's granule placements (the placement before issue 14, layout sharding=granules): the
// sequence cut into blocks of g tokens, candidate shardings scored by imbalance and bytes.
//   contiguous  P consecutive runs of g/8-token blocks minimising the largest area (binary
//               search on the bottleneck + greedy fill), each at most max_token_ratio x S/P tokens;
//   chunked     K = k x P equal chunks; exactly k per rank (equal tokens), largest-area-first
//               to the least loaded rank with room (LPT), then swaps off the most loaded rank;
//               chunked_local first fills ranks with runs of consecutive chunks up to the mean
//               load (neighbours share K/V), then the same LPT and swaps.
// The cheapest candidate (bytes) within the imbalance target wins; if none meets it, the most
// balanced one.
import { badInput } from '../../errors.js';
import type { Range } from '../../mask/types.js';
import type { CpLayout } from '../types.js';
import { AreaIndex, firstEndingAfter, mergeSorted, rangesLength, subtractRanges } from './area.js';
import { layoutInt } from './common.js';
import { siftDown } from '../../util/heap.js';

export function layoutNumber(layout: CpLayout, key: string, dflt: number, min: number): number {
  const v = layout[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw badInput(`dispatch: layout ${key}=${v} must be a number >= ${min}`);
  return n;
}

/** A sharding candidate: granule runs per rank. */
interface Candidate {
  readonly kind: 'contiguous' | 'chunked' | 'chunked_local';
  readonly chunks: number;
  /** Owned token ranges per rank (sorted, merged). */
  readonly owned: Range[][];
  readonly imbalance: number;
  readonly maxTokenRatio: number;
  /** Granule it was cut on, when finer than the default. */
  readonly granule?: number;
  bytes?: number;
}

export function imbalanceOf(loads: ArrayLike<number>): number {
  let max = 0;
  let sum = 0;
  for (let r = 0; r < loads.length; r++) {
    max = Math.max(max, loads[r]);
    sum += loads[r];
  }
  return sum === 0 ? 1 : max / (sum / loads.length);
}

function tokenRatio(owned: Range[][], S: number): number {
  const P = owned.length;
  return Math.max(...owned.map(rangesLength)) / (S / P);
}

/** Contiguous runs: P parts, each <= cap tokens, minimising the largest area. */
function contiguous(A: Float64Array, g: number, S: number, P: number, cap: number): Candidate | null {
  const G = A.length;
  if (G < P) return null;
  const tok = (t: number) => Math.min(S, (t + 1) * g) - t * g;
  const fill = (B: number): number[] | null => {
    // Greedy: extend the current part while it stays within B and cap, leaving one granule for
    // every part still to come. Returns the P start granules, or null if it does not fit.
    const starts = [0];
    let area = 0;
    let toks = 0;
    for (let t = 0; t < G; t++) {
      if (t > starts[starts.length - 1]) {
        const left = P - starts.length; // parts still to start
        const mustCut = left > 0 && G - t === left;
        if (mustCut || area + A[t] > B || toks + tok(t) > cap) {
          if (left === 0) return null;
          starts.push(t);
          area = 0;
          toks = 0;
        }
      }
      if (A[t] > B) return null;
      area += A[t];
      toks += tok(t);
    }
    return starts.length === P ? starts : null;
  };
  let total = 0;
  let maxA = 0;
  for (let t = 0; t < G; t++) {
    total += A[t];
    maxA = Math.max(maxA, A[t]);
  }
  let lo = Math.max(maxA, Math.ceil(total / P));
  let hi = total;
  if (!fill(hi)) return null; // the token cap cannot be met
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fill(mid)) hi = mid;
    else lo = mid + 1;
  }
  const starts = fill(hi)!;
  const owned = starts.map((s, r) => [{ start: s * g, end: r + 1 < P ? starts[r + 1] * g : S }]);
  const loads = starts.map((s, r) => {
    let a = 0;
    for (let t = s; t < (r + 1 < P ? starts[r + 1] : G); t++) a += A[t];
    return a;
  });
  return { kind: 'contiguous', chunks: 1, owned, imbalance: imbalanceOf(loads), maxTokenRatio: tokenRatio(owned, S) };
}

/**
 * K = k x P chunks, k per rank, balanced by cardinality-constrained LPT plus swaps. With `local`,
 * a first pass walks the chunks in sequence order and keeps filling one rank while it stays under
 * the mean load (consecutive chunks share K/V: fewer sources, fewer bytes); LPT places the rest.
 */
function chunked(A: Float64Array, g: number, S: number, P: number, k: number, local: boolean): Candidate | null {
  const G = A.length;
  const K = k * P;
  if (K > G) return null;
  const bound = (c: number) => Math.floor((c * G) / K);
  const area = new Float64Array(K);
  let total = 0;
  for (let c = 0; c < K; c++) {
    for (let t = bound(c); t < bound(c + 1); t++) area[c] += A[t];
    total += area[c];
  }
  const load = new Float64Array(P);
  const count = new Int32Array(P);
  const chunksOf: number[][] = Array.from({ length: P }, () => []);
  const placed = new Uint8Array(K);
  const place = (c: number, r: number) => {
    load[r] += area[c];
    count[r]++;
    chunksOf[r].push(c);
    placed[c] = 1;
  };
  if (local) {
    const mean = total / P;
    let cur = 0;
    for (let c = 0; c < K; c++) {
      while (cur < P && (count[cur] === k || (count[cur] > 0 && load[cur] + area[c] > mean))) cur++;
      if (cur === P) break;
      place(c, cur);
    }
  }
  const order = Array.from({ length: K }, (_, c) => c)
    .filter((c) => !placed[c])
    .sort((a, b) => area[b] - area[a] || a - b);
  // Min-heap of ranks with room, keyed by (load, rank).
  const heap: number[] = Array.from({ length: P }, (_, r) => r).filter((r) => count[r] < k);
  const less = (a: number, b: number) => load[a] < load[b] || (load[a] === load[b] && a < b);
  const down = (i: number) => siftDown(heap, i, heap.length, less);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  for (const c of order) {
    const r = heap[0];
    place(c, r);
    if (count[r] === k) {
      heap[0] = heap[heap.length - 1];
      heap.pop();
    }
    if (heap.length) down(0);
  }
  // Swaps: move work off the most loaded rank onto one of the 4 least loaded ones while that
  // lowers the maximum. The best partner of chunk a is the one nearest area[a] - gap / 2 (binary
  // search over the other rank's chunks by area): O(P + k log k) per swap, at most 4P swaps.
  for (let iter = 0; iter < 4 * P && k > 1; iter++) {
    let rMax = 0;
    for (let r = 1; r < P; r++) if (load[r] > load[rMax]) rMax = r;
    const light: number[] = []; // the 4 least loaded ranks, ascending
    for (let r = 0; r < P; r++) {
      if (r === rMax) continue;
      let at = light.length;
      while (at > 0 && load[light[at - 1]] > load[r]) at--;
      if (at < 4) {
        light.splice(at, 0, r);
        if (light.length > 4) light.pop();
      }
    }
    let best: { a: number; r2: number; b: number; peak: number } | null = null;
    for (const r2 of light) {
      const gap = load[rMax] - load[r2];
      const bs = [...chunksOf[r2]].sort((x, y) => area[x] - area[y]);
      for (const a of chunksOf[rMax]) {
        const want = area[a] - gap / 2;
        let lo = 0;
        let hi = bs.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (area[bs[mid]] < want) lo = mid + 1;
          else hi = mid;
        }
        for (const t of [lo - 1, lo]) {
          if (t < 0 || t >= bs.length) continue;
          const b = bs[t];
          const d = area[a] - area[b];
          if (d <= 0 || d >= gap) continue;
          const peak = Math.max(load[rMax] - d, load[r2] + d);
          if (!best || peak < best.peak) best = { a, r2, b, peak };
        }
      }
    }
    if (!best) break;
    const d = area[best.a] - area[best.b];
    const ca = chunksOf[rMax];
    const cb = chunksOf[best.r2];
    ca[ca.indexOf(best.a)] = best.b;
    cb[cb.indexOf(best.b)] = best.a;
    load[rMax] -= d;
    load[best.r2] += d;
  }
  const owned = chunksOf.map((cs) =>
    mergeSorted(cs.map((c) => ({ start: bound(c) * g, end: Math.min(S, bound(c + 1) * g) }))),
  );
  return { kind: local ? 'chunked_local' : 'chunked', chunks: k, owned, imbalance: imbalanceOf(load), maxTokenRatio: tokenRatio(owned, S) };
}

/** Ranges each rank needs from each other rank: need[r] = Map(owner -> ranges). */
export function fetchSets(idx: AreaIndex, owned: Range[][]): Map<number, Range[]>[] {
  const seg: { start: number; end: number; owner: number }[] = [];
  owned.forEach((rs, r) => rs.forEach((x) => seg.push({ start: x.start, end: x.end, owner: r })));
  seg.sort((a, b) => a.start - b.start);
  return owned.map((own) => {
    const need = subtractRanges(idx.colExtentOf(own), own);
    const bySrc = new Map<number, Range[]>();
    for (const n of need) {
      for (let t = firstEndingAfter(seg, n.start); t < seg.length && seg[t].start < n.end; t++) {
        const s = Math.max(n.start, seg[t].start);
        const e = Math.min(n.end, seg[t].end);
        if (e <= s) continue;
        const list = bySrc.get(seg[t].owner) ?? [];
        const last = list[list.length - 1];
        if (last && last.end === s) list[list.length - 1] = { start: last.start, end: e };
        else list.push({ start: s, end: e });
        bySrc.set(seg[t].owner, list);
      }
    }
    return bySrc;
  });
}

export function fetchTokens(idx: AreaIndex, owned: Range[][]): number {
  let n = 0;
  for (const own of owned) n += rangesLength(subtractRanges(idx.colExtentOf(own), own));
  return n;
}

export function defaultGranule(S: number, P: number): number {
  let g = 128;
  while (g > 1 && S / g < 16 * P) g /= 2;
  return g;
}

export type GranuleMode = 'auto' | 'contiguous' | 'chunked' | 'chunked_local';

/** The granule placement for `mode` and the layout that reproduces it (comm added by the caller). */
export function granulePlacement(idx: AreaIndex, P: number, layout: CpLayout, mode: GranuleMode): { owned: Range[][]; used: Record<string, number | string> } {
  const S = idx.mask.seqlenQ;
  const gGiven = layout.granule !== undefined;
  const g0 = layoutInt('dispatch', layout, 'granule', defaultGranule(S, P));
  if (Math.ceil(S / g0) < P) throw badInput(`dispatch: granule ${g0} leaves fewer than ${P} granules in ${S} tokens`);
  const target = layoutNumber(layout, 'target', 1.02, 1);
  const maxRatio = layoutNumber(layout, 'max_token_ratio', mode === 'contiguous' ? Infinity : 2, 1);
  const kFixed = layout.chunks === undefined ? undefined : layoutInt('dispatch', layout, 'chunks', 1);

  /** Candidates at granule g. */
  const candidatesAt = (g: number): Candidate[] => {
    const A = idx.rowBlockAreas(g);
    const G = A.length;
    const cands: Candidate[] = [];
    if (mode === 'auto' || mode === 'contiguous') {
      // Contiguous cuts need no common chunk size, so they may fall on a finer grid (g / 8).
      const gc = Math.max(1, Math.floor(g / 8));
      const c = contiguous(gc === g ? A : idx.rowBlockAreas(gc), gc, S, P, maxRatio * (S / P));
      if (c) cands.push(c);
    }
    if (mode !== 'contiguous') {
      const ks: number[] = kFixed !== undefined ? [kFixed] : [];
      if (kFixed === undefined) for (let k = 1; k * P <= G; k *= 2) ks.push(k);
      for (const k of ks) {
        const variants = mode === 'chunked' ? [false] : mode === 'chunked_local' ? [true] : [true, false];
        const found = variants.map((local) => chunked(A, g, S, P, k, local)).filter((c): c is Candidate => c !== null);
        if (!found.length && kFixed !== undefined) throw badInput(`dispatch: ${kFixed} chunks per rank need ${kFixed * P} granules, only ${G} of ${g} tokens`);
        cands.push(...found);
        if (found.some((c) => c.imbalance <= target)) break;
      }
    }
    return cands;
  };
  // A few rows can hold most of the work (causal_blockwise: its last document sees everything):
  // when no candidate meets the target, cut on a finer grid.
  let g = g0;
  let cands = candidatesAt(g);
  while (!gGiven && g > 1 && !cands.some((c) => c.imbalance <= target)) {
    g = Math.max(1, Math.floor(g / 8));
    cands = [...cands, ...candidatesAt(g).map((c) => ({ ...c, granule: g }))];
  }
  if (cands.length === 0) throw badInput(`dispatch: no sharding of ${S} tokens over ${P} ranks at granule ${g}`);
  const fit = cands.filter((c) => c.imbalance <= target);
  let chosen: Candidate;
  if (fit.length) {
    for (const c of fit) c.bytes = fetchTokens(idx, c.owned);
    chosen = fit.reduce((a, b) => (b.bytes! < a.bytes! ? b : a));
  } else chosen = cands.reduce((a, b) => (b.imbalance < a.imbalance ? b : a));
  const used: Record<string, number | string> = { sharding: chosen.kind, chunks: chosen.chunks, granule: chosen.granule ?? g0, target };
  if (Number.isFinite(maxRatio)) used.max_token_ratio = maxRatio;
  return { owned: chosen.owned, used };
}
