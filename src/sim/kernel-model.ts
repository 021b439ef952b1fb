// Kernel model: the time of one (partial) attention call from its work and its block structure.
//
// The mask is cut into B x B blocks (B = 128, the tile of the FlashAttention-style kernels we
// measure); each block is empty, partial or full (src/mask/slices.ts blockMap). A tiled kernel
// computes every full block at its full cost, every partial block at full cost plus masking, and
// (if it cannot skip them) empty blocks too. So the model is linear in the block work
//     t = c0 + aFull * W_full + aPartial * W_partial + aEmpty * W_empty            (ms)
// with W_x = direction factor * 4 * head_dim * heads * (query-key pairs in blocks of kind x) in
// FLOPs (SPEC 6: forward 4 * pairs * heads * head_dim, backward 2.5 x that), a in ms per TFLOP
// and c0 a fixed per-call cost. Its efficiency F / (peak * t) is a saturating curve in log(F):
// small calls are dominated by c0, large ones tend to 1 / (peak * aFull) on dense masks, and the
// partial-block penalty is aPartial / aFull. Coefficients are fitted per (GPU type, kernel,
// direction, dtype) in fit.ts. Without a curve, a roofline: t = F / (peak(dtype) * efficiency),
// flagged `fallback`.
import { bandRowHi, bandRowLo, bandRows, sliceToBand } from '../mask/band.js';
import { blockMap } from '../mask/slices.js';
import type { Mask, Slice } from '../mask/types.js';
import type { Direction } from '../results/schema.js';
import { curveCoversGpu, type Cluster } from './hardware.js';

export const BLOCK_SIZE = 128;

/** SPEC 6: backward FLOPs = 2.5 x forward. */
export const DIRECTION_FACTOR: Readonly<Record<Direction, number>> = { fwd: 1, bwd: 2.5 };

/** Query-key pairs of a mask in empty / partial / full blocks (sum = Sq * Sk). */
export interface BlockPairs {
  readonly full: number;
  readonly partial: number;
  readonly empty: number;
}

export function blockPairs(mask: Mask, block = BLOCK_SIZE): BlockPairs {
  return disjointSlicePairs(mask, block) ?? blockMapPairs(mask, block);
}

