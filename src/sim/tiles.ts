// Tiles of a mask as a tiled attention kernel sees them.
//
// The mask is cut into B x B blocks (B = 128, the tile of the FlashAttention-style kernels we
// measure); each block is empty, partial or full (src/mask/slices.ts blockMap). One program of a
// kernel launch handles one query tile (a row of blocks) of one head, so the launch is a list of
// work items: per query tile its pairs in full and partial blocks (and in empty ones, which kernels
// that cannot skip them still pay for). `TileProfile` keeps that list sorted by work with prefix
// sums, so the kernel model can ask for "the r lightest items" (the last, partial wave) in
// O(log tiles).
import { bandRowHi, bandRowLo, bandRows, bandToSlices, sliceToBand } from '../mask/band.js';
import { blockMap } from '../mask/slices.js';
import type { Mask, Slice } from '../mask/types.js';

export const BLOCK_SIZE = 128;

/** Query-key pairs of a mask in empty / partial / full blocks (sum = Sq * Sk). */
export interface BlockPairs {
  readonly full: number;
  readonly partial: number;
  readonly empty: number;
}

/** Per query tile: pairs in full and partial blocks and its row count (accumulated in place). */
export interface TileRows {
  readonly full: Float64Array;
  readonly partial: Float64Array;
}

export function blockPairs(mask: Mask, block = BLOCK_SIZE): BlockPairs {
  return disjointSlicePairs(mask, block) ?? blockMapPairs(mask, block);
}

/** Block pairs from the full block map (any mask); per-tile counts into `acc` when given. */
export function blockMapPairs(mask: Mask, block = BLOCK_SIZE, acc?: TileRows): BlockPairs {
  const bm = blockMap(mask, block);
  let full = 0;
  let partial = 0;
  const lastW = mask.seqlenK - (bm.numBlocksK - 1) * block;
  for (let qb = 0; qb < bm.numBlocksQ; qb++) {
    const rows = Math.min(block, mask.seqlenQ - qb * block);
    for (let r = bm.rowRuns[qb]; r < bm.rowRuns[qb + 1]; r++) {
      let cols = (bm.runEnd[r] - bm.runStart[r]) * block;
      if (bm.runEnd[r] === bm.numBlocksK) cols += lastW - block;
      if (bm.runFull[r]) {
        full += rows * cols;
        if (acc) acc.full[qb] += rows * cols;
      } else {
        partial += rows * cols;
        if (acc) acc.partial[qb] += rows * cols;
      }
    }
  }
  return { full, partial, empty: mask.seqlenQ * mask.seqlenK - full - partial };
}

/**
 * Fast path: when no block is touched by two slices (their block-aligned bounding boxes are
 * disjoint), every block belongs to one slice and the counts add up slice by slice, each in
 * O(block rows) with no allocation. Null when boxes meet (then the block map decides).
 * Sub-masks of CP steps are mostly one to three block-aligned slices.
 */
export function disjointSlicePairs(mask: Mask, block = BLOCK_SIZE, acc?: TileRows): BlockPairs | null {
  const sl = mask.slices.length > 16 ? mergeFullRuns(mask.slices) : mask.slices;
  if (!blocksDisjoint(sl, block)) return null;
  const Sq = mask.seqlenQ;
  const Sk = mask.seqlenK;
  const nbk = Math.ceil(Sk / block);
  const width = (a: number, b: number) => Math.min(Sk, b * block) - a * block; // columns of key blocks [a, b)
  let full = 0;
  let partial = 0;
  for (const s of sl) {
    const band = sliceToBand(s);
    const rows = bandRows(band);
    if (rows.end <= rows.start) continue;
    for (let qb = Math.floor(rows.start / block); qb * block < rows.end; qb++) {
      const b0 = qb * block;
      const b1 = Math.min(Sq, b0 + block);
      const r0 = Math.max(rows.start, b0);
      const r1 = Math.min(rows.end, b1);
      const kbFirst = Math.floor(bandRowLo(band, r0) / block);
      const kbLast = Math.ceil(bandRowHi(band, r1 - 1) / block); // exclusive
      const touched = width(kbFirst, kbLast);
      let fullCols = 0;
      if (r0 === b0 && r1 === b1) {
        // Blocks every row of the block row covers completely: inside [lo of the last row, hi of the first).
        const fa = Math.ceil(bandRowLo(band, r1 - 1) / block);
        const hiMin = bandRowHi(band, r0);
        const fb = hiMin >= Sk ? nbk : Math.floor(hiMin / block);
        if (fb > fa) fullCols = width(fa, fb);
      }
      full += (b1 - b0) * fullCols;
      partial += (b1 - b0) * (touched - fullCols);
      if (acc) {
        acc.full[qb] += (b1 - b0) * fullCols;
        acc.partial[qb] += (b1 - b0) * (touched - fullCols);
      }
    }
  }
  return { full, partial, empty: Sq * Sk - full - partial };
}

