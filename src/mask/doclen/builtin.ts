// Built-in document-length distributions: parametric fits to three real histograms (SPEC section 4),
// shipped as parameters and discretized into a Histogram on first use.
//
// Model: a mixture of three log-normals, truncated to lengths [1, maxLen), where maxLen is the upper
// edge of the real histogram's last bucket:
//     F(x) = sum_k w_k * Phi((ln x - mu_k) / sigma_k),  renormalized on [1, maxLen)
// Fit (done once, offline, against ../shared/data/doclen-{pile,prolong64k,prolong512k}.json): the
// parameters minimize KL(real bucket masses || model bucket masses), model bucket mass = F(hi) - F(lo)
// with the first bucket starting at 1; Nelder-Mead from 60 random starts (scipy), best kept, rounded
// to 5 digits. One- and two-component mixtures left CDF gaps of 0.02-0.07 and 0.010-0.011.
//
// Error (`fitReport()` in fit-report.ts; lengths in tokens; real stats assume lengths uniform inside
// each bucket, exactly how SPEC 4 samples a histogram file; gap = max |CDF real - CDF fit| at the real
// bucket edges):
//   | distribution | mean real / fit | p50 real / fit | p90 real / fit | p99 real / fit | max CDF gap |
//   | pile         | 11218 / 759     | 257 / 257      | 1711 / 1696    | 9080 / 8431    | 0.0039      |
//   | prolong64k   | 1017 / 918      | 383 / 383      | 1441 / 1440    | 15286 / 11619  | 0.0035      |
//   | prolong512k  | 2381 / 827      | 350 / 350      | 1279 / 1282    | 9203 / 7978    | 0.0032      |
// The means differ on purpose: the raw files end in wide buckets (pile: [14208, 9323168) holds the
// last 0.22%), and a length uniform inside such a bucket averages millions of tokens, so that bucket
// alone sets the raw mean. The fit puts a log-normal tail there instead. The p99 gaps come from the
// same wide buckets, where linear interpolation of the real CDF is a guess.
//
// Discretization: 256 geometric steps from 1 to maxLen, rounded to integer edges (duplicates dropped),
// bucket weight F(hi) - F(lo), computed as (1 - F(lo)) - (1 - F(hi)) above the median so the tail has
// no cancellation. Only Math.exp / Math.log are used, which V8 implements with fdlibm ports, so the
// weights are the same on every machine.
import type { Histogram } from './histogram.js';

interface LogNormalMixture {
  readonly maxLen: number;
  /** [weight, mu, sigma] of ln(length). */
  readonly components: readonly (readonly [number, number, number])[];
}

export const BUILTIN_FITS = {
  pile: {
    maxLen: 9323168,
    components: [
      [0.77806, 5.52975, 1.16948],
      [0.1554, 5.38671, 0.33506],
      [0.06655, 8.29414, 0.67367],
    ],
  },
  prolong64k: {
    maxLen: 61920,
    components: [
      [0.91287, 5.85287, 1.01454],
      [0.04555, 6.43939, 0.32407],
      [0.04158, 8.58083, 2.11276],
    ],
  },
  prolong512k: {
    maxLen: 475872,
    components: [
      [0.72068, 6.02539, 0.80651],
      [0.15282, 4.73802, 0.56387],
      [0.1265, 6.34498, 1.86498],
    ],
  },
} as const satisfies Record<string, LogNormalMixture>;

export type BuiltinDocLens = keyof typeof BUILTIN_FITS;
export const BUILTIN_DOCLENS = Object.keys(BUILTIN_FITS) as readonly BuiltinDocLens[];

export function isBuiltinDocLens(name: string): name is BuiltinDocLens {
  return Object.prototype.hasOwnProperty.call(BUILTIN_FITS, name);
}

/** SPEC 4 default by sequence length: S <= 12k pile, <= 64k prolong64k, larger prolong512k (k = 1024). */
export function defaultDocLens(seqlen: number): BuiltinDocLens {
  return seqlen <= 12 * 1024 ? 'pile' : seqlen <= 64 * 1024 ? 'prolong64k' : 'prolong512k';
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** Untruncated mixture CDF at length x > 0. */
export function mixtureCdf(m: LogNormalMixture, x: number): number {
  let c = 0;
  for (const [w, mu, sigma] of m.components) c += w * 0.5 * erfc(-(Math.log(x) - mu) / (sigma * Math.SQRT2));
  return c;
}

/** Untruncated mixture survival function 1 - CDF, computed directly (no cancellation in the tail). */
function mixtureSurvival(m: LogNormalMixture, x: number): number {
  let c = 0;
  for (const [w, mu, sigma] of m.components) c += w * 0.5 * erfc((Math.log(x) - mu) / (sigma * Math.SQRT2));
  return c;
}

/** Mass of [lo, hi): from the CDF below the median, from the survival function above it. */
function mass(m: LogNormalMixture, lo: number, hi: number): number {
  return mixtureCdf(m, hi) < 0.5 ? mixtureCdf(m, hi) - mixtureCdf(m, lo) : mixtureSurvival(m, lo) - mixtureSurvival(m, hi);
}

export function discretize(name: string, m: LogNormalMixture, steps = 256): Histogram {
  const edges: number[] = [1];
  for (let t = 1; t <= steps; t++) {
    const e = Math.round(Math.exp((Math.log(m.maxLen) * t) / steps));
    if (e > edges[edges.length - 1]) edges.push(e);
  }
  const buckets = [];
  for (let t = 0; t + 1 < edges.length; t++) {
    const weight = mass(m, edges[t], edges[t + 1]);
    if (weight > 0) buckets.push({ lo: edges[t], hi: edges[t + 1], weight });
  }
  return { name, buckets };
}

const cache = new Map<BuiltinDocLens, Histogram>();

export function builtinHistogram(name: BuiltinDocLens): Histogram {
  let h = cache.get(name);
  if (!h) cache.set(name, (h = discretize(name, BUILTIN_FITS[name])));
  return h;
}
