// Kernel sweep configuration: presets are typed functions returning whole sweeps; CLI flags
// override their fields. Parsing of flag values happens here (bad values -> exit 2).
import type { KernelSweep } from '../bench/sweep.js';
import type { KernelCase } from '../kernels/case.js';
import { badInput } from '../errors.js';
import { DENSE_FAMILIES, familyParams, getFamily } from '../mask/families/index.js';
import { DIRECTIONS, type Direction } from '../results/schema.js';
import { type ExecutorId, parseDtype, parseExecutorId, parseFamilyIds, parseIdList, parseKernelIds } from '../ids.js';
import { decimalNumber, MAX_ITERS, MAX_SAMPLES, parseHeadDim, parseHeads, parseInteger, parseTokenList, parseTokens, splitList } from '../util/parse.js';
import { KERNEL_PRESETS, presetNames } from './presets.js';
import { MIN_ITERS, MIN_WARMUP } from '../contract/tables.js';

export interface KernelCliOptions {
  executor: string;
  preset?: string;
  listPresets?: boolean;
  kernel?: string;
  family?: string;
  seqlen?: string;
  direction?: string;
  heads?: string;
  headDim?: string;
  dtype?: string;
  param?: string[] | string;
  doclens?: string;
  seed: string;
  samples?: string;
  warmup?: string;
  iters?: string;
  checkUpTo?: string;
  out: string;
  resume?: boolean;
  python?: string;
  progress?: boolean;
  planDir?: string;
  retry?: string;
  jobTimeout?: string;
  ingest?: string;
}

export { parseHeads };

export { parseDtype };

export function parseParams(list: string[] | string | undefined): Record<string, number | string> {
  // No prototype: `--param __proto__=1` is an own key (then an unknown parameter), not a silent no-op.
  const out: Record<string, number | string> = Object.create(null) as Record<string, number | string>;
  for (const item of Array.isArray(list) ? list : list ? [list] : []) {
    for (const kv of splitList(item)) {
      const m = /^([A-Za-z_][\w]*)=(.+)$/.exec(kv);
      if (!m) throw badInput(`invalid --param '${kv}': expected key=value`);
      out[m[1]] = decimalNumber(m[2]) ?? m[2]; // '0x10' stays a string (then refused by an int parameter)
    }
  }
  return out;
}

export function kernelSweepFromOptions(o: KernelCliOptions): { executor: ExecutorId; sweeps: KernelSweep[]; samples: number; listing?: string } {
  if (o.listPresets) {
    const lines = presetNames().map((n) => `${n.padEnd(14)} ${KERNEL_PRESETS[n].description}`);
    return { executor: 'cpu', sweeps: [], samples: 1, listing: `${lines.join('\n')}\n` };
  }
  const presetName = o.preset ?? (o.executor === 'cpu' ? 'cpu' : 'gpu-quick');
  const preset = Object.hasOwn(KERNEL_PRESETS, presetName) ? KERNEL_PRESETS[presetName] : undefined; // not 'toString'
  if (!preset) throw badInput(`unknown preset '${presetName}': expected one of ${presetNames().join(', ')}`);
  // Every id is parsed before anything runs or is written: an unknown one is exit 2.
  const executor = parseExecutorId(o.executor);
  const kernels = o.kernel !== undefined ? parseKernelIds(o.kernel) : undefined;
  const families = o.family !== undefined ? parseFamilyIds(o.family) : undefined;
  const directions = o.direction !== undefined ? parseIdList(DIRECTIONS, o.direction, '--direction') : undefined;
  const base = preset.sweeps(executor);
  const heads = o.heads ? parseHeads(o.heads) : undefined;
  const params = parseParams(o.param);
  const sweeps = base.flatMap((s): KernelSweep[] => {
    // --family replaces a plain sweep's families; a sweep over a parameter grid (the sparse suite)
    // belongs to its own families, so there --family only selects among them.
    const fams = !families ? s.families : s.paramGrid ? s.families.filter((f) => families.includes(f)) : families;
    if (!fams.length) return [];
    return [{
      ...s,
      kernels: kernels ?? s.kernels,
      families: fams,
      seqlens: o.seqlen ? parseTokenList(o.seqlen) : s.seqlens,
      directions: directions ?? s.directions,
      headsQ: heads?.headsQ ?? s.headsQ,
      headsKv: heads?.headsKv ?? s.headsKv,
      headDim: o.headDim ? parseHeadDim(o.headDim) : s.headDim,
      dtype: o.dtype ? parseDtype(o.dtype) : s.dtype,
      seed: parseInteger(o.seed, '--seed', 0),
      // --param goes to the families that have that parameter (window= to the window families...)
      params: Object.keys(params).length
        ? Object.fromEntries(fams.map((f) => [f, { ...(s.params?.[f] ?? {}), ...familyParams(f, params) }]))
        : s.params,
      warmup: o.warmup ? parseInteger(o.warmup, '--warmup', 0, MAX_ITERS) : s.warmup,
      iters: o.iters ? parseInteger(o.iters, '--iters', 1, MAX_ITERS) : s.iters,
      checkUpTo: o.checkUpTo ? parseTokens(o.checkUpTo, '--check-up-to') : s.checkUpTo,
    }];
  });
  if (!sweeps.length) throw badInput(`--family ${o.family}: none of these families is in preset '${presetName}'`);
  const selected = [...new Set(sweeps.flatMap((s) => s.families))];
  for (const k of Object.keys(params))
    if (!selected.some((f) => k in familyParams(f, { [k]: 0 })))
      throw badInput(`invalid --param '${k}': no selected family has it (${selected.join(', ')})`);
  // The GPU worker holds every job to SPEC 6's timing minimums; a flag below them is refused here,
  // before anything is planned or written, not case by case by the worker.
  if (executor !== 'cpu') {
    if (o.warmup !== undefined && sweeps.some((s) => s.warmup < MIN_WARMUP)) throw badInput(`--warmup ${o.warmup}: the ${executor} executor times after at least ${MIN_WARMUP} warm-up calls (SPEC 6)`);
    if (o.iters !== undefined && sweeps.some((s) => s.iters < MIN_ITERS)) throw badInput(`--iters ${o.iters}: the ${executor} executor times at least ${MIN_ITERS} calls (SPEC 6)`);
  }
  return { executor, sweeps, samples: o.samples ? parseInteger(o.samples, '--samples', 1, MAX_SAMPLES) : preset.samples };
}

export { DENSE_FAMILIES };
