// Timing statistics (SPEC 6): median, p20, p80 of per-call times.
import { tflopsPerGpu } from '../results/flops.js';

/** Linear-interpolated quantile of unsorted samples, q in [0, 1]. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('quantile of no samples');
  const s = [...samples].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function summarize(samplesMs: readonly number[]): { medianMs: number; p20Ms: number; p80Ms: number; samples: number } {
  return {
    medianMs: quantile(samplesMs, 0.5),
    p20Ms: quantile(samplesMs, 0.2),
    p80Ms: quantile(samplesMs, 0.8),
    samples: samplesMs.length,
  };
}

/** TFLOP/s from FLOPs and milliseconds. */
export function tflops(flops: number, ms: number): number {
  return tflopsPerGpu(flops, ms) ?? 0;
}
