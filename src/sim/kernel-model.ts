// Kernel model: the time of one (partial) attention launch from its work items.
//
// A tiled attention kernel launches one program per (query tile, head): `programs` = query tiles x
// heads (tiles.ts). The GPU runs `slots` = SMs x programs-per-SM of them at once, so a launch takes
// ceil(programs / slots) waves, and the last one is partly idle (launchFeatures). A launch of one
// wave spreads its programs over the SMs: ceil(programs / SMs) share an SM, so one of at most SMs
// programs runs each at a whole SM's speed, not at 1 / slots of the GPU (residentSlots). Each program costs
// a fixed part (load Q, write O) plus its blocks by kind: full blocks at full cost, partial blocks at
// full cost plus masking, empty blocks only for kernels that cannot skip them. Per launch:
//     t = c0 + max( aProg P + aFull W_full + aPartial W_partial + aEmpty W_empty   (waves)
//                   the same for the heaviest program alone                       (one program)
//                   bytes / HBM bandwidth )                                      (memory floor)
// with P and W_x the programs and the block work in TFLOP including the last wave's waste, in
// whole-GPU units (ms per TFLOP of the whole GPU). W_x = direction factor x 4 x head_dim x pairs in
// 128 x 128 blocks of kind x (SPEC 6: forward 4 * pairs * heads * head_dim, backward 2.5 x that).
// Coefficients and programs-per-SM are fitted per (GPU class, kernel + input path, direction,
// dtype) in calibrate.ts (kernels that compute every block get one cost for all blocks; plain paths a
// launch constant no larger than their rows need; flex's backward also the bound of its key-tile
// programs, keyTileFeatures; flex and triton_blocksparse launches on tiles under 128, another compiled
// kernel, their own per-program and per-block cost where fitted, fineTiled). A (kernel, direction, dtype) with too few rows has no curve: the
// calibration lists it under `uncalibrated`, and the model falls back to the roofline
// F / (peak(dtype) x efficiency), flagged `fallback` wherever it is used.
import type { Direction } from '../results/schema.js';
import { curveCoversGpu, smsOfClass, type Cluster } from './hardware.js';
import { BLOCK_SIZE, heaviest, lightest, type TileProfile } from './tiles.js';

export { BLOCK_SIZE, blockMapPairs, blockPairs, disjointSlicePairs, tileProfile, type BlockPairs, type TileProfile } from './tiles.js';

/** SPEC 6: backward FLOPs = 2.5 x forward. */
export const DIRECTION_FACTOR: Readonly<Record<Direction, number>> = { fwd: 1, bwd: 2.5 };

/** What the kernel model needs to know about one launch. */
export interface KernelCall {
  readonly direction: Direction;
  readonly dtype: string;
  /** SPEC 6 FLOPs of the call (useful work only). */
  readonly flops: number;
  /** Work items of one copy (one query head) of the mask: its query tiles. */
  readonly profile: TileProfile;
  /** Copies of the profile in the launch: query heads x batch (programs = profile.items x copies). */
  readonly copies: number;
  /** K/V heads x batch (GQA: copies / kvCopies query heads share one K/V head). */
  readonly kvCopies: number;
  /** FLOPs per query-key pair of one copy: direction factor x 4 x head_dim. */
  readonly flopsPerPair: number;
  /** Bytes the launch must move at least (Q, K, V, O; and the gradients for bwd): the memory floor. */
  readonly bytes: number;
  /** Block work in FLOPs over the whole launch (same scale as flops; see header). */
  readonly wFull: number;
  readonly wPartial: number;
  readonly wEmpty: number;
}

/**
 * A launch of a kernel on a mask profile: `copies` query heads (x batch) of `headDim`; `kvCopies`
 * K/V heads (for the memory floor; default: as many as query heads).
 */
export function kernelCall(
  profile: TileProfile,
  copies: number,
  headDim: number,
  direction: Direction,
  dtype: string,
  flops: number,
  kvCopies = copies,
): KernelCall {
  const flopsPerPair = DIRECTION_FACTOR[direction] * 4 * headDim;
  const k = flopsPerPair * copies;
  const elt = dtype === 'float32' ? 4 : 2;
  // fwd reads Q, K, V and writes O; bwd reads Q, K, V, O, dO and writes dQ, dK, dV.
  const perQ = direction === 'fwd' ? 2 : 4;
  const perK = direction === 'fwd' ? 2 : 4;
  const bytes = elt * headDim * (perQ * profile.seqlenQ * copies + perK * profile.seqlenK * kvCopies);
  return { direction, dtype, flops, profile, copies, kvCopies, flopsPerPair, bytes, wFull: k * profile.full, wPartial: k * profile.partial, wEmpty: k * profile.empty };
}

