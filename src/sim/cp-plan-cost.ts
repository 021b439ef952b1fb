// The cost a GPU CP run plans with (issue 14). dispatch chooses its form (steps per direction,
// pattern, how long documents are cut) by the slowest rank's simulated time (cp/plan/plan-cost.ts).
// `attnbench sim run` passes its own model; `cp run --executor torch` and `cp sbatch` pass this one:
// the calibration's curves of the run's CP kernel on the default cluster (nodes of 8), so the forms
// a GPU run measures are the ones the projections chose. Curve preference: `<kernel>@cp` (fitted on
// the CP executor's own calls), else the kernel suite's `<kernel>`; neither: null, and the planner
// keeps its generic model. Pure given the calibration (the file is read at the CLI's edge).
import type { PlanCost } from '../cp/types.js';
import { simPlanCost } from '../cp/plan/plan-cost.js';
import { resolveCluster } from './hardware.js';
import { calibratedGpus, hasCurve, makeKernelModel, type Calibration } from './kernel-model.js';

export interface CalibratedCpCost {
  readonly cost: PlanCost;
  /** The curves it uses, e.g. `h100 flex@cp`. */
  readonly curve: string;
}

/** The plan cost for CP kernel `kernel` (flex, triton_ranges, ...) from `calibration`, or null without a curve. */
export function calibratedCpCost(calibration: Calibration, kernel: string, gpu = 'h100', dtype = 'bfloat16'): CalibratedCpCost | null {
  const cluster = resolveCluster(gpu, {}, calibratedGpus(calibration));
  const curve = [`${kernel}@cp`, kernel].find((k) => hasCurve(calibration, k, cluster.gpu));
  if (!curve) return null;
  const kernels = makeKernelModel(cluster, calibration, curve);
  return { cost: simPlanCost(cluster, kernels, { dtype }), curve: `${cluster.gpu} ${curve}` };
}
