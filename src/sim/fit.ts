// Least-squares fit of a kernel curve (kernel-model.ts) in log space with non-negative coefficients.
//
//   minimize  sum_i w_i (log(x_i . beta) - log t_i)^2   subject to beta >= 0   (w_i: sample weights, default 1)
//   x_i = the launch's features (kernel-model.ts launchFeatures: [1, programs, W_full, W_partial,
//   W_empty]), beta = [c0, aProg, aFull, aPartial, aEmpty]
//
// Start: the same problem on relative error, sum_i ((x_i . beta) / t_i - 1)^2, which is linear and
// close to log error when errors are small; solved exactly under beta >= 0 by trying every subset
// of columns (at most 15). Then projected Gauss-Newton steps on the log residuals, each accepted
// only if it lowers the loss. Columns the data never exercises (no partial blocks measured, say)
// are left out and given an assumed value by the caller.
//
// `ordered: [lo, hi]` adds beta[hi] >= beta[lo] (a partial block costs at least a full one) by
// fitting beta[hi] = beta[lo] + d, d >= 0: column lo becomes x[lo] + x[hi] and column hi keeps x[hi]
// for d, which leaves the problem an NNLS one. Applied only where the data exercises both columns
// (otherwise the caller's assumption for the missing one stands).
export interface FitSample {
  /** Feature vector; every sample has the same length, the first column is the constant 1. */
  readonly x: readonly number[];
  readonly ms: number;
  /** Weight of the sample in the loss (default 1). */
  readonly weight?: number;
}

export interface FitResult {
  /** Coefficients per column; NaN for columns not fitted. */
  readonly beta: readonly number[];
  /** Which columns had support in the data. */
  readonly used: readonly boolean[];
  /** Sum of squared log residuals. */
  readonly loss: number;
}

/** Solves the least-squares problem min |A b - y| for the given columns (normal equations + tiny ridge). */
function lsq(A: readonly number[][], y: readonly number[], cols: readonly number[], w?: readonly number[]): number[] | null {
  const k = cols.length;
  const M = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const v = new Array<number>(k).fill(0);
  for (let i = 0; i < A.length; i++) {
    const a = A[i];
    const wi = w ? w[i] : 1;
    for (let p = 0; p < k; p++) {
      const ap = a[cols[p]] * wi;
      v[p] += ap * y[i];
      for (let q = p; q < k; q++) M[p][q] += ap * a[cols[q]];
    }
  }
  let trace = 0;
  for (let p = 0; p < k; p++) {
    for (let q = 0; q < p; q++) M[p][q] = M[q][p];
    trace += M[p][p];
  }
  const ridge = 1e-12 * (trace / k || 1);
  for (let p = 0; p < k; p++) M[p][p] += ridge;
  return solve(M, v);
}

