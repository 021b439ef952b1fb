// Calibration of the kernel model from measured result rows.
//
// Rows used: kernel / sparse suites, status ok, measured on a GPU (not simulated, not the cpu
// executor), world 1, with times. A deterministic part is held out: rows whose id hashes
// (FNV-1a, 32 bit) to 0 mod 4, about a quarter, are never fitted. That quarter only tests
// interpolation (its shapes have neighbours in the fit); holdout.ts holds out whole shape groups.
// Curves are fitted per (GPU class, kernel + input path, direction, dtype) on the rest: for each
// programs-per-SM in 1..4 a non-negative least-squares fit on log time, the best one kept; each row
// weighted by its own timing noise (rowWeight).
import type { GeneratedMask } from '../mask/types.js';
import type { ResultRow } from '../results/schema.js';
import { fitCurve, medianAbs, type FitSample } from './fit.js';
import { computeClass, normalizeGpu, smsOfClass, type Cluster } from './hardware.js';
import {
  BLOCK_SIZE,
  curveKey,
  curveMs,
  emptyTracksFull,
  fineTiled,
  KEY_TILE_SHARE,
  kernelCall,
  keyTileFeatures,
  launchFeatures,
  makeKernelModel,
  tileColumns,
  type Calibration,
  type KernelCall,
  type KernelCurve,
  type Uncalibrated,
} from './kernel-model.js';
import { flexCoarse } from './flex-form.js';
import { hostPath, kernelPath, nestedPath, perDocumentPath } from './kernel-path.js';
import { tileProfile, type TileProfile } from './tiles.js';

export { hostPath, kernelPath, nestedPath, perDocumentPath, VARLEN_GPU, VARLEN_SYNC } from './kernel-path.js';

export const HOLDOUT_RULE = 'fnv1a32(row id) % 4 == 0 is held out (never fitted)';
export const MODEL_TEXT =
  't_ms = c0 + max(aProg*P + aFull*W_full + aPartial*W_partial + aEmpty*W_empty over ceil(programs/slots) waves, the heaviest program, bytes/HBM); programs = query tiles x heads; a launch of one wave on min(slots, SMs x ceil(programs/SMs)) slots (a program alone on its SM at the SM speed; the SM of its heaviest program does that program and k - 1 mean ones at the SM speed, k programs per SM); W_x = dirFactor*4*headDim*pairs in 128x128 blocks of kind x (TFLOP); slots = SMs x {1..4} and the a_x by non-negative least squares on log time; block-mask kernels (flex, triton_blocksparse; every path): aPartial >= aFull, fitted as aFull + d with d >= 0; kernels that compute every block (torch_naive, sdpa_math, @dense paths): one cost for all blocks, and rows that differ only by mask family are one shape to them; plain paths: the smallest launch-constant cap (free, 0.1, 0.03, 0.01 ms) within (1%)^2 per row of the free fit; nested-tensor (@varlen) paths: t = max(host floor, the above) where that fits their training rows better, floor = geometric mean of the fastest rows, the curve fitted on the rest; every row weighted by 1 / (1 + (sigma / 0.05)^2), sigma = its own p20-p80 spread / 1.683; flex backward also >= (1 - 1/KV heads) x waves + GQA group x (4/7 aFull (full + partial) + (aPartial - aFull) partial) of its heaviest key tile (dK/dV program); block-mask kernels (flex, triton_blocksparse) on tiles under 128 (64-token block masks: another compiled kernel) take their own aProg and one aFull for full and partial tiles where the fit has such rows, else the curve\'s; where every training row has empty work in one ratio to its full work (within 5%: causal rows alone), aEmpty = 0';
/**
 * The error a curve is expected to keep on a row with no noise of its own (relative, ~ log units):
 * the floor of the noise model below. 5%: about the fitted rows' p75 |error| in-sample.
 */
export const MODEL_NOISE = 0.05;

/** p20-p80 of a normal distribution spans this many standard deviations (2 x 0.8416). */
const P20_P80_SIGMAS = 1.683;

