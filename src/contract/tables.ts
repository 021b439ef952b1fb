// The tables TypeScript and the python worker share, exported once from here into
// python/attnbench_worker/tables.json (generated; python loads it in attnbench_worker/tables.py).
// `src/contract/contract.test.ts` regenerates the text and fails when the committed file differs:
// after changing a table, run `npx tsx src/contract/write-tables.ts`.
//
// Lists whose TypeScript source is a type (step kinds, mask formats, dtypes) are written here
// with a compile-time check that they name every member of the type and nothing else.
import type { Step, TensorKind } from '../cp/types.js';
import { CP_AUTO_CUDA, CP_AUTO_FALLBACK, type CpAutoCandidate } from '../kernels/cp-auto.js';
import { KERNELS } from '../kernels/registry.js';
import type { MaskFormat } from '../kernels/types.js';
import { PARTIAL_COST, ROW_COST } from '../mask/adapters/ranges-cost.js';
import { ENV_KNOBS } from './knobs.js';
import { SLICE_KINDS } from '../mask/types.js';
import { DIRECTIONS, STATUSES } from '../results/schema.js';
import { MAX_ABS_TOLERANCE, GRADIENTS } from '../util/tolerance.js';
import { PROTOCOL_VERSION, type WorkerJob } from '../worker/protocol.js';

/** T when its members are exactly the members of U (else a type error at the use). */
type Exactly<T extends readonly string[], U extends string> = [U] extends [T[number]] ? ([T[number]] extends [U] ? T : never) : never;
const exactly =
  <U extends string>() =>
  <const T extends readonly U[]>(t: Exactly<T, U>): T =>
    t;

export const WORKER_DTYPES = exactly<WorkerJob['shape']['dtype']>()(['bfloat16', 'float16', 'float32']);
export const GQA_MODES = exactly<WorkerJob['gqa']>()(['native', 'expand']);
export const MASK_FORMATS = exactly<MaskFormat>()(['slices', 'window', 'varlen', 'flashmask', 'block_table', 'dense', 'segments', 'ranges']);
export const STEP_KINDS = exactly<Step['kind']>()(['p2p', 'all_to_all', 'all_gather', 'reduce_scatter', 'wait', 'attn', 'merge', 'attn_bwd', 'accumulate', 'copy']);
export const TENSOR_KINDS = exactly<TensorKind>()(['q', 'o', 'lse', 'do', 'dq', 'k', 'v', 'kv', 'dk', 'dv', 'dkv']);

/** CP job files (src/cp/torch/manifest.ts re-exports these). */
export const CP_JOB_FORMAT = 'attnbench.cp.job';
export const CP_JOB_VERSION = 2;
export const CP_INDEX_FORMAT = 'attnbench.cp.index';

/** SPEC 6 timing minimums (a job may go below them only with timing.allowShort). */
export const MIN_WARMUP = 5;
export const MIN_ITERS = 20;

export interface SharedTables {
  readonly comment: string;
  readonly protocol: number;
  readonly statuses: readonly string[];
  readonly directions: readonly string[];
  readonly dtypes: readonly string[];
  readonly gqaModes: readonly string[];
  readonly maskFormats: readonly string[];
  readonly sliceKinds: readonly string[];
  readonly stepKinds: readonly string[];
  readonly tensorKinds: readonly string[];
  readonly tolerances: Readonly<Record<string, number>>;
  readonly gradients: readonly string[];
  readonly timing: { readonly minWarmup: number; readonly minIters: number };
  readonly cpJob: { readonly format: string; readonly version: number; readonly indexFormat: string };
  /** Every registered kernel id and the process that runs it (cpu kernels run in TypeScript). */
  readonly kernels: Readonly<Record<string, { readonly executor: string; readonly formats: readonly string[] }>>;
  /** What the CP kernel id 'auto' runs (src/kernels/cp-auto.ts): on CUDA the first candidate that takes the shape and can run, else `fallback`. */
  readonly cpAuto: { readonly cuda: readonly CpAutoCandidate[]; readonly fallback: string };
  /** triton_ranges' row cost in full tiles (src/mask/adapters/ranges-cost.ts): the lists' LPT order. */
  readonly rangesCost: { readonly row: number; readonly partial: number };
  /** The environment's A/B knobs and their values (src/contract/knobs.ts). */
  readonly envKnobs: Readonly<Record<string, readonly string[]>>;
}

export function sharedTables(): SharedTables {
  const kernels: Record<string, { executor: string; formats: readonly string[] }> = {};
  for (const k of KERNELS) kernels[k.id] = { executor: k.executor, formats: k.formats };
  return {
    comment: 'GENERATED from src/contract/tables.ts by `npx tsx src/contract/write-tables.ts`; do not edit',
    protocol: PROTOCOL_VERSION,
    statuses: STATUSES,
    directions: DIRECTIONS,
    dtypes: WORKER_DTYPES,
    gqaModes: GQA_MODES,
    maskFormats: MASK_FORMATS,
    sliceKinds: SLICE_KINDS,
    stepKinds: STEP_KINDS,
    tensorKinds: TENSOR_KINDS,
    tolerances: MAX_ABS_TOLERANCE,
    gradients: GRADIENTS,
    timing: { minWarmup: MIN_WARMUP, minIters: MIN_ITERS },
    cpJob: { format: CP_JOB_FORMAT, version: CP_JOB_VERSION, indexFormat: CP_INDEX_FORMAT },
    kernels,
    cpAuto: { cuda: CP_AUTO_CUDA, fallback: CP_AUTO_FALLBACK },
    rangesCost: { row: ROW_COST, partial: PARTIAL_COST },
    envKnobs: ENV_KNOBS,
  };
}

/** The generated file's text (stable: two-space JSON and a final newline). */
export const tablesText = (): string => `${JSON.stringify(sharedTables(), null, 2)}\n`;

/** Where the generated file lives, relative to the repository root. */
export const TABLES_FILE = 'python/attnbench_worker/tables.json';
