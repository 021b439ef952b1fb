// Result rows of in-process CP runs: the case key of a request, and the rows of failed runs. Rows
// are built by the one builder (src/results/build.ts).
import { maskArea } from '../../mask/slices.js';
import { buildRow } from '../../results/build.js';
import { caseId, cpKernelOf, type CaseKey } from '../../results/case-id.js';
import type { Direction, Environment, ResultRow } from '../../results/schema.js';
import type { CpRunner, CpRunRequest } from './types.js';

export type { CpRunner };

type CaseOf = Pick<CpRunRequest, 'plan' | 'family' | 'maskParams' | 'seed' | 'torch'>;

/** The case key of a request (a torch part's dtype overrides the runner's; a runner without a kernel
 * of its own runs the request's, resolved for its device as the row will record it: cpKernelOf). */
export function cpCaseKey(runner: CpRunner, req: CaseOf, direction: Direction): CaseKey {
  const p = req.plan;
  return {
    suite: 'cp',
    executor: runner.id,
    kernel: runner.kernel ?? cpKernelOf(req.torch?.kernel, runner.device, { ...p.shape, dtype: req.torch?.dtype ?? runner.dtype }),
    scheme: p.scheme,
    family: req.family,
    maskParams: req.maskParams,
    seed: req.seed,
    seqlen: p.seqlen,
    batch: 1,
    headsQ: p.shape.headsQ,
    headsKv: p.shape.headsKv,
    headDim: p.shape.headDim,
    dtype: req.torch?.dtype ?? runner.dtype,
    direction,
    world: p.world,
    layout: p.layout,
    launch: runner.launch,
    device: runner.device,
  };
}

/** Stable id of a CP case and direction (the one grammar, src/results/case-id.ts). */
export function cpCaseId(runner: CpRunner, req: CaseOf, direction: Direction): string {
  return caseId(cpCaseKey(runner, req, direction));
}

/** The directions a request measures (both unless its torch part says otherwise). */
export const cpDirections = (req: Pick<CpRunRequest, 'torch'>): readonly Direction[] => req.torch?.directions ?? ['fwd', 'bwd'];

/** The row of a case whose run failed (status error / timeout). */
export function cpFailedRow(
  runner: CpRunner,
  req: CpRunRequest,
  direction: Direction,
  status: 'error' | 'timeout',
  message: string,
  env: Environment,
): ResultRow {
  return buildRow(cpCaseKey(runner, req, direction), maskArea(req.mask), { status, message, times: null, memory: null, error: null, ranks: null }, env);
}