/** Feature columns of the linear model: constant, programs, full / partial / empty block work (TFLOP). */
export const FEATURES = ['launch', 'program', 'full', 'partial', 'empty'] as const;

/**
 * The launch's features on `slots` concurrent programs (`sms` x programs per SM; sms = slots gives
 * the rule before small launches were told apart), in whole-GPU units:
 * each column is the amount that would take `slots` times as long on one slot, i.e. the total plus
 * what the last, partial wave wastes. A launch of n programs runs in ceil(n / slots) waves; with the
 * heaviest programs first (FlashAttention's causal order; close to what the hardware scheduler does
 * with a varied grid) the last wave holds the r lightest ones, so the makespan is about
 *     (total - tail) / slots + mean(tail) = total / slots + (1 - r / slots) mean(tail).
 * `heavy` is the alternative bound: the heaviest program alone on its slot. A launch of one wave
 * (n <= slots) has ceil(n / SMs) programs on an SM, each at 1 / (SMs x that) of the GPU: its
 * programs and its tail take residentSlots(n) in place of slots; its heaviest program's SM, where
 * no program replaces a neighbour that ends, does the heaviest program's work plus k - 1 mean
 * programs' (k = programs per SM) at the SM's speed.
 */
export function launchFeatures(call: KernelCall, slots: number, sms = slots): { wave: number[]; heavy: number[] } {
  const p = call.profile;
  const n = p.items * call.copies;
  const t = call.flopsPerPair * call.copies / 1e12; // TFLOP per pair over all copies
  if (!(n > 0)) return { wave: [1, 0, 0, 0, 0], heavy: [1, 0, 0, 0, 0] };
  const waves = Math.max(1, Math.ceil(n / slots - 1e-9));
  const r = n - (waves - 1) * slots; // programs in the last wave, (0, slots]
  // A launch of one wave spreads its programs over the SMs: ceil(n / SMs) share an SM (at most
  // slots / SMs), so a launch of at most SMs programs runs each at a whole SM's speed. The last
  // wave of a longer launch starts as earlier programs end, beside them: it keeps the full share.
  const tailSlots = waves === 1 ? residentSlots(n, slots, sms) : slots;
  const light = lightest(p, r / call.copies); // per copy: the lightest r / copies items (x copies = r programs)
  const tail = (x: number) => ((tailSlots - r) * x * call.copies) / r; // (last wave's slots - r) x mean over the r programs
  const pp = call.flopsPerPair / 1e12;
  const wave = [
    1,
    n - r + tailSlots,
    t * p.full + tail(light.full * pp),
    t * p.partial + tail(light.partial * pp),
    t * p.empty + tail(light.empty * pp),
  ];
  const h = heaviest(p);
  const hs = residentSlots(n, slots, sms);
  if (waves === 1 && hs > sms) {
    // One wave, k = hs / SMs programs on an SM: nothing replaces a neighbour that ends, so the
    // heaviest program's SM does its own work and its k - 1 neighbours' (a mean program each) at the
    // SM's speed, instead of running the heaviest at 1 / k of the SM throughout.
    const k = hs / sms;
    const per = (hx: number, total: number) => sms * (hx + (k - 1) * (total / p.items)) * pp;
    return { wave, heavy: [1, hs, per(h.full, p.full), per(h.partial, p.partial), per(h.empty, p.empty)] };
  }
  const heavy = [1, hs, hs * h.full * pp, hs * h.partial * pp, hs * h.empty * pp];
  return { wave, heavy };
}

/**
 * Slots, in whole-GPU units, of one program among `n` spread over `sms` SMs with at most
 * slots / sms on each: a program sharing its SM with k - 1 others runs at 1 / (SMs x k) of the GPU,
 * so a launch of at most SMs programs runs each at a whole SM's speed.
 */
export function residentSlots(n: number, slots: number, sms: number): number {
  return Math.min(slots, sms * Math.max(1, Math.ceil(n / sms - 1e-9)));
}

/**
 * Share of a block's backward matmuls done by the program that owns its key tile (dK/dV): 4 of the
 * 7 (recomputed Q K^T, dP = dO V^T, dV += P^T dO, dK += dS^T Q; the query tile's dQ program does
 * Q K^T, dO V^T and dQ += dS K).
 */
export const KEY_TILE_SHARE = 4 / 7;

/**
 * Bounds of a backward launch with one program per (key tile, K/V head) that walks its key tile's
 * column for every query head of its GQA group (torch/_inductor's flex backward: grid (query tiles
 * x group + key tiles, 1, batch x K/V heads), dK/dV programs first in each K/V head's range; the
 * dQ programs are the query tiles' items of launchFeatures). Such a program does KEY_TILE_SHARE of
 * each block's matmuls, and the partial-block surcharge (aPartial - aFull) falls on it whole: its
 * mask lookups change with every query block it visits (in a dQ program and the forward they are
 * the program's own rows). Blocks start in grid order, so the last K/V head's heaviest key tile
 * starts after about (1 - 1 / kvCopies) of the launch's work and then runs alone:
 *     t >= (1 - 1/kvCopies) x waves + group x (share x aFull x (full + partial) + (aPartial - aFull) x partial)
 * One row per candidate tile (the heaviest, the one with the most partial pairs); in the wave units
 * of launchFeatures (a lone program at 1 / slots of the GPU, as the `heavy` bound).
 */