/**
 * Whether no block is touched by two slices: their block-aligned bounding boxes are disjoint.
 * Slices with the same block rows are checked by sorting on key blocks; groups of different block
 * rows that overlap are checked pair by pair (few in CP sub-masks; too many -> false).
 */
function blocksDisjoint(sl: readonly Slice[], block: number): boolean {
  const groups = new Map<string, [number, number][]>();
  const rowsOf = new Map<string, [number, number]>();
  for (const s of sl) {
    const qb0 = Math.floor(s.qStart / block);
    const qb1 = Math.ceil(s.qEnd / block);
    const key = `${qb0},${qb1}`;
    let g = groups.get(key);
    if (!g) {
      groups.set(key, (g = []));
      rowsOf.set(key, [qb0, qb1]);
    }
    g.push([Math.floor(s.kStart / block), Math.ceil(s.kEnd / block)]);
  }
  for (const g of groups.values()) {
    g.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < g.length; i++) if (g[i][0] < g[i - 1][1]) return false;
  }
  const keys = [...groups.keys()];
  let budget = 1e5;
  for (let i = 0; i < keys.length; i++) {
    const [a0, a1] = rowsOf.get(keys[i])!;
    for (let j = i + 1; j < keys.length; j++) {
      const [b0, b1] = rowsOf.get(keys[j])!;
      if (!(a0 < b1 && b0 < a1)) continue;
      const ga = groups.get(keys[i])!;
      const gb = groups.get(keys[j])!;
      budget -= ga.length * gb.length;
      if (budget < 0) return false;
      for (const x of ga) for (const y of gb) if (x[0] < y[1] && y[0] < x[1]) return false;
    }
  }
  return true;
}

/**
 * Joins full slices that continue each other along the keys (same rows, one's kEnd = the next's
 * kStart): K/V gathered from many ranks arrive as many ranges, so a sub-mask is often thousands of
 * full pieces of a few shapes. The joined list covers the same pairs.
 */
function mergeFullRuns(slices: readonly Slice[]): readonly Slice[] {
  const sorted = [...slices].sort((a, b) => a.qStart - b.qStart || a.qEnd - b.qEnd || a.kStart - b.kStart);
  const out: Slice[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.kind === 'full' && last.kind === 'full' && last.qStart === s.qStart && last.qEnd === s.qEnd && last.kEnd === s.kStart)
      out[out.length - 1] = { ...last, kEnd: s.kEnd };
    else out.push(s);
  }
  return out;
}

/**
 * The work items of one head of a mask (one per query tile), sorted by work (pairs in non-empty
 * blocks) ascending, with prefix sums. `weight` items stand for that many copies (per-head masks
 * merged, batch).
 */
export interface TileProfile {
  /** Items (query tiles x weight). */
  readonly items: number;
  /** The tile the mask was cut in (absent: BLOCK_SIZE). */
  readonly block?: number;
  readonly seqlenQ: number;
  readonly seqlenK: number;
  /** Totals over all items (pairs). */
  readonly full: number;
  readonly partial: number;
  readonly empty: number;
  /** Prefix sums over the sorted items: weight, full pairs, partial pairs, empty pairs (length n + 1). */
  readonly cumW: Float64Array;
  readonly cumFull: Float64Array;
  readonly cumPartial: Float64Array;
  readonly cumEmpty: Float64Array;
  /**
   * The heaviest key tiles (columns of blocks) of one copy, computed on first use: kernels whose
   * backward runs one program per key tile (flex's dK/dV programs) are bounded by them.
   */
  readonly keyTiles?: () => KeyTiles;
}

/** Pairs in full and partial blocks of one key tile (a column of B x B blocks). */
export interface KeyTileLoad {
  readonly full: number;
  readonly partial: number;
}

/** The key tile with the most pairs in non-empty blocks and the one with the most in partial blocks. */
export interface KeyTiles {
  readonly heaviest: KeyTileLoad;
  readonly mostPartial: KeyTileLoad;
}

/** The mask with queries and keys swapped: its query tiles are the original's key tiles. */
export function transposeMask(mask: Mask): Mask {
  const slices = mask.slices.flatMap((s) => {
    const b = sliceToBand(s);
    return bandToSlices({ q0: b.k0, q1: b.k1, k0: b.q0, k1: b.q1, lo: -b.hi, hi: -b.lo });
  });
  return { seqlenQ: mask.seqlenK, seqlenK: mask.seqlenQ, slices };
}

/** Heaviest key tiles over masks (per unit weight: each mask is one copy's, e.g. one head's). */
export function keyTilesOf(masks: readonly Mask[], block = BLOCK_SIZE): KeyTiles {
  let heavy: KeyTileLoad = { full: 0, partial: 0 };
  let part: KeyTileLoad = { full: 0, partial: 0 };
  for (const m of masks) {
    for (const it of itemsOf(transposeMask(m), block, 1)) {
      if (it.full + it.partial > heavy.full + heavy.partial) heavy = { full: it.full, partial: it.partial };
      if (it.partial > part.partial || (it.partial === part.partial && it.full > part.full)) part = { full: it.full, partial: it.partial };
    }
  }
  return { heaviest: heavy, mostPartial: part };
}

