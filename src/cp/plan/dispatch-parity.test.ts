// Issue 14's target on dense masks: "on full and causal dispatch is no worse than today's best
// scheme" (simulated, paper-cp preset). dispatch's cost choice (dispatch-pattern.ts) takes the
// shortest training step (slowest rank's forward + backward) among its own plan, four borrowed
// plans and their pairs, so under the model it plans with it must match or beat every scheme's
// step at every world size. This runs the preset exactly (8k tokens per GPU, 64:8 heads, d = 128,
// bf16, default layouts as `sim run` gives them) with the shipped calibration's H100 flex curves
// (`sim run --preset paper-cp --gpu h100 --kernel flex`), at the preset's world sizes up to 128
// (P = 256-1024 take minutes and GBs to plan every scheme: docs/cp.md has those rows).
// Per direction the target is not met everywhere (docs/cp.md, "Full and causal per direction"):
// the schemes that win the forward and the backward differ and a plan running one's forward and
// the other's backward pays the re-creation of the head shards, so only the step is asserted.
import { describe, expect, it } from 'vitest';
import { paperCp } from '../../config/cp-presets.js';
import { generateMask } from '../../mask/families/index.js';
import { resolveCluster } from '../../sim/hardware.js';
import { loadCalibration, SHIPPED_CALIBRATION } from '../../sim/io.js';
import { calibratedGpus, makeKernelModel } from '../../sim/kernel-model.js';
import { defaultLayout } from '../../sim/project.js';
import { AttnbenchError } from '../../errors.js';
import type { CpShape, PlanCost } from '../types.js';
import { planCp, sharedMask } from './index.js';
import { simPlanCost, stepCost } from './plan-cost.js';

const study = paperCp();
const SHAPE: CpShape = { headsQ: study.headsQ, headsKv: study.headsKv, headDim: study.headDim, dtypeBytes: 2 };
const WORLDS = study.projectedWorlds.filter((p) => p <= 128);

/** The simulator's plan cost on `gpu` with `kernel`'s curves from the shipped calibration (as `sim run --gpu <gpu> --kernel <kernel>`). */
function curveCost(gpu: string, kernel: string): PlanCost {
  const { calibration } = loadCalibration(SHIPPED_CALIBRATION);
  const cluster = resolveCluster(gpu, {}, calibratedGpus(calibration));
  const kernels = makeKernelModel(cluster, calibration, kernel);
  const missing = kernels.missing('fwd', 'bfloat16') ?? kernels.missing('bwd', 'bfloat16');
  if (missing) throw new Error(`the shipped calibration has no ${gpu} ${kernel} curve: ${missing}`);
  return simPlanCost(cluster, kernels, { dtype: study.dtype, overlap: true });
}

/** dispatch's step against every other scheme's (default layouts), all under `cost`. */
function stepsAt(family: string, P: number, cost: PlanCost): { dispatch: number; others: Record<string, number> } {
  const mask = sharedMask(generateMask(family, study.tokensPerGpu * P, { seed: study.seed }));
  const dispatch = stepCost(cost, planCp('dispatch', mask, P, {}, SHAPE, { cost }));
  const others: Record<string, number> = {};
  for (const scheme of study.schemes) {
    if (scheme === 'dispatch') continue;
    try {
      others[scheme] = stepCost(cost, planCp(scheme, mask, P, defaultLayout(scheme, P, SHAPE), SHAPE));
    } catch (e) {
      if (!(e instanceof AttnbenchError)) throw e; // not plannable here (ulysses: 64 heads over 96 ranks)
    }
  }
  return { dispatch, others };
}

const MODELS = [
  // The preset's projection (README CP table) and the CP executor's own flex curves, H100, P = 8-128.
  { gpu: 'h100', kernel: 'flex', worlds: WORLDS },
  { gpu: 'h100', kernel: 'flex@cp', worlds: WORLDS.filter((p) => p <= 96) },
  // The virtual-rank target's GPU and kernel (what `cp run --kernel triton_ranges` plans with), P = 4 and 8.
  { gpu: 'h200', kernel: 'triton_ranges@cp', worlds: [4, 8] },
] as const;

describe.each(MODELS)('dispatch on full and causal, paper-cp ($gpu $kernel curves): no scheme has a shorter step', ({ gpu, kernel, worlds }) => {
  const cases = (['full', 'causal'] as const).flatMap((family) => worlds.map((P) => [family, P] as const));
  it.each(cases)(
    '%s, P = %i',
    (family, P) => {
      const { dispatch, others } = stepsAt(family, P, curveCost(gpu, kernel));
      expect(Object.keys(others).length).toBeGreaterThanOrEqual(4);
      const best = Math.min(...Object.values(others));
      expect(dispatch, JSON.stringify(others)).toBeLessThanOrEqual(best * (1 + 1e-12));
    },
    180_000,
  );
});