/**
 * Weight of a row in the fit (inverse variance, relative to a row without noise): a row's own
 * p20-p80 spread estimates its measurement noise, sigma = spread / 1.683, and the fit weighs it by
 * 1 / (1 + (sigma / MODEL_NOISE)^2). A row timed at a steady 0.2% weighs 1; one whose samples scatter
 * over 17% (flex causal_document 1k forward: host time leaking into the timed region) weighs 0.2.
 * Rows without their own spread (the CP executor's per-rank calls) weigh 1.
 */
export function rowWeight(o: Pick<KernelObservation, 'spreadPct'>): number {
  if (o.spreadPct === undefined || !(o.spreadPct > 0)) return 1;
  const sigma = o.spreadPct / 100 / P20_P80_SIGMAS;
  return 1 / (1 + (sigma / MODEL_NOISE) ** 2);
}

function totalWeight(train: readonly KernelObservation[]): number {
  return train.reduce((a, o) => a + rowWeight(o), 0);
}

/** Fewest training rows for a curve (else that combination is listed as uncalibrated). */
export const MIN_FIT_ROWS = 6;
/** Fewest distinct shapes (heads, S, family) among them: one shape cannot separate the terms. */
export const MIN_FIT_SHAPES = 3;

export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function isHeldOut(id: string): boolean {
  return fnv1a32(id) % 4 === 0;
}

/** A measured kernel row the kernel model can learn from. */
export function isKernelCalibrationRow(r: ResultRow): boolean {
  return (
    (r.suite === 'kernel' || r.suite === 'sparse') &&
    r.status === 'ok' &&
    !r.simulated &&
    r.executor !== 'sim' &&
    r.executor !== 'cpu' &&
    r.world === 1 &&
    r.env.gpu !== null &&
    r.times !== null &&
    r.times.medianMs > 0 &&
    r.flops > 0
  );
}

export interface KernelObservation {
  readonly id: string;
  readonly gpu: string;
  readonly kernel: string;
  readonly family: string;
  readonly seqlen: number;
  readonly headsQ: number;
  readonly headsKv: number;
  /** CP world size for observations of a CP executor's calls (1 for the kernel suites). */
  readonly world: number;
  readonly call: KernelCall;
  readonly ms: number;
  readonly heldOut: boolean;
  /** The row's own spread, (p80 - p20) / median in % (absent where the row has no such times). */
  readonly spreadPct?: number;
}

/** Builds a row's mask (for one mask sample seed); supplied by the caller (src/mask/families). */
export type MaskGenerator = (family: string, seqlen: number, seed: number, params: Readonly<Record<string, number | string>>) => GeneratedMask;

/** Mask samples a row's time is the median over (notes "median over N mask samples"), capped. */
export function maskSamplesOf(r: ResultRow, cap = 8): number {
  for (const n of r.notes ?? []) {
    const m = /median over (\d+) mask samples/.exec(n);
    if (m) return Math.max(1, Math.min(cap, Number(m[1])));
  }
  return 1;
}

/** Work items per query head of a generated mask (per-head masks: each weighs 1 / their number). */
export function generatedProfile(samples: readonly GeneratedMask[], varlen = false, block = BLOCK_SIZE): TileProfile {
  const w = 1 / samples.reduce((n, g) => n + g.heads.length, 0);
  return tileProfile(samples.flatMap((g) => g.heads.map((mask) => ({ mask, weight: w }))), block, varlen);
}

/**
 * Observations from rows: the mask of each row is regenerated (averaged over its mask samples) to
 * count its block work. Rows whose mask cannot be rebuilt are returned in `skipped` with the reason.
 */