/** Block pairs from the full block map (any mask). */
export function blockMapPairs(mask: Mask, block = BLOCK_SIZE): BlockPairs {
  const bm = blockMap(mask, block);
  let full = 0;
  let partial = 0;
  const lastW = mask.seqlenK - (bm.numBlocksK - 1) * block;
  for (let qb = 0; qb < bm.numBlocksQ; qb++) {
    const rows = Math.min(block, mask.seqlenQ - qb * block);
    for (let r = bm.rowRuns[qb]; r < bm.rowRuns[qb + 1]; r++) {
      let cols = (bm.runEnd[r] - bm.runStart[r]) * block;
      if (bm.runEnd[r] === bm.numBlocksK) cols += lastW - block;
      if (bm.runFull[r]) full += rows * cols;
      else partial += rows * cols;
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
export function disjointSlicePairs(mask: Mask, block = BLOCK_SIZE): BlockPairs | null {
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

/** What the kernel model needs to know about one call. */
export interface KernelCall {
  readonly direction: Direction;
  readonly dtype: string;
  /** SPEC 6 FLOPs of the call (useful work only). */
  readonly flops: number;
  /** Block work in FLOPs (same scale as flops; see header). */
  readonly wFull: number;
  readonly wPartial: number;
  readonly wEmpty: number;
}

/** Block-work features from block pairs, heads and head_dim (per call). */
export function callFromPairs(
  pairs: BlockPairs,
  heads: number,
  headDim: number,
  direction: Direction,
  dtype: string,
  flops: number,
): KernelCall {
  const k = DIRECTION_FACTOR[direction] * 4 * headDim * heads;
  return { direction, dtype, flops, wFull: k * pairs.full, wPartial: k * pairs.partial, wEmpty: k * pairs.empty };
}

/** A fitted curve (coefficients in ms and ms per TFLOP of block work). */
export interface KernelCurve {
  readonly gpu: string;
  readonly kernel: string;
  readonly direction: Direction;
  readonly dtype: string;
  readonly c0Ms: number;
  readonly msPerTflopFull: number;
  readonly msPerTflopPartial: number;
  readonly msPerTflopEmpty: number;
  /** Coefficients not supported by the data and set by assumption (e.g. "partial=full"). */
  readonly assumed: readonly string[];
  /** Rows fitted and the median absolute % error on them / on the held-out rows. */
  readonly fitRows: number;
  readonly fitMedianAbsPct: number;
  readonly holdoutRows: number;
  readonly holdoutMedianAbsPct: number | null;
}

export function curveMs(c: KernelCurve, call: KernelCall): number {
  return c.c0Ms + (c.msPerTflopFull * call.wFull + c.msPerTflopPartial * call.wPartial + c.msPerTflopEmpty * call.wEmpty) / 1e12;
}

export interface Calibration {
  readonly version: 1;
  readonly blockSize: number;
  readonly model: string;
  readonly holdout: string;
  readonly curves: readonly KernelCurve[];
  /** Median absolute % error over all held-out rows (null when none were held out). */
  readonly holdoutMedianAbsPct: number | null;
  readonly fitMedianAbsPct: number | null;
  readonly rows: number;
  readonly createdAt?: string;
  readonly gitRev?: string | null;
  readonly sources?: readonly string[];
}

export interface KernelPrediction {
  readonly ms: number;
  readonly fallback: boolean;
}

export interface KernelModel {
  /** Kernel id whose curves are used ('roofline' when none). */
  readonly kernel: string;
  predict(call: KernelCall): KernelPrediction;
  /** Human description of what is used, per direction (for notes and reports). */
  describe(): string;
}

/** GPU types the calibration has curves for (a compute-class key counts for each of its types). */
export function calibratedGpus(calibration: Calibration | null): Set<string> {
  return new Set((calibration?.curves ?? []).flatMap((c) => c.gpu.split('+')));
}

/** Whether the calibration has a curve of `kernel` that covers GPU type `gpu`. */
export function hasCurve(calibration: Calibration | null, kernel: string, gpu: string): boolean {
  return (calibration?.curves ?? []).some((c) => c.kernel === kernel && curveCoversGpu(c.gpu, gpu));
}

export function curveKey(gpu: string, kernel: string, direction: string, dtype: string): string {
  return `${gpu}|${kernel}|${direction}|${dtype}`;
}

/**
 * Kernel model for a cluster's GPU: the calibration's curves for `kernel`, and the roofline
 * fallback for every (direction, dtype) without one. `kernel` undefined: the kernel with the most
 * fitted rows on this GPU, or the roofline alone.
 */
export function makeKernelModel(cluster: Cluster, calibration: Calibration | null, kernel?: string): KernelModel {
  const gpu = cluster.gpu;
  const curves = (calibration?.curves ?? []).filter((c) => curveCoversGpu(c.gpu, gpu));
  const chosen = kernel ?? bestKernel(curves);
  const byKey = new Map<string, KernelCurve>();
  // A curve for this exact type wins over one of its compute class.
  for (const c of [...curves].sort((a, b) => Number(a.gpu === gpu) - Number(b.gpu === gpu))) {
    if (c.kernel === chosen) byKey.set(curveKey(gpu, c.kernel, c.direction, c.dtype), c);
  }
  const eff = cluster.fallbackEfficiency;
  const peaks = cluster.gpuSpec.peakTflops;
  return {
    kernel: chosen ?? 'roofline',
    predict(call: KernelCall): KernelPrediction {
      const c = chosen ? byKey.get(curveKey(gpu, chosen, call.direction, call.dtype)) : undefined;
      if (c) return { ms: curveMs(c, call), fallback: false };
      const peak = peaks[call.dtype];
      if (peak === undefined) {
        throw new Error(`no calibration for ${gpu}/${chosen ?? '-'}/${call.direction}/${call.dtype} and no ${call.dtype} peak for ${gpu}`);
      }
      return { ms: call.flops / (peak * 1e12 * eff) * 1e3, fallback: true };
    },
    describe(): string {
      const have = [...byKey.values()].map((c) => `${c.direction}/${c.dtype}`);
      const roof = `roofline ${eff} x dense peak (${Object.entries(peaks).map(([d, p]) => `${d} ${p}`).join(', ')} TFLOP/s)`;
      return have.length ? `${gpu} ${chosen} curves for ${have.join(', ')}; otherwise ${roof}` : `${gpu} ${roof}`;
    },
  };
}

function bestKernel(curves: readonly KernelCurve[]): string | undefined {
  const rows = new Map<string, number>();
  for (const c of curves) rows.set(c.kernel, (rows.get(c.kernel) ?? 0) + c.fitRows);
  let best: string | undefined;
  let n = -1;
  for (const [k, v] of [...rows].sort((a, b) => a[0].localeCompare(b[0]))) if (v > n) [best, n] = [k, v];
  return best;
}

/** Elementwise steps (merge, accumulate, copy): bytes moved at the HBM bandwidth, plus launch cost. */
export function elementwiseMs(cluster: Cluster, bytesMoved: number): number {
  return cluster.elementwiseOverheadUs / 1000 + bytesMoved / (cluster.gpuSpec.memBandwidthGBps * 1e6 * cluster.memEfficiency);
}
