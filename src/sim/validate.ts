// Validation of whole-plan simulation against measured context-parallel rows: re-plan each
// measured case exactly as it ran, simulate it, and compare the iteration time.
// Multi-GPU rows use the network model and compare the iteration time (slowest rank). Rows from
// "virtual ranks" (every rank of the plan in one process on one GPU; the CP executor records a
// rank's time as the sum of its compute steps, layout.virtualRanks = P) compare the slowest rank's
// simulated compute time, with communication switched off.
import { AttnbenchError } from '../errors.js';
import type { CpLayout, CpShape, Plan, Step } from '../cp/types.js';
import type { GeneratedMask, Mask } from '../mask/types.js';
import { isVirtualRanks } from '../results/rows.js';
import type { ResultRow } from '../results/schema.js';
import { formatTokens } from '../util/parse.js';
import { normalizeGpu, type Cluster } from './hardware.js';
import { calibrate, isHeldOut, type KernelObservation } from './calibrate.js';
import { hasCurve, kernelCall, makeKernelModel, type Calibration, type KernelModel } from './kernel-model.js';
import { groupLine, summarizeErrs } from './holdout.js';
import { tileProfile } from './tiles.js';
import { simulatePlan } from './simulate.js';

export interface CpValidationDeps {
  readonly plan: (scheme: string, mask: Mask, world: number, layout: CpLayout, shape: CpShape) => Plan;
  readonly generate: (family: string, seqlen: number, seed: number, params: Readonly<Record<string, number | string>>) => GeneratedMask;
  readonly clusterFor: (gpu: string) => Cluster;
  readonly kernelsFor: (cluster: Cluster, kernel: string | null) => KernelModel;
}

export interface CpPrediction {
  readonly row: ResultRow;
  readonly virtualRanks: boolean;
  readonly predictedMs: number;
  readonly errorPct: number;
  readonly fallback: boolean;
  /** The row's id is in the calibration's held-out quarter (its calls were not fitted). */
  readonly heldOut: boolean;
  /** Virtual-rank rows: each recorded rank's measured time and its simulated compute time. */
  readonly ranks?: readonly { readonly rank: number; readonly measuredMs: number; readonly predictedMs: number }[];
}

export function isCpMeasurement(r: ResultRow): boolean {
  return r.suite === 'cp' && !r.simulated && r.executor !== 'sim' && r.executor !== 'cpu' && r.status === 'ok' && r.world > 1 && r.times !== null && r.env.gpu !== null;
}

/** The executor's backward ran autograd through each partial call (its forward recomputed); see its notes. */
export function recomputesForward(r: ResultRow): boolean {
  return (r.notes ?? []).some((n) => /recomputes its forward/i.test(n));
}

/**
 * Layout keys in a row's layout that are not planner input: what the executor adds (virtualRanks), and
 * what older planners recorded of their outcome (dispatch's achieved `imbalance`, rows before 2026-12-03).
 */
const EXECUTOR_LAYOUT_KEYS = ['virtualRanks', 'imbalance'];

/** The plan a measured CP row ran, rebuilt from its family, seed, params and recorded layout. */
export function planOfRow(r: ResultRow, deps: Pick<CpValidationDeps, 'plan' | 'generate'>): Plan {
  const g = deps.generate(r.family, r.seqlen, r.seed, r.maskParams);
  if (g.heads.length !== 1) throw new Error('per-head masks');
  const layout: Record<string, number | string> = { ...(r.layout ?? {}) };
  for (const k of EXECUTOR_LAYOUT_KEYS) delete layout[k];
  const shape: CpShape = { headsQ: r.headsQ, headsKv: r.headsKv, headDim: r.headDim, dtypeBytes: r.dtype === 'float32' ? 4 : 2 };
  return deps.plan(r.scheme ?? '', g.heads[0], r.world, layout, shape);
}

/** Curves of the CP executor's own partial calls are filed under this suffix of the kernel id. */
export const CP_PATH = '@cp';

/** A kernel model that costs attention calls nothing: what is left of a rank's time is its elementwise steps. */
const NO_ATTENTION: KernelModel = { kernel: 'none', predict: () => ({ ms: 0, fallback: false }), describe: () => 'attention not counted', missing: () => null };

