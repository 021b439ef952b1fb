// Calibration and validation of the kernel model from measured result rows.
//
// Rows used: kernel / sparse suites, status ok, measured on a GPU (not simulated, not the cpu
// executor), world 1, with times. A deterministic part is held out: rows whose id hashes
// (FNV-1a, 32 bit) to 0 mod 4, about a quarter, are never fitted, and the error on them is the
// model's honest error. Curves are fitted per (GPU type, kernel, direction, dtype) on the rest.
import type { GeneratedMask } from '../mask/types.js';
import type { ResultRow } from '../results/schema.js';
import { fitCurve, medianAbs, type FitSample } from './fit.js';
import { computeClass, normalizeGpu, type Cluster } from './hardware.js';
import {
  BLOCK_SIZE,
  blockPairs,
  callFromPairs,
  curveKey,
  makeKernelModel,
  type BlockPairs,
  type Calibration,
  type KernelCall,
  type KernelCurve,
} from './kernel-model.js';

export const HOLDOUT_RULE = 'fnv1a32(row id) % 4 == 0 is held out (never fitted)';
export const MODEL_TEXT =
  't_ms = c0 + (aFull*W_full + aPartial*W_partial + aEmpty*W_empty) / 1e12, W_x = dirFactor*4*headDim*headsQ*pairs in 128x128 blocks of kind x; non-negative least squares on log time';
/** Fewest training rows for a curve (else that combination uses the roofline fallback). */
export const MIN_FIT_ROWS = 3;

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
  readonly call: KernelCall;
  readonly ms: number;
  readonly heldOut: boolean;
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

/** Block pairs per query head of a generated mask, summed over query heads (per-head masks weigh by their group). */
export function generatedPairs(g: GeneratedMask, headsQ: number, block = BLOCK_SIZE): BlockPairs {
  const per = headsQ / g.heads.length;
  let full = 0;
  let partial = 0;
  let empty = 0;
  for (const m of g.heads) {
    const p = blockPairs(m, block);
    full += p.full * per;
    partial += p.partial * per;
    empty += p.empty * per;
  }
  return { full, partial, empty };
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
  for (const r of rows) if (isKernelCalibrationRow(r)) latest.set(r.id, r);
  const cache = new Map<string, BlockPairs>();
  const observations: KernelObservation[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const r of latest.values()) {
    const samples = maskSamplesOf(r);
    const key = JSON.stringify([r.family, r.seqlen, r.seed, samples, r.maskParams, r.headsQ]);
    let pairs = cache.get(key);
    if (!pairs) {
      try {
        let full = 0;
        let partial = 0;
        let empty = 0;
        for (let s = 0; s < samples; s++) {
          const p = generatedPairs(gen(r.family, r.seqlen, r.seed + s, r.maskParams), r.headsQ);
          full += p.full / samples;
          partial += p.partial / samples;
          empty += p.empty / samples;
        }
        pairs = { full, partial, empty };
        cache.set(key, pairs);
      } catch (e) {
        skipped.push({ id: r.id, reason: e instanceof Error ? e.message : String(e) });
        continue;
      }
    }
    const batched: BlockPairs = { full: pairs.full * r.batch, partial: pairs.partial * r.batch, empty: pairs.empty * r.batch };
    observations.push({
      id: r.id,
      gpu: normalizeGpu(r.env.gpu!),
      kernel: kernelPath(r),
      family: r.family,
      seqlen: r.seqlen,
      headsQ: r.headsQ,
      headsKv: r.headsKv,
      call: callFromPairs(batched, 1, r.headDim, r.direction, r.dtype, r.flops),
      ms: r.times!.medianMs,
      heldOut: isHeldOut(r.id),
    });
  }
  return { observations, skipped };
}

/**
 * The kernel id, with the input path when one kernel id has several with different costs: SDPA
 * backends on documents run through nested (jagged) tensors ('@varlen') and on other masks
 * through a dense boolean mask ('@dense'); each path gets its own curve.
 */
export function kernelPath(r: Pick<ResultRow, 'kernel' | 'notes'>): string {
  const k = r.kernel ?? 'unknown';
  const notes = r.notes ?? [];
  if (notes.some((n) => /nested \(jagged\) tensors/.test(n))) return `${k}@varlen`;
  if (notes.some((n) => /^dense boolean attn_mask/.test(n))) return `${k}@dense`;
  return k;
}

function pctError(predMs: number, ms: number): number {
  return ((predMs - ms) / ms) * 100;
}

/** Fits one curve per (GPU compute class, kernel, direction, dtype) on the non-held-out observations. */
export function calibrate(obs: readonly KernelObservation[], meta: Partial<Calibration> = {}): Calibration {
  const groups = new Map<string, KernelObservation[]>();
  for (const o of obs) {
    const k = curveKey(computeClass(o.gpu), o.kernel, o.call.direction, o.call.dtype);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(o);
  }
  const curves: KernelCurve[] = [];
  const allFit: number[] = [];
  const allHold: number[] = [];
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    const train = g.filter((o) => !o.heldOut);
    const test = g.filter((o) => o.heldOut);
    if (train.length < MIN_FIT_ROWS) continue;
    const fit = fitCurve(train.map((o): FitSample => ({ call: o.call, ms: o.ms })));
    const assumed: string[] = [];
    const [c0, aF0, aP0, aE0] = fit.beta;
    const aF = fit.used[1] ? aF0 : fit.used[2] ? aP0 : 0;
    if (!fit.used[1]) assumed.push('full=partial');
    const aP = fit.used[2] ? aP0 : aF;
    if (!fit.used[2]) assumed.push('partial=full');
    const aE = fit.used[3] ? aE0 : 0;
    if (!fit.used[3]) assumed.push('empty=0');
    const first = g[0];
    const base = {
      gpu: computeClass(first.gpu),
      kernel: first.kernel,
      direction: first.call.direction,
      dtype: first.call.dtype,
      c0Ms: c0,
      msPerTflopFull: aF,
      msPerTflopPartial: aP,
      msPerTflopEmpty: aE,
      assumed,
    };
    const err = (o: KernelObservation) => pctError(curveMsOf(base, o.call), o.ms);
    const fitErr = train.map(err);
    const holdErr = test.map(err);
    allFit.push(...fitErr);
    allHold.push(...holdErr);
    curves.push({
      ...base,
      fitRows: train.length,
      fitMedianAbsPct: round(medianAbs(fitErr)),
      holdoutRows: test.length,
      holdoutMedianAbsPct: test.length ? round(medianAbs(holdErr)) : null,
    });
  }
  return {
    version: 1,
    blockSize: BLOCK_SIZE,
    model: MODEL_TEXT,
    holdout: HOLDOUT_RULE,
    curves,
    holdoutMedianAbsPct: allHold.length ? round(medianAbs(allHold)) : null,
    fitMedianAbsPct: allFit.length ? round(medianAbs(allFit)) : null,
    rows: obs.length,
    ...meta,
  };
}

function curveMsOf(
  c: { c0Ms: number; msPerTflopFull: number; msPerTflopPartial: number; msPerTflopEmpty: number },
  call: KernelCall,
): number {
  return c.c0Ms + (c.msPerTflopFull * call.wFull + c.msPerTflopPartial * call.wPartial + c.msPerTflopEmpty * call.wEmpty) / 1e12;
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
