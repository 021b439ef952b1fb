// The cost a planner minimises when it chooses among its own forms (issue 14): the slowest rank's
// compute + communication as the simulator models it, summed over the forward and the backward
// (one training step). A caller with a calibrated model (`attnbench sim run`) passes it
// (`PlanOptions.cost`, `simPlanCost`); without one the planner uses `defaultPlanCost`: the same
// simulator (per-rank programs, NVLink / InfiniBand links, launches, tiles) on the default H100
// cluster with a generic tiled-kernel model, which needs no calibration:
//   - a launch costs 0.05 ms, and a program's blocks at 45% (forward) / 40% (backward) of the
//     dtype's dense peak, partial blocks 2x (forward) / 3x (backward) a full one, empty blocks
//     skipped; 2 programs per SM (kernel-model.ts charges the waves and the heaviest program).
// Pure and deterministic: the same plans give the same costs.
import type { Direction } from '../../results/schema.js';
import { resolveCluster, type Cluster } from '../../sim/hardware.js';
import { curveMs, type KernelCall, type KernelCurve, type KernelModel } from '../../sim/kernel-model.js';
import { gbpsToBytesPerMs } from '../../sim/network.js';
import { PairsCache, simulatePlan } from '../../sim/simulate.js';
import type { Plan, PlanCost } from '../types.js';

/** The simulated slowest rank's time (ms) of `plan` in `direction` on `cluster` with `kernels`. */
export function simPlanCost(cluster: Cluster, kernels: KernelModel, opts: { readonly dtype?: string; readonly overlap?: boolean } = {}): PlanCost {
  const cache = new PairsCache(); // step masks by content: candidates and directions share most
  // A rank's messages between nodes cross its one NIC (network.ts nicOf), each link direction at
  // most at its bandwidth x efficiency: no flow is faster.
  const ibBytesPerMs = gbpsToBytesPerMs(cluster.ib.bandwidthGBps * cluster.ib.efficiency);
  return Object.assign((plan: Plan, direction: Direction) => simulatePlan(plan, cluster, kernels, { direction, ...opts }, cache).makespanMs, { ibBytesPerMs });
}

const GENERIC = {
  fwd: { launchMs: 0.05, efficiency: 0.45, partial: 2 },
  bwd: { launchMs: 0.05, efficiency: 0.4, partial: 3 },
} as const;

/** The generic tiled-kernel model of the header (no calibration). */
export function genericKernelModel(cluster: Cluster): KernelModel {
  const memMs = (bytes: number) => bytes / (cluster.gpuSpec.memBandwidthGBps * 1e6 * cluster.memEfficiency);
  const curves = new Map<string, KernelCurve>();
  const curve = (direction: Direction, dtype: string): KernelCurve => {
    const key = `${direction}|${dtype}`;
    let c = curves.get(key);
    if (!c) {
      const g = GENERIC[direction];
      const peak = cluster.gpuSpec.peakTflops[dtype] ?? cluster.gpuSpec.peakTflops.bfloat16 ?? 989;
      const full = 1e3 / (peak * g.efficiency); // ms per TFLOP of whole-GPU work
      c = {
        gpu: cluster.gpu, kernel: 'generic', direction, dtype, slots: 2 * cluster.gpuSpec.sms,
        c0Ms: g.launchMs, msPerProgram: 0, msPerTflopFull: full, msPerTflopPartial: g.partial * full, msPerTflopEmpty: 0,
        assumed: ['generic tiled kernel (plan-cost.ts)'], fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null,
        seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
      };
      curves.set(key, c);
    }
    return c;
  };
  return {
    kernel: 'generic',
    predict: (call: KernelCall) => ({ ms: curveMs(curve(call.direction, call.dtype), call, memMs(call.bytes)), fallback: false }),
    describe: () => `${cluster.gpu} generic tiled kernel (plan-cost.ts)`,
    missing: () => null,
  };
}

/** The planner's cost without a caller's model: the default H100 cluster, nodes of `node`, generic kernels. */
export function defaultPlanCost(node: number): PlanCost {
  const cluster = resolveCluster('h100', { gpusPerNode: node });
  return simPlanCost(cluster, genericKernelModel(cluster));
}

/** `c` remembering each (plan object, direction) it was asked (a planner asks again while it compares). */
export function memoCost(c: PlanCost): PlanCost {
  const seen = new WeakMap<Plan, { fwd?: number; bwd?: number }>();
  const memo = (plan: Plan, direction: Direction) => {
    let m = seen.get(plan);
    if (!m) seen.set(plan, (m = {}));
    return (m[direction] ??= c(plan, direction));
  };
  return c.ibBytesPerMs === undefined ? memo : Object.assign(memo, { ibBytesPerMs: c.ibBytesPerMs });
}

/** One training step: forward + backward of the slowest rank. */
export function stepCost(cost: PlanCost, plan: Plan): number {
  return cost(plan, 'fwd') + cost(plan, 'bwd');
}
