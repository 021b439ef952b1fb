// GPU CP runs plan with the calibrated cost (src/sim/cp-plan-cost.ts): dispatch's form on a torch run
// is chosen by the same flex@cp curves as `sim run --kernel flex@cp`, not by the generic model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCp, sharedMask } from '../../cp/plan/index.js';
import { planJob, shapeOf, type CpCaseSpec } from '../../cp/torch/jobs.js';
import type { Plan } from '../../cp/types.js';
import { AttnbenchError } from '../../errors.js';
import { generateMask } from '../../mask/families/index.js';
import { calibratedCpCost } from '../../sim/cp-plan-cost.js';
import { loadCalibration, SHIPPED_CALIBRATION } from '../../sim/io.js';
import { planCostOf } from './cp-torch.js';

const spec = (family: string, world: number, kernel?: CpCaseSpec['kernel']): CpCaseSpec => ({
  scheme: 'dispatch', family, world, seqlen: 8192 * world, headsQ: 64, headsKv: 8, headDim: 128, dtype: 'bfloat16', kernel,
});

describe('the plan cost of GPU CP runs', () => {
  const { calibration } = loadCalibration(SHIPPED_CALIBRATION);

  it('takes the CP kernel\'s <kernel>@cp curve from the shipped calibration, and none for a kernel without curves', () => {
    expect(calibration).not.toBeNull();
    expect(calibratedCpCost(calibration!, 'flex')?.curve).toBe('h100 flex@cp');
    expect(calibratedCpCost(calibration!, 'no_such_kernel')).toBeNull();
  });

  it("cuda runs of flex plan dispatch with it; 'auto' is triton_ranges (its triton_ranges@cp curve, as --kernel triton_ranges), flex where triton_ranges' limits refuse the shape; the reference and CPU devices keep the generic model", () => {
    const onCuda = planCostOf(undefined, 'cuda');
    expect(onCuda(spec('causal_document', 4, 'flex'))).toBeTypeOf('function');
    expect(onCuda(spec('causal_document', 4, 'flex'))).toBe(onCuda(spec('causal_document', 8, 'flex'))); // one model per kernel and dtype
    expect(calibratedCpCost(calibration!, 'triton_ranges')?.curve).toBe('h100 triton_ranges@cp');
    const triton = onCuda(spec('causal_document', 4, 'triton_ranges'));
    expect(triton).toBeTypeOf('function');
    expect(triton).not.toBe(onCuda(spec('causal_document', 4, 'flex')));
    expect(onCuda(spec('causal_document', 4))).toBe(triton); // auto = triton_ranges
    expect(onCuda(spec('causal_document', 4, 'auto'))).toBe(triton);
    expect(onCuda({ ...spec('causal_document', 4, 'auto'), headDim: 100 })).toBe(onCuda(spec('causal_document', 4, 'flex'))); // auto = flex here
    expect(onCuda(spec('causal_document', 4, 'reference'))).toBeUndefined();
    expect(planCostOf(undefined, 'cpu')(spec('causal_document', 4))).toBeUndefined();
  });

  it('the planned job is the plan dispatch chooses with that cost, and the cost is consulted', () => {
    for (const [family, world] of [['causal_document', 4], ['full_document', 8]] as const) {
      const s = spec(family, world);
      const flexCp = calibratedCpCost(calibration!, 'flex')!.cost;
      let calls = 0;
      const job = planJob(s, (p: Plan, d) => (calls++, flexCp(p, d)));
      expect(calls).toBeGreaterThan(0);
      const mask = sharedMask(generateMask(family, s.seqlen, { seed: 0 }));
      expect(job.plan.layout).toEqual(planCp('dispatch', mask, world, {}, shapeOf(s), { cost: flexCp }).layout);
    }
  });

  it('a --calibration that is not a calibration is one clear error (exit 2), before anything is planned', () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-cal-')), 'cal.json');
    fs.writeFileSync(bad, '{"curves": 3}\n');
    try {
      planCostOf(bad, 'cuda');
      expect.unreachable('a bad calibration must be refused');
    } catch (e) {
      expect(e).toBeInstanceOf(AttnbenchError);
      expect((e as AttnbenchError).exit).toBe(2);
    }
  });
});