/**
 * Observations of the CP executor's partial-attention calls, from virtual-rank rows (every rank's
 * time recorded): each rank whose phase holds exactly one attention step gives one, its time less
 * its simulated elementwise steps (merges, copies). Filed as kernel `<kernel>@cp`: the executor
 * calls the kernel differently from the kernel suite (return_lse, a slice of the heads, its own
 * block masks, and for flex a backward that recomputes the partial forward), and the simulator
 * uses these curves for its CP plans when they exist. Held out with the row (by the row's id).
 */
export function cpObservations(rows: readonly ResultRow[], deps: Pick<CpValidationDeps, 'plan' | 'generate' | 'clusterFor'>): { observations: KernelObservation[]; skipped: { id: string; reason: string }[] } {
  const observations: KernelObservation[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const r of rows) {
    if (!isCpMeasurement(r) || !isVirtualRanks(r) || !r.kernel || !r.ranks?.length) continue;
    let plan: Plan;
    try {
      plan = planOfRow(r, deps);
    } catch (e) {
      if (e instanceof AttnbenchError && e.exit !== 2) throw e;
      skipped.push({ id: r.id, reason: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const gpu = normalizeGpu(r.env.gpu!);
    const other = simulatePlan(plan, deps.clusterFor(gpu), NO_ATTENTION, { direction: r.direction, network: 'none', dtype: r.dtype });
    const phase = r.direction === 'fwd' ? 'forward' : 'backward';
    for (const rk of r.ranks) {
      const steps = plan.ranks[rk.rank]?.[phase] ?? [];
      const attn = steps.filter((s) => s.kind === 'attn' || s.kind === 'attn_bwd');
      if (attn.length !== 1) continue;
      const s = attn[0] as Extract<Step, { kind: 'attn' | 'attn_bwd' }>;
      const ms = rk.ms - other.ranks[rk.rank].computeMs;
      if (!(ms > 0)) continue;
      observations.push({
        id: `${r.id}#rank${rk.rank}`,
        gpu,
        kernel: `${r.kernel}${CP_PATH}`,
        family: r.family,
        seqlen: r.seqlen,
        headsQ: s.heads.end - s.heads.start,
        headsKv: r.headsKv,
        world: r.world,
        call: kernelCall(
          tileProfile([{ mask: s.mask, weight: 1 }]),
          s.heads.end - s.heads.start,
          r.headDim,
          r.direction,
          r.dtype,
          s.flops,
          Math.max(1, Math.ceil(((s.heads.end - s.heads.start) * r.headsKv) / r.headsQ)),
        ),
        ms,
        heldOut: isHeldOut(r.id),
      });
    }
  }
  return { observations, skipped };
}

export function validateCp(rows: readonly ResultRow[], deps: CpValidationDeps): { predictions: CpPrediction[]; skipped: { id: string; reason: string }[] } {
  const predictions: CpPrediction[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const r of rows) {
    if (!isCpMeasurement(r)) continue;
    try {
      const plan = planOfRow(r, deps);
      const cluster = deps.clusterFor(normalizeGpu(r.env.gpu!));
      const virtual = isVirtualRanks(r);
      const kernels = deps.kernelsFor(cluster, r.kernel);
      const sim = simulatePlan(plan, cluster, kernels, {
        direction: r.direction,
        network: virtual ? 'none' : 'model',
        dtype: r.dtype,
        // A curve of the executor's own calls already holds the recomputed forward.
        bwdRecomputesForward: !kernels.kernel.endsWith(CP_PATH) && recomputesForward(r),
      });
      const measured = r.times!.medianMs;
      const predicted = virtual ? Math.max(...sim.ranks.map((x) => x.computeMs)) : sim.makespanMs;
      predictions.push({
        row: r,
        virtualRanks: virtual,
        predictedMs: predicted,
        errorPct: ((predicted - measured) / measured) * 100,
        fallback: sim.fallback,
        heldOut: isHeldOut(r.id),
        ...(virtual && r.ranks?.length
          ? { ranks: r.ranks.filter((rk) => sim.ranks[rk.rank]).map((rk) => ({ rank: rk.rank, measuredMs: rk.ms, predictedMs: sim.ranks[rk.rank].computeMs })) }
          : {}),
      });
    } catch (e) {
      if (e instanceof AttnbenchError && e.exit !== 2) throw e;
      skipped.push({ id: r.id, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { predictions, skipped };
}

/**
 * CP rows with their world size or their family held out: the kernel curves (the executor's own
 * '<kernel>@cp' calls and the kernel suites') are fitted again without any observation of that P
 * (or family), then those rows are simulated. Virtual-rank rows only (their calls are what the
 * '@cp' curves learn from).
 */
export function cpLeaveGroupOut(
  rows: readonly ResultRow[],
  obs: readonly KernelObservation[],
  deps: Omit<CpValidationDeps, 'kernelsFor'>,
  kernelsFor: (cal: Calibration, cluster: Cluster, kernel: string | null) => KernelModel,
  axis: 'world' | 'family',
): { group: string; predictions: CpPrediction[] }[] {
  const cpRows = rows.filter((r) => isCpMeasurement(r) && isVirtualRanks(r));
  const value = (x: { world: number; family: string }) => (axis === 'world' ? String(x.world) : x.family);
  const out: { group: string; predictions: CpPrediction[] }[] = [];
  for (const v of [...new Set(cpRows.map(value))].sort()) {
    // Kernel-suite rows have world 1: holding out a P removes only CP observations.
    const cal = calibrate(obs, {}, (o) => value(o) !== v);
    const { predictions } = validateCp(
      cpRows.filter((r) => value(r) === v),
      { ...deps, kernelsFor: (cluster, kernel) => kernelsFor(cal, cluster, kernel) },
    );
    out.push({ group: v, predictions });
  }
  return out;
}

/**
 * The kernel model for a CP row's partial calls: the executor's own call curves ('<kernel>@cp')
 * when calibrated, else the kernel suite's curves of that kernel, else the roofline of that kernel
 * (flagged fallback). Never another kernel's curves: a row measured with a kernel that has no curve
 * (triton_ranges) is not predicted with flex's. Rows that name no kernel get the best-covered one.
 */
export function cpKernelModel(calibration: Calibration | null, cluster: Cluster, kernel: string | null): KernelModel {
  const k = [kernel && `${kernel}${CP_PATH}`, kernel].find((x) => x && hasCurve(calibration, x, cluster.gpu));
  return makeKernelModel(cluster, calibration, k || kernel || undefined);
}

/**
 * One line per (GPU, kernel, scheme, direction) of CP predictions: where the model is off by scheme
 * (the rows' own P and tokens per rank are in the per-row table). Rows timed by the roofline are
 * counted apart ("roofline").
 */
export function cpSchemeLines(preds: readonly CpPrediction[]): string[] {
  const groups = new Map<string, number[]>();
  for (const p of preds) {
    const r = p.row;
    const k = `${normalizeGpu(r.env.gpu!)} ${r.kernel ?? '-'}${p.fallback ? ' (roofline)' : ''} ${r.scheme ?? '-'} ${r.direction}`;
    groups.set(k, [...(groups.get(k) ?? []), p.errorPct]);
  }
  return [...groups].sort((a, b) => a[0].localeCompare(b[0])).map(([k, errs]) => groupLine(k, summarizeErrs(errs)));
}

/**
 * One line per (kernel, tokens per rank, direction) of CP predictions (`sim validate`'s held-out groups):
 * ranks with little work per call are where host time can enter a rank's span, so the error is
 * told apart along these first.
 */
export function cpTokensLines(preds: readonly CpPrediction[]): string[] {
  const groups = new Map<string, number[]>();
  for (const p of preds) {
    const k = `${p.row.kernel ?? '-'}, ${formatTokens(p.row.seqlen / p.row.world)} tokens per rank, ${p.row.direction}`;
    groups.set(k, [...(groups.get(k) ?? []), p.errorPct]);
  }
  return [...groups].sort((a, b) => a[0].localeCompare(b[0])).map(([k, errs]) => groupLine(k, summarizeErrs(errs)));
}

/**
 * Per-rank lines of virtual-rank predictions: `rank measured/simulated ms` for every recorded rank,
 * so an error can be told apart as one slow rank (the row's time is its slowest) or all of them.
 */
export function cpRankLines(preds: readonly CpPrediction[]): string[] {
  const f = (x: number) => x.toFixed(2);
  return preds
    .filter((p) => p.ranks?.length)
    .map((p) => {
      const r = p.row;
      const ranks = p.ranks!.map((k) => `${k.rank}:${f(k.measuredMs)}/${f(k.predictedMs)}`).join(' ');
      return `${normalizeGpu(r.env.gpu!)} ${r.kernel ?? '-'} ${r.scheme ?? '-'} ${r.family} S=${r.seqlen} P=${r.world} ${r.direction} (rank measured/simulated ms): ${ranks}`;
    });
}
