// Document-length histograms and sampling (SPEC section 4).
//
// A histogram is buckets [lo, hi) of token counts with weights (need not sum to 1). Sampling one
// document: draw a bucket with probability weight / total, then a length uniformly among the integers
// of [max(lo, 1), hi) (a document holds at least one token, so a "[0,32)" bucket yields 1..31).
// A sequence of S tokens: draw documents and clip each to the tokens remaining until they sum to S.
import { z } from 'zod';
import type { Rng } from '../prng.js';
import { MAX_TOKENS } from '../../util/parse.js';

export interface Bucket {
  readonly lo: number;
  readonly hi: number;
  readonly weight: number;
}

export interface Histogram {
  /** Built-in name or the path it was loaded from. */
  readonly name: string;
  /** Sorted by lo, pairwise disjoint, every bucket able to yield a length >= 1. */
  readonly buckets: readonly Bucket[];
}

const KEY = /^\[(\d+),(\d+)\)$/;
const FileSchema = z.record(z.string(), z.number().finite().nonnegative());

/**
 * Histogram from the file format of ../shared/data/doclen-*.json: a JSON object whose keys are
 * "[a,b)" and whose values are weights. Throws Error with a one-line reason (the caller names the file).
 */
export function parseHistogram(name: string, json: unknown): Histogram {
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.length > 0 ? ` at key '${issue.path.join('.')}'` : '';
    throw new Error(`expected an object of "[a,b)": weight entries${at}: ${issue.message}`);
  }
  const buckets: Bucket[] = [];
  for (const [key, weight] of Object.entries(parsed.data)) {
    const m = KEY.exec(key);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2]) : NaN;
    if (!m || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo >= hi)
      throw new Error(`bad bucket key '${key}': expected "[a,b)" with integers 0 <= a < b`);
    // Lengths are drawn by 32-bit ranges, and no sequence is longer than MAX_TOKENS.
    if (hi > MAX_TOKENS) throw new Error(`bad bucket key '${key}': document lengths end at 2^32 (${MAX_TOKENS})`);
    if (hi <= 1 && weight > 0) throw new Error(`bucket '${key}' holds only empty documents`);
    if (weight > 0) buckets.push({ lo, hi, weight });
  }
  buckets.sort((x, y) => x.lo - y.lo);
  for (let t = 1; t < buckets.length; t++)
    if (buckets[t].lo < buckets[t - 1].hi)
      throw new Error(`buckets [${buckets[t - 1].lo},${buckets[t - 1].hi}) and [${buckets[t].lo},${buckets[t].hi}) overlap`);
  if (buckets.length === 0) throw new Error('no bucket has a positive weight');
  // An infinite total makes every draw land in the last bucket (u = Infinity, or NaN at 0 * Infinity).
  if (!Number.isFinite(buckets.reduce((t, b) => t + b.weight, 0))) throw new Error('the weights sum past the largest number (1.8e308): scale them down');
  return { name, buckets };
}

/** Draws document lengths from one histogram; the cumulative weights are built once. */
export interface DocLenSampler {
  readonly histogram: Histogram;
  /** One document length (>= 1, unclipped). */
  one(rng: Rng): number;
}

export function makeSampler(h: Histogram): DocLenSampler {
  const n = h.buckets.length;
  const cum = new Float64Array(n);
  let total = 0;
  for (let t = 0; t < n; t++) cum[t] = total += h.buckets[t].weight;
  return {
    histogram: h,
    one(rng: Rng): number {
      const u = rng.float() * total;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      const b = h.buckets[lo];
      return rng.int(Math.max(1, b.lo), b.hi);
    },
  };
}

/** Document lengths summing to exactly `tokens`: draw, clip to the remainder, repeat (SPEC 4). */
export function sampleDocLens(sampler: DocLenSampler, tokens: number, rng: Rng): number[] {
  const out: number[] = [];
  for (let left = tokens; left > 0; ) {
    const len = Math.min(sampler.one(rng), left);
    out.push(len);
    left -= len;
  }
  return out;
}

export interface HistogramStats {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/**
 * Mean and quantiles of the length a histogram yields: mean of the integer-uniform law inside each
 * bucket ((max(lo,1) + hi - 1) / 2), quantiles by linear interpolation of the bucket CDF.
 */
export function histogramStats(h: Histogram): HistogramStats {
  let total = 0;
  let mean = 0;
  for (const b of h.buckets) {
    total += b.weight;
    mean += (b.weight * (Math.max(1, b.lo) + b.hi - 1)) / 2;
  }
  const quantile = (q: number): number => {
    let acc = 0;
    for (const b of h.buckets) {
      const p = b.weight / total;
      if (acc + p >= q) return Math.max(1, b.lo) + ((q - acc) / p) * (b.hi - Math.max(1, b.lo));
      acc += p;
    }
    return h.buckets[h.buckets.length - 1].hi;
  };
  return { mean: mean / total, p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99) };
}