/** Gaussian elimination with partial pivoting; null when singular. */
function solve(M: number[][], v: number[]): number[] | null {
  const n = v.length;
  const a = M.map((r, i) => [...r, v[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
    if (!(Math.abs(a[piv][c]) > 1e-300)) return null;
    [a[c], a[piv]] = [a[piv], a[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      if (f !== 0) for (let q = c; q <= n; q++) a[r][q] -= f * a[c][q];
    }
  }
  return a.map((r, i) => r[n] / r[i]);
}

function logLoss(X: readonly number[][], t: readonly number[], beta: readonly number[], off = 0, w?: readonly number[]): number {
  let s = 0;
  const NCOL = beta.length;
  for (let i = 0; i < X.length; i++) {
    let p = off;
    for (let c = 0; c < NCOL; c++) p += X[i][c] * beta[c];
    if (!(p > 0)) return Infinity;
    const r = Math.log(p / t[i]);
    s += (w ? w[i] : 1) * r * r;
  }
  return s;
}

export interface FitOptions {
  readonly noConstant?: boolean;
  readonly offset?: number;
  /** Columns [lo, hi] whose coefficients must satisfy beta[hi] >= beta[lo]. */
  readonly ordered?: readonly [number, number];
}

export function fitCurve(samples: readonly FitSample[], opts: FitOptions = {}): FitResult {
  if (samples.length === 0) throw new Error('fitCurve: no samples');
  const ord = opts.ordered;
  if (ord && samples.some((s) => s.x[ord[0]] !== 0) && samples.some((s) => s.x[ord[1]] !== 0)) {
    const [lo, hi] = ord;
    const tied = samples.map((s) => ({ ...s, x: s.x.map((v, c) => (c === lo ? v + s.x[hi] : v)) }));
    const fit = fitFree(tied, opts);
    const beta = fit.beta.slice();
    beta[hi] = beta[lo] + beta[hi];
    return { ...fit, beta };
  }
  return fitFree(samples, opts);
}

function fitFree(samples: readonly FitSample[], opts: FitOptions): FitResult {
  const off = opts.offset ?? 0;
  const X = samples.map((s) => [...s.x]);
  const NCOL = X[0].length;
  const t = samples.map((s) => s.ms);
  const w = samples.some((s) => s.weight !== undefined) ? samples.map((s) => s.weight ?? 1) : undefined;
  // Column scaling for conditioning; a column is used when some sample exercises it noticeably.
  const scale = new Array<number>(NCOL).fill(0);
  for (const x of X) for (let c = 0; c < NCOL; c++) scale[c] = Math.max(scale[c], Math.abs(x[c]));
  // A column is used when some sample exercises it (columns have different units: no common threshold).
  const used = scale.map((s, c) => (c === 0 ? !opts.noConstant : s > 0));
  const cols = [...Array(NCOL).keys()].filter((c) => used[c]);
  const Xs = X.map((x) => x.map((v, c) => (scale[c] > 0 ? v / scale[c] : 0)));

  // 1. Relative-error NNLS by subset enumeration.
  const A = Xs.map((x, i) => x.map((v) => v / t[i]));
  const ones = t.map((ti) => Math.max(1e-6, 1 - off / ti));
  let best: number[] | null = null;
  let bestLoss = Infinity;
  for (let mask = 1; mask < 1 << cols.length; mask++) {
    const sub = cols.filter((_, i) => mask & (1 << i));
    const sol = lsq(A, ones, sub, w);
    if (!sol || sol.some((b) => !(b >= 0))) continue;
    const beta = new Array<number>(NCOL).fill(0);
    sub.forEach((c, i) => (beta[c] = sol[i]));
    const loss = logLoss(Xs, t, beta, off, w);
    if (loss < bestLoss) [best, bestLoss] = [beta, loss];
  }
  if (!best) {
    // Degenerate data: a pure throughput model through the origin on the first used work column.
    best = new Array<number>(NCOL).fill(0);
    const c = cols.find((k) => k > 0) ?? 0;
    const ratios = Xs.map((x, i) => t[i] / (x[c] || 1)).sort((a, b) => a - b);
    best[c] = ratios[Math.floor(ratios.length / 2)];
    bestLoss = logLoss(Xs, t, best, off, w);
  }

  // 2. Projected Gauss-Newton on log residuals.
  let beta = best;
  let loss = bestLoss;
  for (let it = 0; it < 50; it++) {
    const J: number[][] = [];
    const r: number[] = [];
    for (let i = 0; i < Xs.length; i++) {
      let p = off;
      for (let c = 0; c < NCOL; c++) p += Xs[i][c] * beta[c];
      J.push(Xs[i].map((v) => v / p));
      r.push(-Math.log(p / t[i]));
    }
    const delta = lsq(J, r, cols, w);
    if (!delta) break;
    let stepped = false;
    for (let h = 1; h >= 1 / 1024; h /= 2) {
      const cand = beta.slice();
      cols.forEach((c, i) => (cand[c] = Math.max(0, beta[c] + h * delta[i])));
      const l = logLoss(Xs, t, cand, off, w);
      if (l < loss - 1e-15) {
        [beta, loss, stepped] = [cand, l, true];
        break;
      }
    }
    if (!stepped) break;
  }
  return {
    beta: beta.map((b, c) => (used[c] ? b / scale[c] : Number.NaN)),
    used,
    loss,
  };
}

/** Median of absolute values (0 for none). */
export function medianAbs(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = xs.map(Math.abs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