export function keyTileFeatures(call: KernelCall, slots: number, wave: readonly number[]): number[][] {
  const kt = call.profile.keyTiles?.();
  if (!kt) return [];
  const group = Math.max(1, call.copies / Math.max(1, call.kvCopies));
  const before = 1 - 1 / Math.max(1, call.kvCopies);
  const pp = call.flopsPerPair / 1e12;
  return [kt.heaviest, kt.mostPartial].map((c) => [
    1,
    before * wave[1] + slots,
    before * wave[2] + slots * group * pp * (KEY_TILE_SHARE * (c.full + c.partial) - c.partial),
    before * wave[3] + slots * group * pp * c.partial,
    before * wave[4],
  ]);
}

/**
 * Whether a launch runs tiles under BLOCK_SIZE (a block-table kernel on a block mask of 64-token
 * blocks: calibrate.ts kernelTile; fitGroup gives the block-mask kernels, partialAtLeastFull, their
 * own costs there, `fineTile`). Such a launch is another compiled kernel: the tile is a
 * compile-time constant (BLOCK_M / BLOCK_N of triton_blocksparse, flex's block sizes), so its
 * registers, spills, programs per SM and MMA shapes are its own, and so are its per-program and
 * per-block costs. triton_blocksparse's backward at 128 x 128 with 4 warps spills ~6 KB per thread
 * in dK/dV's step loops and ~0.8 KB in dQ's (one program per SM), at 64 x 64 nothing in the loops
 * (two per SM): the same dense mask takes 11.7 ms at 128-tiles and 4.3 ms at 64-tiles (H200, 4:4, 16k).
 */
export function fineTiled(call: KernelCall): boolean {
  return (call.profile.block ?? BLOCK_SIZE) < BLOCK_SIZE;
}

/**
 * A launch's fit columns where the curve's rows include fine-tiled ones (fineTiled): the five of
 * launchFeatures, then fine-tile programs and fine-tile block work. A fine-tiled launch moves its
 * programs and its full and partial block work there (a partial fine tile at the fine full rate: the
 * 64-token block masks measured fill their tiles whole); launch constant and empty blocks are shared.
 */
export function tileColumns(x: readonly number[], fine: boolean): number[] {
  return fine ? [x[0], 0, 0, 0, x[4], x[1], x[2] + x[3]] : [...x, 0, 0];
}

/** Spread of empty / full block work (relative) under which the two move together (emptyTracksFull). */
export const TRACKS_TOLERANCE = 0.05;

/**
 * Whether the calls' empty block work is one fixed multiple of their full block work, so that no fit
 * can tell an empty block's cost from a full one's: every causal square has as many blocks above the
 * diagonal as below, at every S and heads. A fit on such rows alone may put the full blocks' cost on
 * the empty ones (sdpa_flash's forward, whose plain-path rows in the fit were all causal: full 0,
 * empty 2.76 ms per TFLOP, a full-mask 32k row then predicted at 0.45 of 98 ms). fitGroup then takes
 * empty blocks as free (the kernels skip them), the rule for empty work that no row exercises.
 */
export function emptyTracksFull(calls: readonly KernelCall[]): boolean {
  const ratios = calls.filter((c) => c.wEmpty > 0).map((c) => (c.wFull > 0 ? c.wEmpty / c.wFull : Infinity));
  if (ratios.length === 0 || ratios.length < calls.length || ratios.some((r) => !Number.isFinite(r))) return false;
  return Math.max(...ratios) - Math.min(...ratios) <= TRACKS_TOLERANCE * Math.max(...ratios);
}

/** Per-program and per-block cost of the curve's kernel on tiles under BLOCK_SIZE (fineTiled). */
export interface FineTileCosts {
  readonly msPerProgram: number;
  readonly msPerTflop: number;
}