export function observe(
  rows: readonly ResultRow[],
  gen: MaskGenerator,
): { observations: KernelObservation[]; skipped: { id: string; reason: string }[] } {
  const latest = new Map<string, ResultRow>();
  // Ids name the case, not the GPU or the input path: the same case measured on two GPU types, or by
  // flex with both mask forms, is two observations.
  for (const r of rows) if (isKernelCalibrationRow(r)) latest.set(`${normalizeGpu(r.env.gpu!)}|${kernelPath(r)}|${r.id}`, r);
  const cache = new Map<string, TileProfile>();
  const observations: KernelObservation[] = [];
  const skipped: { id: string; reason: string }[] = [];
  const stale = supersededRows([...latest.values()]);
  for (const r of latest.values()) {
    const why = stale.get(r);
    if (why) {
      skipped.push({ id: r.id, reason: why });
      continue;
    }
    const samples = maskSamplesOf(r);
    // Variable-length paths tile each document from its own start.
    const varlen = perDocumentPath(kernelPath(r));
    const tile = kernelTile(r);
    const key = JSON.stringify([r.family, r.seqlen, r.seed, samples, r.maskParams, varlen, tile]);
    let profile = cache.get(key);
    if (!profile) {
      try {
        const gens = Array.from({ length: samples }, (_, s) => gen(r.family, r.seqlen, r.seed + s, r.maskParams));
        profile = generatedProfile(gens, varlen, tile);
        cache.set(key, profile);
      } catch (e) {
        skipped.push({ id: r.id, reason: e instanceof Error ? e.message : String(e) });
        continue;
      }
    }
    observations.push({
      id: r.id,
      gpu: normalizeGpu(r.env.gpu!),
      kernel: kernelPath(r),
      family: r.family,
      seqlen: r.seqlen,
      headsQ: r.headsQ,
      headsKv: r.headsKv,
      world: 1,
      call: kernelCall(profile, r.headsQ * r.batch, r.headDim, r.direction, r.dtype, r.flops, r.headsKv * r.batch),
      ms: r.times!.medianMs,
      spreadPct: ((r.times!.p80Ms - r.times!.p20Ms) / r.times!.medianMs) * 100,
      heldOut: isHeldOut(r.id),
    });
  }
  return { observations, skipped };
}

/**
 * Rows of a case that a later row of the same case on a GPU of the same compute class supersedes
 * because the kernel's configuration changed in between: the rows' notes (which state the kernel's
 * tiles and tuning) differ. One compute class has one curve per kernel, so it must be fitted on one
 * version of the kernel: the later one. (triton_ranges, this project's kernel, was retuned between
 * the H100 calibrate call, 8fc6751, and the H200 one, 9cb0ea5: H100 / H200 time of its 26 shared
 * cases 0.59-3.75, median 1.28, where the other kernels' 210 shared cases, whose notes agree, have
 * median 0.999.) Value: the reason, per stale row.
 */
export function supersededRows(rows: readonly ResultRow[]): Map<ResultRow, string> {
  const byCase = new Map<string, ResultRow[]>();
  for (const r of rows) {
    // One curve per path: rows of another input path (flex's other mask form) are not a later version.
    const k = `${computeClass(normalizeGpu(r.env.gpu!))}|${kernelPath(r)}|${r.id}`;
    byCase.set(k, [...(byCase.get(k) ?? []), r]);
  }
  const out = new Map<ResultRow, string>();
  for (const group of byCase.values()) {
    if (group.length < 2 || new Set(group.map((r) => JSON.stringify(r.notes ?? []))).size < 2) continue;
    const last = group.reduce((a, b) => (Date.parse(b.env.date) > Date.parse(a.env.date) ? b : a));
    for (const r of group)
      if (r !== last && JSON.stringify(r.notes ?? []) !== JSON.stringify(last.notes ?? []))
        out.set(r, `superseded: the kernel's configuration (notes) changed before the same case was measured on ${normalizeGpu(last.env.gpu!)} (${last.env.date.slice(0, 10)})`);
  }
  return out;
}

/**
 * The tile a row's kernel worked in: block-table kernels (flex, triton_blocksparse, triton_ranges)
 * take a block mask's own block when it is smaller than BLOCK_SIZE (block_sparse with 64-token
 * blocks: the rows' notes say "kernel tiles for 64x64 blocks", "block table 64x64", "ranges tiles
 * 64 tok"), so its blocks are whole tiles, not partial 128 x 128 ones; every other row BLOCK_SIZE,
 * flex's coarse form too (flex-form.ts: its own 128 tiles over the finer mask).
 */
export function kernelTile(r: Pick<ResultRow, 'kernel' | 'notes' | 'maskParams'>): number {
  const b = r.maskParams?.block;
  const blockTable = ['flex', 'triton_blocksparse', 'triton_ranges'].includes(r.kernel ?? '') && !ranOnCoarseTiles(r);
  return blockTable && typeof b === 'number' && b > 0 && b < BLOCK_SIZE && BLOCK_SIZE % b === 0 ? b : BLOCK_SIZE;
}

