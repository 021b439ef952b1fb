// Sweep expansion (pure): a sweep spec -> the list of kernel cases, each with a stable id.
import type { Direction } from '../results/schema.js';
import type { FamilyId, KernelId } from '../ids.js';
import type { KernelCase } from './types.js';

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

/** FNV-1a 64-bit of a string, as 16 hex digits: stable case ids on every machine. */
export function hash64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

/** Id of a case from every field that changes what is measured (not timing policy). */
export function caseId(c: Omit<KernelCase, 'id'>): string {
  const key = [
    c.suite,
    c.kernel,
    c.family,
    JSON.stringify(Object.entries(c.maskParams).sort(([a], [b]) => a.localeCompare(b))),
    c.seed,
    c.seqlen,
    c.batch,
    c.headsQ,
    c.headsKv,
    c.headDim,
    c.dtype,
    c.direction,
  ].join('|');
  return `${c.kernel}/${c.family}/${c.seqlen}/${c.direction}/${hash64(key).slice(0, 10)}`;
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
