// Validation that tests generalization: whole configurations are held out and refitted without.
//
// A configuration group is all rows of one value along one axis: query:KV heads, an S range, a mask
// family (and, for the CP executor's own calls, a world size P). For every group of every axis the
// kernel curves are fitted again on the rows outside the group and the rows inside it are
// predicted. A held-out row is an extrapolation when its curve saw no row like it along that axis
// (heads never fitted, S outside the fitted range, a family never fitted, a P never fitted) and an
// interpolation otherwise. The fixed hash quarter (calibrate.ts) is another interpolation test.
import { calibrate, groupKey, pctError, seqlenRange, type KernelObservation } from './calibrate.js';
import { medianAbs } from './fit.js';
import { hostTimeLines } from './host-time.js';
import { curveMs, type Calibration } from './kernel-model.js';

export type HoldoutAxis = 'heads' | 'seqlen' | 'family' | 'world';

/** Held-out rows listed by `sim validate` (largest |error| first), with what they share. */
export const WORST_ROWS = 20;

export { SEQLEN_RANGES, seqlenRange } from './calibrate.js';

export function axisValue(o: KernelObservation, axis: HoldoutAxis): string {
  switch (axis) {
    case 'heads':
      return `${o.headsQ}:${o.headsKv}`;
    case 'seqlen':
      return seqlenRange(o.seqlen);
    case 'family':
      return o.family;
    case 'world':
      return String(o.world);
  }
}

export interface GroupPrediction {
  readonly obs: KernelObservation;
  readonly axis: HoldoutAxis | 'hash' | 'fit';
  readonly group: string;
  /** Null when no curve could be fitted without the group (the kernel has too few other rows). */
  readonly predictedMs: number | null;
  readonly errorPct: number | null;
  readonly extrapolation: boolean;
}

/** Whether the curve fitted without `o`'s group had seen a row like `o` along `axis`. */
function isExtrapolation(o: KernelObservation, axis: HoldoutAxis, train: readonly KernelObservation[]): boolean {
  switch (axis) {
    case 'heads':
      return !train.some((t) => t.headsQ === o.headsQ && t.headsKv === o.headsKv);
    case 'seqlen': {
      const s = train.map((t) => t.seqlen);
      return o.seqlen < Math.min(...s) || o.seqlen > Math.max(...s);
    }
    case 'family':
      return !train.some((t) => t.family === o.family);
    case 'world':
      return !train.some((t) => t.world === o.world);
  }
}

/**
 * Leave-one-group-out along each axis. Groups that hold every row of their curve's kernel (nothing
 * left to fit) are reported with predictedMs null. `select` picks the rows that are predicted
 * (all of them by default); every observation can be used for fitting.
 */
export function leaveGroupOut(
  obs: readonly KernelObservation[],
  axes: readonly HoldoutAxis[],
  select: (o: KernelObservation) => boolean = () => true,
): GroupPrediction[] {
  const out: GroupPrediction[] = [];
  for (const axis of axes) {
    const values = [...new Set(obs.filter(select).map((o) => axisValue(o, axis)))].sort();
    for (const v of values) {
      const inGroup = (o: KernelObservation) => axisValue(o, axis) === v;
      const targets = obs.filter((o) => inGroup(o) && select(o));
      // Only the curves the group's rows use need a refit.
      const keys = new Set(targets.map(groupKey));
      const pool = obs.filter((o) => keys.has(groupKey(o)));
      const cal = calibrate(pool, {}, (o) => !inGroup(o));
      out.push(...predictWith(cal, targets, axis, v, pool.filter((o) => !inGroup(o))));
    }
  }
  return out;
}