/**
 * A row whose kernel kept its own 128-token tiles over a finer block mask: flex's coarse form
 * (flex-form.ts) or triton_ranges' 128-key tiles (its tile choice, src/mask/adapters/ranges-choice.ts:
 * "= 128 rows x 128 keys" in the notes).
 */
function ranOnCoarseTiles(r: Pick<ResultRow, 'kernel' | 'notes'>): boolean {
  const notes = r.notes ?? [];
  if (r.kernel === 'flex') return flexCoarse(notes);
  return r.kernel === 'triton_ranges' && notes.some((n) => /^ranges tiles .* x 128 keys/.test(n));
}

export function pctError(predMs: number, ms: number): number {
  return ((predMs - ms) / ms) * 100;
}

export interface FittedCurve {
  /** Coefficients [c0, aProg, aFull, aPartial, aEmpty] and slots. */
  readonly curve: Omit<KernelCurve, 'fitRows' | 'fitMedianAbsPct' | 'holdoutRows' | 'holdoutMedianAbsPct'>;
  readonly loss: number;
}

/**
 * Whether a path's fit holds aPartial >= aFull (a partial block is a full block plus the mask's
 * evaluation): on the block-mask kernels (flex, triton_blocksparse; every input path), whose blocks
 * are the model's blocks (BLOCK_SIZE, or the mask's own block: kernelTile). Not where the model's
 * block kinds are a proxy for the kernel's own tiling: nested-tensor (@varlen) paths tile each
 * document apart, triton_ranges works in packed tiles with per-row key ranges, SDPA's kernels in
 * tiles of their own on is_causal; there a partial 128 x 128 block may cost less than a full one
 * (tried on every path: held-out figures worse, docs/simulator-record.md).
 */
export function partialAtLeastFull(kernelPath: string): boolean {
  return /^(flex|triton_blocksparse)(@|$)/.test(kernelPath);
}

/** Programs per SM tried by the fit (slots = SMs x this). */
export const OCCUPANCIES = [1, 2, 3, 4] as const;

/**
 * What makes two rows different shapes to a fit: heads, S, world and the mask family, except for
 * kernels that compute every block, whose work does not depend on the mask (rows of several
 * families at one S and heads are one shape to them: they cannot separate the launch constant
 * from the block cost).
 */
function shapeKey(o: KernelObservation): string {
  const family = computesEveryBlock(o.kernel) ? '*' : o.family;
  return `${o.headsQ}:${o.headsKv}|${o.seqlen}|${family}|${o.world}`;
}

/** Why these observations cannot make a curve, or null when they can. */
export function tooFew(train: readonly KernelObservation[]): string | null {
  if (train.length < MIN_FIT_ROWS) return `too few rows for a fit (${train.length} < ${MIN_FIT_ROWS})`;
  const shapes = new Set(train.map(shapeKey)).size;
  if (shapes < MIN_FIT_SHAPES) return `too few distinct shapes for a fit (${shapes} < ${MIN_FIT_SHAPES})`;
  return null;
}

/**
 * The best curve for one (GPU class, kernel, direction, dtype) over the programs-per-SM options:
 * fit on the wave features, then twice more with the heaviest-program features for the rows whose
 * heaviest program outlasts the waves under the current fit.
 */