interface Item {
  full: number;
  partial: number;
  empty: number;
  w: number;
}

function itemsOf(mask: Mask, block: number, weight: number): Item[] {
  const nbq = Math.ceil(mask.seqlenQ / block);
  const acc: TileRows = { full: new Float64Array(nbq), partial: new Float64Array(nbq) };
  if (!disjointSlicePairs(mask, block, acc)) {
    acc.full.fill(0);
    acc.partial.fill(0);
    blockMapPairs(mask, block, acc);
  }
  const items: Item[] = [];
  for (let qb = 0; qb < nbq; qb++) {
    const rows = Math.min(block, mask.seqlenQ - qb * block);
    items.push({ full: acc.full[qb], partial: acc.partial[qb], empty: rows * mask.seqlenK - acc.full[qb] - acc.partial[qb], w: weight });
  }
  return items;
}

/**
 * A mask as a variable-length ("varlen": packed sequences, nested tensors) kernel sees it: each
 * sequence is tiled from its own first token. Slices with the same query rows are one sequence;
 * each becomes a mask of its own (rows and keys shifted to start at 0).
 */
export function perSequence(mask: Mask): Mask[] {
  const groups = new Map<string, Slice[]>();
  for (const s of mask.slices) {
    const k = `${s.qStart},${s.qEnd}`;
    const g = groups.get(k);
    if (g) g.push(s);
    else groups.set(k, [s]);
  }
  return [...groups.values()].map((g) => {
    const q0 = g[0].qStart;
    const k0 = Math.min(...g.map((s) => s.kStart));
    const k1 = Math.max(...g.map((s) => s.kEnd));
    return {
      seqlenQ: g[0].qEnd - q0,
      seqlenK: k1 - k0,
      slices: g.map((s) => ({ ...s, qStart: s.qStart - q0, qEnd: s.qEnd - q0, kStart: s.kStart - k0, kEnd: s.kEnd - k0 })),
    };
  });
}

/** The profile of one or more masks (each with a weight: query heads it stands for, per head). */
export function tileProfile(masks: readonly { mask: Mask; weight: number }[], block = BLOCK_SIZE, varlen = false): TileProfile {
  const items = masks.flatMap(({ mask, weight }) => (varlen ? perSequence(mask) : [mask]).flatMap((m) => itemsOf(m, block, weight)));
  items.sort((a, b) => a.full + a.partial - (b.full + b.partial));
  const n = items.length;
  const cumW = new Float64Array(n + 1);
  const cumFull = new Float64Array(n + 1);
  const cumPartial = new Float64Array(n + 1);
  const cumEmpty = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const it = items[i];
    cumW[i + 1] = cumW[i] + it.w;
    cumFull[i + 1] = cumFull[i] + it.full * it.w;
    cumPartial[i + 1] = cumPartial[i] + it.partial * it.w;
    cumEmpty[i + 1] = cumEmpty[i] + it.empty * it.w;
  }
  const m0 = masks[0]?.mask;
  let cols: KeyTiles | undefined;
  const keyTiles = () => (cols ??= keyTilesOf(masks.flatMap(({ mask }) => (varlen ? perSequence(mask) : [mask])), block));
  return {
    keyTiles,
    items: cumW[n],
    block,
    seqlenQ: m0?.seqlenQ ?? 0,
    seqlenK: m0?.seqlenK ?? 0,
    full: cumFull[n],
    partial: cumPartial[n],
    empty: cumEmpty[n],
    cumW,
    cumFull,
    cumPartial,
    cumEmpty,
  };
}

/** Sums of the `count` lightest items (count in items of weight 1, fractional allowed). */
export function lightest(p: TileProfile, count: number): { full: number; partial: number; empty: number } {
  if (count <= 0) return { full: 0, partial: 0, empty: 0 };
  const n = p.cumW.length - 1;
  if (count >= p.items) return { full: p.full, partial: p.partial, empty: p.empty };
  // First index i with cumW[i + 1] >= count.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (p.cumW[mid + 1] >= count) hi = mid;
    else lo = mid + 1;
  }
  const wi = p.cumW[lo + 1] - p.cumW[lo];
  const f = wi > 0 ? (count - p.cumW[lo]) / wi : 0;
  const at = (c: Float64Array) => c[lo] + f * (c[lo + 1] - c[lo]);
  return { full: at(p.cumFull), partial: at(p.cumPartial), empty: at(p.cumEmpty) };
}

/** The heaviest item (per unit weight). */
export function heaviest(p: TileProfile): { full: number; partial: number; empty: number } {
  const n = p.cumW.length - 1;
  if (n === 0) return { full: 0, partial: 0, empty: 0 };
  const w = p.cumW[n] - p.cumW[n - 1] || 1;
  return { full: (p.cumFull[n] - p.cumFull[n - 1]) / w, partial: (p.cumPartial[n] - p.cumPartial[n - 1]) / w, empty: (p.cumEmpty[n] - p.cumEmpty[n - 1]) / w };
}
