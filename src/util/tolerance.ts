// Numerical tolerances, in one place, by dtype (max-abs error on unit-scale random inputs).
export const MAX_ABS_TOLERANCE: Readonly<Record<string, number>> = {
  float64: 1e-9,
  float32: 2e-4,
  tf32: 2e-3,
  float16: 1e-2,
  bfloat16: 3e-2,
};

export function toleranceFor(dtype: string): number {
  const t = MAX_ABS_TOLERANCE[dtype];
  if (t === undefined) throw new Error(`no tolerance defined for dtype ${dtype}`);
  return t;
}