export function fitGroup(train: readonly KernelObservation[], sms: number, cap = Infinity): FittedCurve {
  const first = train[0];
  let best: FittedCurve | null = null;
  for (const occ of OCCUPANCIES) {
    const slots = sms * occ;
    const dense = computesEveryBlock(first.kernel);
    const keyTiles = keyTileBackward(first.kernel, first.call.direction);
    // Rows on tiles under BLOCK_SIZE (another compiled kernel): their own program and block costs,
    // on the kernels whose blocks are the model's blocks (partialAtLeastFull; docs/simulator-record.md).
    const fine = !dense && partialAtLeastFull(first.kernel) && train.some((o) => fineTiled(o.call));
    // Empty work that moves with full work (causal rows alone) is not identified: empty blocks are free.
    const emptyFree = !dense && emptyTracksFull(train.map((o) => o.call));
    const feats = train.map((o) => {
      const f = launchFeatures(o.call, slots, sms);
      const bounds = [f.heavy, ...(keyTiles ? keyTileFeatures(o.call, slots, f.wave) : [])];
      const tiled = (x: number[]) => (dense ? oneWorkColumn(x) : fine ? tileColumns(x, fineTiled(o.call)) : x);
      const cols = (x: number[]) => (emptyFree ? tiled(x).map((v, c) => (c === 4 ? 0 : v)) : tiled(x));
      return { wave: cols(f.wave), bounds: bounds.map(cols) };
    });
    let xs = feats.map((f) => f.wave);
    // A launch constant above the cap is pinned at the cap (the other coefficients refitted).
    let noConstant = false;
    let offset = 0;
    // A partial block is a full block plus masking: aPartial >= aFull where the kernel's blocks are
    // the model's 128 x 128 ones (partialAtLeastFull).
    const ordered = !dense && partialAtLeastFull(first.kernel) ? ([2, 3] as const) : undefined;
    const refit = () => fitCurve(train.map((o, i): FitSample => ({ x: xs[i], ms: o.ms, weight: rowWeight(o) })), { noConstant, offset, ordered });
    let fit = refit();
    if (fit.beta[0] > cap) {
      noConstant = true;
      offset = cap;
      fit = refit();
    }
    for (let it = 0; it < 2; it++) {
      const b = fit.beta.map((v) => (Number.isNaN(v) ? 0 : v));
      const next = feats.map((f) => f.bounds.reduce((x, y) => (dotp(b, y) > dotp(b, x) ? y : x), f.wave));
      if (next.every((x, i) => x === xs[i])) break;
      xs = next;
      fit = refit();
    }
    const [c00, aProg, aF0, aP0, aE0, aProgFine, aFine] = fit.beta.map((v, c) => (fit.used[c] ? v : Number.NaN));
    const c0 = Number.isNaN(c00) ? offset : c00;
    const assumed: string[] = dense ? ['dense: every block costs the same'] : [];
    if (noConstant) assumed.push(`launch constant capped at ${cap} ms`);
    const aF = !Number.isNaN(aF0) ? aF0 : !Number.isNaN(aP0) ? aP0 : 0;
    if (Number.isNaN(aF0)) assumed.push('full=partial');
    const aP = dense ? aF : !Number.isNaN(aP0) ? aP0 : aF;
    if (Number.isNaN(aP0) && !dense) assumed.push('partial=full');
    const aE = dense ? aF : !Number.isNaN(aE0) ? aE0 : 0;
    if (Number.isNaN(aE0) && !dense) assumed.push(emptyFree ? 'empty=0 (empty work moves with full work in these rows)' : 'empty=0');
    if (keyTiles) assumed.push(`key-tile programs: ${(KEY_TILE_SHARE * 7).toFixed(0)}/7 of each block + the partial surcharge, after (1 - 1/K/V heads) of the work`);
    const curve = {
      gpu: computeClass(first.gpu),
      kernel: first.kernel,
      direction: first.call.direction,
      dtype: first.call.dtype,
      slots,
      ...(keyTiles ? { keyTileBound: true } : {}),
      ...(fine ? { fineTile: { msPerProgram: aProgFine || 0, msPerTflop: aFine || 0 } } : {}),
      c0Ms: c0,
      msPerProgram: Number.isNaN(aProg) ? 0 : aProg,
      msPerTflopFull: aF,
      msPerTflopPartial: aP,
      msPerTflopEmpty: aE,
      assumed,
      seen: {
        heads: [...new Set(train.map((o) => `${o.headsQ}:${o.headsKv}`))].sort(),
        seqlenMin: Math.min(...train.map((o) => o.seqlen)),
        seqlenMax: Math.max(...train.map((o) => o.seqlen)),
        families: [...new Set(train.map((o) => o.family))].sort(),
      },
    };
    // Judge the options by the model as it predicts (with the heavy bound), not the fit's own loss.
    let loss = 0;
    for (const o of train) loss += rowWeight(o) * Math.log(curveMs({ ...curve, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null }, o.call) / o.ms) ** 2;
    if (!best || loss < best.loss - 1e-12) best = { curve, loss };
  }
  return best!;
}