/** A fitted curve (coefficients in ms, ms per program and ms per TFLOP, whole-GPU units). */
export interface KernelCurve {
  readonly gpu: string;
  readonly kernel: string;
  readonly direction: Direction;
  readonly dtype: string;
  /** Programs the GPU runs at once (SMs x programs per SM), fitted. */
  readonly slots: number;
  readonly c0Ms: number;
  readonly msPerProgram: number;
  readonly msPerTflopFull: number;
  readonly msPerTflopPartial: number;
  readonly msPerTflopEmpty: number;
  /**
   * Host-time floor (ms) of nested-tensor ('@varlen') paths: the call takes at least this long
   * whatever its kernel time (calibrate.ts fitHostFloor); absent on every other path.
   */
  readonly hostFloorMs?: number;
  /** Backward with one program per key tile and K/V head (keyTileFeatures): bounded by its heaviest. */
  readonly keyTileBound?: boolean;
  /** Costs on tiles under BLOCK_SIZE, fitted where the rows had such launches (else the curve's own). */
  readonly fineTile?: FineTileCosts;
  /** Coefficients not supported by the data and set by assumption (e.g. "partial=full"). */
  readonly assumed: readonly string[];
  /** Rows fitted and the median absolute % error on them / on the held-out rows. */
  readonly fitRows: number;
  readonly fitMedianAbsPct: number;
  readonly holdoutRows: number;
  readonly holdoutMedianAbsPct: number | null;
  /** What the fit saw: query:KV heads, S range, families (extrapolation is judged against these). */
  readonly seen: { readonly heads: readonly string[]; readonly seqlenMin: number; readonly seqlenMax: number; readonly families: readonly string[] };
}

/** A (GPU class, kernel, direction, dtype) with rows but no curve, and why. */
export interface Uncalibrated {
  readonly gpu: string;
  readonly kernel: string;
  readonly direction: Direction;
  readonly dtype: string;
  readonly rows: number;
  readonly reason: string;
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The curve's coefficients for launchFeatures' columns; for `call`, those of its tile (fineTiled). */
export function curveCoefficients(c: KernelCurve, call?: KernelCall): number[] {
  const f = call && c.fineTile && fineTiled(call) ? c.fineTile : undefined;
  if (f) return [c.c0Ms, f.msPerProgram, f.msPerTflop, f.msPerTflop, c.msPerTflopEmpty];
  return [c.c0Ms, c.msPerProgram, c.msPerTflopFull, c.msPerTflopPartial, c.msPerTflopEmpty];
}

/** The curve's time for a call; `memFloorMs` is the launch's bytes at the GPU's HBM bandwidth. */
export function curveMs(c: KernelCurve, call: KernelCall, memFloorMs = 0): number {
  const a = curveCoefficients(c, call);
  const sms = smsOfClass(c.gpu);
  const f = launchFeatures(call, c.slots, sms);
  let work = Math.max(dot(a, f.wave), dot(a, f.heavy));
  if (c.keyTileBound) for (const x of keyTileFeatures(call, c.slots, f.wave)) work = Math.max(work, dot(a, x));
  const gpuMs = c.c0Ms + Math.max(work - c.c0Ms, memFloorMs);
  return c.hostFloorMs === undefined ? gpuMs : Math.max(c.hostFloorMs, gpuMs);
}

export interface Calibration {
  readonly version: 2;
  readonly blockSize: number;
  readonly model: string;
  readonly holdout: string;
  readonly curves: readonly KernelCurve[];
  /** Kernels with rows but too few (or too alike) for a curve. */
  readonly uncalibrated: readonly Uncalibrated[];
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
  /**
   * Why (direction, dtype) has no curve of this kernel, or null when it has one: "no rows", or the
   * calibration's reason (too few rows, one shape only). Callers say it wherever the roofline is used.
   */
  missing(direction: Direction, dtype: string): string | null;
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
  const memMs = (bytes: number) => bytes / (cluster.gpuSpec.memBandwidthGBps * 1e6 * cluster.memEfficiency);
  const peaks = cluster.gpuSpec.peakTflops;
  return {
    kernel: chosen ?? 'roofline',
    predict(call: KernelCall): KernelPrediction {
      const c = chosen ? byKey.get(curveKey(gpu, chosen, call.direction, call.dtype)) : undefined;
      if (c) return { ms: curveMs(c, call, memMs(call.bytes)), fallback: false };
      const peak = peaks[call.dtype];
      if (peak === undefined) {
        throw new Error(`no calibration for ${gpu}/${chosen ?? '-'}/${call.direction}/${call.dtype} and no ${call.dtype} peak for ${gpu}`);
      }
      return { ms: call.flops / (peak * 1e12 * eff) * 1e3, fallback: true };
    },
    missing(direction: Direction, dtype: string): string | null {
      if (chosen && byKey.has(curveKey(gpu, chosen, direction, dtype))) return null;
      const u = (calibration?.uncalibrated ?? []).find(
        (x) => x.kernel === chosen && x.direction === direction && x.dtype === dtype && curveCoversGpu(x.gpu, gpu),
      );
      if (u) return `${gpu} ${chosen} ${direction}/${dtype}: ${u.reason} (${u.rows} rows)`;
      return `${gpu} ${chosen ?? '(no kernel)'} ${direction}/${dtype}: no calibration rows`;
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