function predictWith(cal: Calibration, targets: readonly KernelObservation[], axis: HoldoutAxis, group: string, train: readonly KernelObservation[]): GroupPrediction[] {
  const byKey = new Map(cal.curves.map((c) => [`${c.gpu}|${c.kernel}|${c.direction}|${c.dtype}`, c]));
  return targets.map((o) => {
    const c = byKey.get(groupKey(o));
    const tr = train.filter((t) => groupKey(t) === groupKey(o));
    if (!c) return { obs: o, axis, group, predictedMs: null, errorPct: null, extrapolation: true };
    const p = curveMs(c, o.call);
    return { obs: o, axis, group, predictedMs: p, errorPct: pctError(p, o.ms), extrapolation: isExtrapolation(o, axis, tr) };
  });
}

/**
 * Every selected row predicted by curves fitted on every row, itself included: what the model's
 * form cannot fit even in-sample bounds what any held-out figure can reach. `errorPct` null where
 * the kernel has no curve at all.
 */
export function inSample(obs: readonly KernelObservation[], select: (o: KernelObservation) => boolean = () => true): GroupPrediction[] {
  const cal = calibrate(obs, {}, () => true);
  return predictWith(cal, obs.filter(select), 'seqlen', 'in-sample', obs).map((p) => ({ ...p, axis: 'fit' as const, extrapolation: false }));
}

/** The fixed hash quarter as group predictions (interpolation). */
export function hashHoldout(obs: readonly KernelObservation[], select: (o: KernelObservation) => boolean = () => true): GroupPrediction[] {
  const cal = calibrate(obs);
  return predictWith(
    cal,
    obs.filter((o) => o.heldOut && select(o)),
    'seqlen',
    'hash',
    obs.filter((o) => !o.heldOut),
  ).map((p) => ({ ...p, axis: 'hash' as const, extrapolation: false }));
}

export interface GroupSummary {
  readonly n: number;
  /** Rows with no curve once their group was held out. */
  readonly unfitted: number;
  readonly medianAbsPct: number | null;
  readonly p90AbsPct: number | null;
  readonly maxAbsPct: number | null;
}

export function quantileAbs(xs: readonly number[], q: number): number {
  const s = xs.map(Math.abs).sort((a, b) => a - b);
  if (!s.length) return 0;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

export function summarizeGroup(ps: readonly GroupPrediction[]): GroupSummary {
  return summarizeErrs(ps.map((p) => p.errorPct));
}

/** Summary of signed % errors; null entries count as unfitted. */
export function summarizeErrs(all: readonly (number | null)[]): GroupSummary {
  const errs = all.filter((e): e is number => e !== null);
  const ps = all;
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    n: errs.length,
    unfitted: ps.length - errs.length,
    medianAbsPct: errs.length ? r(medianAbs(errs)) : null,
    p90AbsPct: errs.length ? r(quantileAbs(errs, 0.9)) : null,
    maxAbsPct: errs.length ? r(Math.max(...errs.map(Math.abs))) : null,
  };
}

