// Numerical tolerances, in one place, by dtype (max-abs error on unit-scale random inputs).
export const MAX_ABS_TOLERANCE: Readonly<Record<string, number>> = {
  float64: 1e-9,
  float32: 2e-4,
  tf32: 2e-3,
  float16: 1e-2,
  bfloat16: 3e-2,
};

/** What a max-abs error is checked on: the error and, for a gradient, the reference's largest |value|. */
export interface ErrorBound {
  readonly maxAbs: number;
  readonly refMaxAbs?: number;
}

/** Max / mean abs error of `got` vs `want` and the reference's largest finite |value|; a NaN is an
 * infinite error, -Infinity on both sides (the lse of a row without keys) counts as equal. */
export function errorOf(got: ArrayLike<number>, want: ArrayLike<number>): { maxAbs: number; meanAbs: number; refMaxAbs: number } {
  let max = 0;
  let sum = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const x = got[i];
    const e = w === x ? 0 : Math.abs(x - w); // -Infinity lse on both sides counts as equal
    max = Math.max(max, Number.isNaN(e) ? Infinity : e);
    sum += Number.isFinite(e) ? e : 0;
    if (Number.isFinite(w)) ref = Math.max(ref, Math.abs(w));
  }
  return { maxAbs: max, meanAbs: want.length ? sum / want.length : 0, refMaxAbs: ref };
}

export const GRADIENTS = ['dq', 'dk', 'dv'] as const;

/**
 * The check every suite applies (kernels and CP, TypeScript and the python worker's
 * attnbench_worker/stats.py): out and lse within the dtype's tolerance; a gradient within the
 * tolerance times max(1, max |reference gradient|), since gradients grow with the number of
 * queries that see a key (a causal mask's first keys) while their bf16 rounding grows with them.
 */
export function exceedsTolerance(dtype: string, errors: Readonly<Partial<Record<string, ErrorBound>>>): boolean {
  const tol = toleranceFor(dtype);
  return Object.entries(errors).some(([name, e]) => {
    if (!e) return false;
    const bound = (GRADIENTS as readonly string[]).includes(name) ? tol * Math.max(1, e.refMaxAbs ?? 0) : tol;
    return !(e.maxAbs <= bound);
  });
}

export function toleranceFor(dtype: string): number {
  const t = MAX_ABS_TOLERANCE[dtype];
  if (t === undefined) throw new Error(`no tolerance defined for dtype ${dtype}`);
  return t;
}
