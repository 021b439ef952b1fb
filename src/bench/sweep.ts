// Sweep expansion (pure): a sweep spec -> the list of kernel cases, each with a stable id.
import type { Direction } from '../results/schema.js';
import type { FamilyId, KernelId } from '../ids.js';
import { getKernel } from '../kernels/registry.js';
import { caseId as resultCaseId, hash64 } from '../results/case-id.js';
import type { KernelCase } from '../kernels/case.js';

export interface KernelSweep {
  readonly suite: KernelCase['suite'];
  readonly kernels: readonly KernelId[];
  readonly families: readonly FamilyId[];
  readonly seqlens: readonly number[];
  readonly directions: readonly Direction[];
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: KernelCase['dtype'];
  readonly seed: number;
  /** Parameter grid: every combination is a separate case (e.g. sparsity x block size). */
  readonly paramGrid?: Readonly<Record<string, readonly (number | string)[]>>;
  /** Fixed parameters per family. */
  readonly params?: Readonly<Record<string, Readonly<Record<string, number | string>>>>;
  readonly warmup: number;
  readonly iters: number;
  readonly checkUpTo: number;
  readonly batch?: number;
}

export { hash64 };

/** Id of a kernel case: the one case-id grammar (src/results/case-id.ts). */
export function caseId(c: Omit<KernelCase, 'id'>): string {
  return resultCaseId({ ...c, executor: getKernel(c.kernel).executor, scheme: null, world: 1, layout: null });
}

function grid(g: Readonly<Record<string, readonly (number | string)[]>> | undefined): Record<string, number | string>[] {
  let out: Record<string, number | string>[] = [{}];
  for (const [k, values] of Object.entries(g ?? {})) out = out.flatMap((p) => values.map((v) => ({ ...p, [k]: v })));
  return out;
}

export function expandSweep(s: KernelSweep): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const family of s.families)
    for (const params of grid(s.paramGrid))
      for (const seqlen of s.seqlens)
        for (const kernel of s.kernels)
          for (const direction of s.directions) {
            const c = {
              suite: s.suite,
              kernel,
              family,
              maskParams: { ...(s.params?.[family] ?? {}), ...params },
              seed: s.seed,
              seqlen,
              batch: s.batch ?? 1,
              headsQ: s.headsQ,
              headsKv: s.headsKv,
              headDim: s.headDim,
              dtype: s.dtype,
              direction,
              warmup: s.warmup,
              iters: s.iters,
              checkUpTo: s.checkUpTo,
            };
            cases.push({ ...c, id: caseId(c) });
          }
  return cases;
}