/** S ranges (tokens): a row's range is the first whose upper bound is >= S. */
export const SEQLEN_RANGES: readonly (readonly [string, number])[] = [
  ['<=2k', 2048],
  ['4k-8k', 8192],
  ['12k-32k', 32768],
  ['40k-64k', 65536],
  ['128k-256k', 262144],
  ['>256k', Infinity],
];

export function seqlenRange(s: number): string {
  return SEQLEN_RANGES.find(([, hi]) => s <= hi)![0];
}

/** Caps on the launch constant (ms) the inner cross-validation chooses from (Infinity: free). */
export const LAUNCH_CAPS = [Infinity, 0.1, 0.03, 0.01] as const;

/**
 * What a smaller launch constant may cost in fit and still be preferred: this much rms log error per
 * training row, added in quadrature (1%: below the plain paths' run-to-run spread).
 */
export const LAUNCH_CAP_TOLERANCE = 0.01;

/**
 * The launch constant is not identified by rows whose launches are long (a few % of their time):
 * fitted freely on S >= 4k it takes what belongs to the per-program and wave terms (flex backward:
 * 0.57 ms; 0.04 ms with 1k-2k launches in the fit) at almost no cost in fit (rms log error 19.3%
 * against 19.4% capped at 0.01 ms). For plain paths (no host work) the smallest cap in LAUNCH_CAPS
 * whose training loss is at most the free fit's plus LAUNCH_CAP_TOLERANCE^2 per row is kept: when
 * the rows cannot tell, the smaller constant. Only the training rows are used.
 */
export function chooseLaunchCap(train: readonly KernelObservation[], sms: number): number {
  if (hostPath(train[0].kernel)) return Infinity;
  const limit = fitGroup(train, sms, Infinity).loss + totalWeight(train) * LAUNCH_CAP_TOLERANCE ** 2 + 1e-12;
  let best: number = Infinity;
  for (const cap of LAUNCH_CAPS) if (cap < best && fitGroup(train, sms, cap).loss <= limit) best = cap;
  return best;
}

/** Fewest training rows a host floor is estimated from. */
export const MIN_FLOOR_ROWS = 3;

/**
 * fitGroup, and for nested-tensor paths the alternative t = max(floor, kernel curve): for each split
 * of the training rows by time (the n fastest, n >= MIN_FLOOR_ROWS, on the floor; the rest, enough
 * for a curve by tooFew, fit the curve), floor = geometric mean of the n fastest. The split (or none)
 * with the least training loss of the model as it predicts is kept. Only the training rows are used.
 */
export function fitHostFloor(train: readonly KernelObservation[], sms: number, cap = Infinity): FittedCurve {
  const base = fitGroup(train, sms, cap);
  if (!nestedPath(train[0].kernel)) return base;
  const sorted = [...train].sort((a, b) => a.ms - b.ms);
  let best = base;
  for (let n = MIN_FLOOR_ROWS; n < sorted.length; n++) {
    const above = sorted.slice(n);
    if (tooFew(above)) continue;
    const floor = Math.exp(sorted.slice(0, n).reduce((s, o) => s + Math.log(o.ms), 0) / n);
    const fit = fitGroup(above, sms, cap);
    const curve = {
      ...fit.curve,
      hostFloorMs: floor,
      assumed: [...fit.curve.assumed, `host floor ${floor.toFixed(2)} ms: geometric mean of the ${n} fastest rows`],
      seen: base.curve.seen,
    };
    const full = { ...curve, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null };
    let loss = 0;
    for (const o of train) loss += rowWeight(o) * Math.log(curveMs(full, o.call) / o.ms) ** 2;
    if (loss < best.loss - 1e-12) best = { curve, loss };
  }
  return best;
}

/**
 * Backward launches with one program per (key tile, K/V head) walking its key tile's column for the
 * whole GQA group (kernel-model.ts keyTileFeatures): torch/_inductor's flex backward template, in
 * the kernel suite and in the CP executor's calls.
 */
export function keyTileBackward(kernelPath: string, direction: string): boolean {
  return direction === 'bwd' && kernelPath.split('@')[0] === 'flex';
}

/**
 * Kernels that compute every block of the S x S scores whatever the mask (they materialise them, or
 * take the mask as a dense boolean tensor): full, partial and empty blocks cost them the same.
 */
