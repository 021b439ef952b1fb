// CP cases for the GPU executor: (scheme x family x world) -> generated mask -> plan -> CpJob.
// Pure apart from mask generation's document-length files; no torch, no processes. A planned case
// is runCp's run request with its torch part (torchRequest) and back (torchJob).
import { generateMask } from '../../mask/families/index.js';
import { AttnbenchError } from '../../errors.js';
import { planCp, schemeDef, sharedMask } from '../plan/index.js';
import type { CpLayout, CpShape, PlanCost } from '../types.js';
import type { CpRunRequest } from '../exec/types.js';
import type { CpCaseMeta, CpDtype, CpJob, CpKernel } from './manifest.js';

export const DTYPE_BYTES: Readonly<Record<CpDtype, number>> = { bfloat16: 2, float16: 2, float32: 4 };

export interface CpCaseSpec {
  readonly scheme: string;
  readonly family: string;
  readonly world: number;
  readonly seqlen: number;
  /** Scheme layout; empty = the planner's defaults (a valid layout is tried when they fail). */
  readonly layout?: CpLayout;
  readonly params?: Readonly<Record<string, number | string>>;
  readonly seed?: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: CpDtype;
  readonly kernel?: CpKernel;
  readonly warmup?: number;
  readonly iters?: number;
  readonly checkUpTo?: number;
  readonly docLens?: string;
  readonly gitRev?: string | null;
}

export function shapeOf(s: Pick<CpCaseSpec, 'headsQ' | 'headsKv' | 'headDim' | 'dtype'>): CpShape {
  return { headsQ: s.headsQ, headsKv: s.headsKv, headDim: s.headDim, dtypeBytes: DTYPE_BYTES[s.dtype] };
}

/** Plans one case. With no layout given, falls back to the scheme's first valid layout (e.g.
 * ulysses above the KV heads replicates K/V) when the defaults are rejected. `cost`: the model a
 * planner that chooses its form by cost (dispatch) minimises; none: its generic one (plan-cost.ts). */
export function planJob(spec: CpCaseSpec, cost?: PlanCost): CpJob {
  const gm = generateMask(spec.family, spec.seqlen, { seed: spec.seed ?? 0, params: spec.params, docLens: spec.docLens });
  const mask = sharedMask(gm);
  const shape = shapeOf(spec);
  let plan;
  try {
    plan = planCp(spec.scheme, mask, spec.world, spec.layout ?? {}, shape, cost ? { cost } : undefined);
  } catch (e) {
    const alt = spec.layout && Object.keys(spec.layout).length ? [] : schemeDef(spec.scheme).layouts(spec.world, shape);
    if (!(e instanceof AttnbenchError) || alt.length === 0) throw e;
    plan = planCp(spec.scheme, mask, spec.world, alt[0], shape, cost ? { cost } : undefined);
  }
  const meta: CpCaseMeta = {
    family: gm.family,
    maskParams: gm.params,
    seed: gm.seed,
    dtype: spec.dtype,
    kernel: spec.kernel ?? 'auto',
    warmup: spec.warmup ?? 5,
    iters: spec.iters ?? 20,
    checkUpTo: spec.checkUpTo ?? 64 * 1024,
    gitRev: spec.gitRev ?? null,
  };
  return { plan, mask, meta };
}

/** The run request of a planned case (runCp's unit): its meta beyond the mask's identity is the torch part. */
export function torchRequest(job: CpJob): CpRunRequest {
  const { family, maskParams, seed, ...torch } = job.meta;
  return { plan: job.plan, mask: job.mask, family, maskParams, seed, check: torch.checkUpTo >= job.plan.seqlen, torch };
}

/** The planned case of a run request (the torch executor writes its manifest). */
export function torchJob(req: CpRunRequest): CpJob {
  if (!req.torch) throw new AttnbenchError('internal', `the torch executor got a ${req.plan.scheme} case without its torch part (plan it with src/cp/torch planJob)`);
  return { plan: req.plan, mask: req.mask, meta: { ...req.torch, family: req.family, maskParams: req.maskParams, seed: req.seed } };
}
