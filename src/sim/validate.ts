// Validation of whole-plan simulation against measured context-parallel rows: re-plan each
// measured case exactly as it ran, simulate it, and compare the iteration time.
// Multi-GPU rows use the network model and compare the iteration time (slowest rank). Rows from
// "virtual ranks" (every rank of the plan in one process on one GPU; the CP executor records a
// rank's time as the sum of its compute steps, layout.virtualRanks = P) compare the slowest rank's
// simulated compute time, with communication switched off.
import { AttnbenchError } from '../cli/errors.js';
import type { CpLayout, CpShape, Plan } from '../cp/types.js';
import type { GeneratedMask, Mask } from '../mask/types.js';
import type { ResultRow } from '../results/schema.js';
import { normalizeGpu, type Cluster } from './hardware.js';
import type { KernelModel } from './kernel-model.js';
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
}

export function isCpMeasurement(r: ResultRow): boolean {
  return r.suite === 'cp' && !r.simulated && r.executor !== 'sim' && r.executor !== 'cpu' && r.status === 'ok' && r.world > 1 && r.times !== null && r.env.gpu !== null;
}

/** Rows measured with every rank on one GPU (no real network). */
export function isVirtualRanks(r: ResultRow): boolean {
  return r.layout?.virtualRanks !== undefined || /virtual/.test(r.executor) || (r.notes ?? []).some((n) => /^virtual ranks/i.test(n));
}

/** The executor's backward ran autograd through each partial call (its forward recomputed); see its notes. */
export function recomputesForward(r: ResultRow): boolean {
  return (r.notes ?? []).some((n) => /recomputes its forward/i.test(n));
}

/** Layout keys the executor adds to a row's layout that are not planner input. */
const EXECUTOR_LAYOUT_KEYS = ['virtualRanks'];

export function validateCp(rows: readonly ResultRow[], deps: CpValidationDeps): { predictions: CpPrediction[]; skipped: { id: string; reason: string }[] } {
  const predictions: CpPrediction[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const r of rows) {
    if (!isCpMeasurement(r)) continue;
    try {
      const g = deps.generate(r.family, r.seqlen, r.seed, r.maskParams);
      if (g.heads.length !== 1) throw new Error('per-head masks');
      const layout: Record<string, number | string> = { ...(r.layout ?? {}) };
      for (const k of EXECUTOR_LAYOUT_KEYS) delete layout[k];
      const shape: CpShape = { headsQ: r.headsQ, headsKv: r.headsKv, headDim: r.headDim, dtypeBytes: r.dtype === 'float32' ? 4 : 2 };
      const plan = deps.plan(r.scheme ?? '', g.heads[0], r.world, layout, shape);
      const cluster = deps.clusterFor(normalizeGpu(r.env.gpu!));
      const virtual = isVirtualRanks(r);
      const sim = simulatePlan(plan, cluster, deps.kernelsFor(cluster, r.kernel), {
        direction: r.direction,
        network: virtual ? 'none' : 'model',
        dtype: r.dtype,
        bwdRecomputesForward: recomputesForward(r),
      });
      const measured = r.times!.medianMs;
      const predicted = virtual ? Math.max(...sim.ranks.map((x) => x.computeMs)) : sim.makespanMs;
      predictions.push({
        row: r,
        virtualRanks: virtual,
        predictedMs: predicted,
        errorPct: ((predicted - measured) / measured) * 100,
        fallback: sim.fallback,
      });
    } catch (e) {
      if (e instanceof AttnbenchError && e.exit !== 2) throw e;
      skipped.push({ id: r.id, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { predictions, skipped };
}