export function computesEveryBlock(kernelPath: string): boolean {
  return kernelPath === 'torch_naive' || kernelPath.startsWith('sdpa_math') || kernelPath.endsWith('@dense');
}

/** Features with the three block-work columns summed into the first (one coefficient for all blocks). */
function oneWorkColumn(x: readonly number[]): number[] {
  return [x[0], x[1], x[2] + x[3] + x[4], 0, 0];
}

function dotp(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export { smsOfClass } from './hardware.js';

export function groupKey(o: KernelObservation): string {
  return curveKey(computeClass(o.gpu), o.kernel, o.call.direction, o.call.dtype);
}

/** Fits one curve per (GPU compute class, kernel, direction, dtype) on the observations `train` accepts. */
export function calibrate(
  obs: readonly KernelObservation[],
  meta: Partial<Calibration> = {},
  train: (o: KernelObservation) => boolean = (o) => !o.heldOut,
): Calibration {
  const groups = new Map<string, KernelObservation[]>();
  for (const o of obs) {
    const k = groupKey(o);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(o);
  }
  const curves: KernelCurve[] = [];
  const uncalibrated: Uncalibrated[] = [];
  const allFit: number[] = [];
  const allHold: number[] = [];
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    const tr = g.filter(train);
    const test = g.filter((o) => !train(o));
    const first = g[0];
    const why = tooFew(tr);
    if (why) {
      uncalibrated.push({ gpu: computeClass(first.gpu), kernel: first.kernel, direction: first.call.direction, dtype: first.call.dtype, rows: tr.length, reason: why });
      continue;
    }
    const sms = smsOfClass(computeClass(first.gpu));
    const { curve } = fitHostFloor(tr, sms, chooseLaunchCap(tr, sms));
    const full: KernelCurve = { ...curve, fitRows: tr.length, fitMedianAbsPct: 0, holdoutRows: test.length, holdoutMedianAbsPct: null };
    const err = (o: KernelObservation) => pctError(curveMs(full, o.call), o.ms);
    const fitErr = tr.map(err);
    const holdErr = test.map(err);
    allFit.push(...fitErr);
    allHold.push(...holdErr);
    curves.push({ ...full, fitMedianAbsPct: round(medianAbs(fitErr)), holdoutMedianAbsPct: test.length ? round(medianAbs(holdErr)) : null });
  }
  return {
    version: 2,
    blockSize: BLOCK_SIZE,
    model: MODEL_TEXT,
    holdout: HOLDOUT_RULE,
    curves,
    uncalibrated,
    holdoutMedianAbsPct: allHold.length ? round(medianAbs(allHold)) : null,
    fitMedianAbsPct: allFit.length ? round(medianAbs(allFit)) : null,
    rows: obs.length,
    ...meta,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export interface KernelPredictionRow {
  readonly obs: KernelObservation;
  readonly predictedMs: number;
  readonly errorPct: number;
  readonly fallback: boolean;
}

/** Predicts every observation with its own kernel's curve (or the roofline of its GPU). */
export function validateKernels(
  cal: Calibration | null,
  obs: readonly KernelObservation[],
  clusterFor: (gpu: string) => Cluster,
): KernelPredictionRow[] {
  return obs.map((o) => {
    const model = makeKernelModel(clusterFor(o.gpu), cal, o.kernel);
    const p = model.predict(o.call);
    return { obs: o, predictedMs: p.ms, errorPct: pctError(p.ms, o.ms), fallback: p.fallback };
  });
}

export interface ErrorSummary {
  readonly n: number;
  readonly medianAbsPct: number | null;
  readonly meanAbsPct: number | null;
  readonly maxAbsPct: number | null;
}

export function summarizeErrors(errs: readonly number[]): ErrorSummary {
  if (!errs.length) return { n: 0, medianAbsPct: null, meanAbsPct: null, maxAbsPct: null };
  const abs = errs.map(Math.abs);
  return {
    n: errs.length,
    medianAbsPct: round(medianAbs(abs)),
    meanAbsPct: round(abs.reduce((a, b) => a + b, 0) / abs.length),
    maxAbsPct: round(Math.max(...abs)),
  };
}