/** Summary line: n, median / p90 / max |error|. */
export function groupLine(what: string, s: GroupSummary): string {
  const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}%`);
  const unf = s.unfitted ? ` (+${s.unfitted} with nothing left to fit from)` : '';
  return `${what}: n=${s.n} median |err| ${pct(s.medianAbsPct)}, p90 ${pct(s.p90AbsPct)}, max ${pct(s.maxAbsPct)}${unf}`;
}

/**
 * The kernel model's generalization report for one GPU type's rows: per axis, the held-out groups
 * split into interpolation and extrapolation; then all held-out configurations and the
 * interpolation tests (hash quarter and groups inside the fitted range) against the targets.
 */
export function kernelGroupReport(obs: readonly KernelObservation[], gpu: string, axes: readonly HoldoutAxis[] = ['heads', 'seqlen', 'family']): string[] {
  const sel = (o: KernelObservation) => o.gpu === gpu;
  // An axis with one value among these rows cannot be held out against anything: reported, not pooled.
  const single = axes.filter((a) => new Set(obs.filter(sel).map((o) => axisValue(o, a))).size < 2);
  const lgo = leaveGroupOut(obs, axes.filter((a) => !single.includes(a)), sel);
  const hash = hashHoldout(obs, sel);
  const lines: string[] = [`kernel model on ${gpu} rows, whole configurations held out (refitted without them):`];
  for (const axis of axes) {
    const name = axis === 'seqlen' ? 'S range' : axis;
    if (single.includes(axis)) {
      lines.push(`  leave one ${name} out: every row has ${name} ${axisValue(obs.find(sel)!, axis)}, nothing to hold out against`);
      continue;
    }
    const a = lgo.filter((p) => p.axis === axis);
    const groups = [...new Set(a.map((p) => p.group))];
    lines.push(`  leave one ${name} out (${groups.length} group(s): ${groups.join(', ')})`);
    for (const ex of [false, true]) {
      const s = a.filter((p) => p.extrapolation === ex);
      if (s.length) lines.push(`    ${groupLine(ex ? 'extrapolation' : 'interpolation', summarizeGroup(s))}`);
    }
  }
  lines.push(`  ${groupLine('all held-out configurations', summarizeGroup(lgo))} (targets: median <= 10%, p90 <= 25%, max <= 50%)`);
  lines.push(`  ${groupLine('  of which extrapolation', summarizeGroup(lgo.filter((p) => p.extrapolation)))}`);
  const interp = [...hash, ...lgo.filter((p) => !p.extrapolation)];
  lines.push(`  ${groupLine('interpolation (hash quarter + groups inside the fitted range)', summarizeGroup(interp))} (target: median <= 5%)`);
  lines.push(`    ${groupLine('hash quarter alone', summarizeGroup(hash))}`);
  const fit = inSample(obs, sel);
  const over = (x: number) => fit.filter((p) => p.errorPct !== null && Math.abs(p.errorPct) > x).length;
  lines.push(`  ${groupLine('in-sample (every row fitted, itself included: a floor for the figures above)', summarizeGroup(fit))}; rows off by > 25%: ${over(25)}, > 50%: ${over(50)}`);
  lines.push(...worstLines(lgo, fit));
  lines.push(...hostTimeLines(calibrate(obs, {}, () => true), obs, gpu));
  return lines;
}

/**
 * The WORST_ROWS held-out predictions with the largest |error| (one line per row and hold-out),
 * each with its in-sample error: a row that is off in-sample too is beyond the model's form, one
 * that is not is off for lack of similar rows in the fit.
 */
export function worstLines(lgo: readonly GroupPrediction[], fit: readonly GroupPrediction[], n = WORST_ROWS): string[] {
  const own = new Map(fit.map((p) => [p.obs.id, p.errorPct]));
  const worst = lgo.filter((p) => p.errorPct !== null).sort((a, b) => Math.abs(b.errorPct!) - Math.abs(a.errorPct!)).slice(0, n);
  if (!worst.length) return [];
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
  const ms = (x: number) => x.toPrecision(3);
  const out = [`  worst ${worst.length} held-out predictions (kernel@path family S heads direction: measured -> predicted ms; held out; error in-sample; the row's p20-p80 spread):`];
  for (const p of worst) {
    const o = p.obs;
    const f = own.get(o.id);
    const name = p.axis === 'seqlen' ? 'S range' : p.axis;
    out.push(
      `    ${sign(p.errorPct!).padStart(8)}  ${o.kernel} ${o.family} ${seqlenLabel(o.seqlen)} ${o.headsQ}:${o.headsKv} ${o.call.direction}: ${ms(o.ms)} -> ${ms(p.predictedMs!)}; ${name} ${p.group} (${p.extrapolation ? 'extrapolation' : 'interpolation'}); in-sample ${f === null || f === undefined ? '-' : sign(f)}${o.spreadPct === undefined ? '' : `; spread ${o.spreadPct.toFixed(1)}%`}`,
    );
  }
  return out;
}

function seqlenLabel(s: number): string {
  return s % 1024 === 0 ? `${s / 1024}k` : String(s);
}
