// Typed ids, parsed at the edge. Every id type derives from its read-only registry array (kernels,
// mask families, CP schemes, executors, dtypes); a CLI flag or an ingested row is turned into these
// types here, once, and an unknown id is bad input (exit 2) naming the known ones. Inside, code
// trusts the types. Adding a registry entry stays one line in that registry.
import { SCHEME_IDS, CP_EXECUTOR_IDS, type CpExecutorId, type SchemeId } from './cp/types.js';
import { badInput } from './errors.js';
import { isKernelId, KERNEL_IDS, type KernelId } from './kernels/registry.js';
import { DTYPES, EXECUTOR_IDS, type Dtype, type ExecutorId } from './kernels/types.js';
import { FAMILY_IDS, isFamilyId, type FamilyId } from './mask/families/index.js';

export { CP_EXECUTOR_IDS, DTYPES, EXECUTOR_IDS, FAMILY_IDS, isFamilyId, isKernelId, KERNEL_IDS, SCHEME_IDS };
export type { CpExecutorId, Dtype, ExecutorId, FamilyId, KernelId, SchemeId };

/** Short dtype spellings accepted on the command line. */
const DTYPE_ALIASES: Readonly<Record<string, Dtype>> = { bf16: 'bfloat16', fp16: 'float16', fp32: 'float32' };

/** One id of `known`, or bad input naming `what` (the flag, or `file:line field`) and the known ids. */
export function parseId<T extends string>(known: readonly T[], text: string, what: string): T {
  if ((known as readonly string[]).includes(text)) return text as T;
  throw badInput(`unknown ${what} '${text}': expected one of ${known.join(', ')}`);
}

/**
 * A comma-separated list of ids of `known`; an empty list (`--kernel ''`) is bad input too: it
 * would otherwise read as "the default" and silently run everything.
 */
export function parseIdList<T extends string>(known: readonly T[], text: string, what: string): T[] {
  const parts = text.split(',').map((t) => t.trim());
  if (parts.every((t) => t === '')) throw badInput(`empty ${what}: expected one or more of ${known.join(', ')}`);
  const out: T[] = [];
  for (const t of parts) {
    if (t === '') throw badInput(`empty item in ${what} '${text}'`);
    const id = parseId(known, t, what);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

export const parseKernelId = (s: string, what = '--kernel'): KernelId => parseId(KERNEL_IDS, s, what);
export const parseKernelIds = (s: string, what = '--kernel'): KernelId[] => parseIdList(KERNEL_IDS, s, what);
export const parseFamilyId = (s: string, what = '--family'): FamilyId => parseId(FAMILY_IDS, s, what);
export const parseFamilyIds = (s: string, what = '--family'): FamilyId[] => parseIdList(FAMILY_IDS, s, what);
export const parseSchemeId = (s: string, what = '--scheme'): SchemeId => parseId(SCHEME_IDS, s, what);
export const parseSchemeIds = (s: string, what = '--scheme'): SchemeId[] => parseIdList(SCHEME_IDS, s, what);
export const parseExecutorId = (s: string, what = '--executor'): ExecutorId => parseId(EXECUTOR_IDS, s, what);
export const parseCpExecutorId = (s: string, what = '--executor'): CpExecutorId => parseId(CP_EXECUTOR_IDS, s, what);

/** A dtype, also in its short spelling (bf16, fp16, fp32). */
export function parseDtype(s: string, what = '--dtype'): Dtype {
  return DTYPE_ALIASES[s] ?? parseId(DTYPES, s, what);
}

export const isSchemeId = (s: string): s is SchemeId => (SCHEME_IDS as readonly string[]).includes(s);

/** The one reference kernel id (src/kernels/reference.ts; python kernels/reference.py for CP on torch). */
export const CP_REFERENCE = 'reference' satisfies KernelId;

/** Suffix of the simulator's curves fitted from the CP executor's own partial calls (`flex@cp`). */
export const CP_CURVE_SUFFIX = '@cp';

/** The simulator's kernel model when no calibrated curve covers a case. */
export const SIM_ROOFLINE = 'roofline';

/**
 * The `kernel` value a result row may carry: a kernel id (`reference` included), or a simulator curve
 * `<id>@cp`. Returns an error message, or null when valid.
 */
export function rowKernelProblem(kernel: string): string | null {
  const base = kernel.endsWith(CP_CURVE_SUFFIX) ? kernel.slice(0, -CP_CURVE_SUFFIX.length) : kernel;
  if (isKernelId(base) || kernel === SIM_ROOFLINE) return null;
  return `unknown kernel '${kernel}': expected a kernel id (${KERNEL_IDS.join(', ')}), <id>${CP_CURVE_SUFFIX} or ${SIM_ROOFLINE} (an external kernel: pass its --kernel-module)`;
}

/** A simulator curve name as given to `sim run --kernel`: a kernel id, optionally with `@cp`. */
export function parseCurveKernel(s: string, what = '--kernel'): string {
  const p = rowKernelProblem(s);
  if (p) throw badInput(`${what}: ${p}`);
  return s;
}
