// Flags of `attnbench cp`: the option sets (mask, case, torch case) and their parsing into typed
// values. Parsing only; the work is in src/cp.
import type { Command } from 'commander';
import { sharedMask } from '../../cp/plan/index.js';
import type { CpShape } from '../../cp/types.js';
import { parseHeads, parseParams } from '../../config/kernel-options.js';
import { familyParams, generateMask } from '../../mask/families/index.js';
import type { GeneratedMask, Mask } from '../../mask/types.js';
import { parseHeadDim, parseInteger } from '../../util/parse.js';
import { badInput, usage } from '../../errors.js';


export const DTYPE_BYTES: Readonly<Record<string, number>> = { bfloat16: 2, float16: 2, float32: 4 };

export interface MaskOptions {
  param?: string[] | string;
  seed: string;
  doclens?: string;
}

export interface PlanOptions extends MaskOptions {
  scheme?: string;
  world?: string;
  family?: string;
  seqlen?: string;
  layout?: string;
  heads: string;
  headDim: string;
  dtype: string;
  json?: boolean;
  check?: boolean;
  budget?: string;
}

/** Case flags shared by `cp run --executor torch` and `cp sbatch`. */
export interface TorchCaseOptions extends MaskOptions {
  preset?: string;
  scheme?: string;
  world?: string;
  family?: string;
  seqlen?: string;
  tokensPerRank?: string;
  layout?: string;
  heads?: string;
  headDim?: string;
  dtype?: string;
  kernel?: string;
  calibration?: string;
  warmup?: string;
  iters?: string;
  checkUpTo?: string;
  reference: boolean;
  timeout?: string;
  trace?: string;
  traceDir?: string;
  python?: string;
}

export interface RunOptions extends TorchCaseOptions {
  executor: string;
  out: string;
  virtualRanks?: string;
  nprocPerNode?: string;
  nnodes?: string;
  nodeRank?: string;
  rdzvEndpoint?: string;
  rdzvId?: string;
  backend?: string;
  device?: string;
  jobDir?: string;
  planDir?: string;
  resume?: boolean;
  retry?: string;
}

export interface SbatchOptions extends TorchCaseOptions {
  nodes?: string;
  gpusPerNode: string;
  time: string;
  partition?: string;
  account?: string;
  jobName?: string;
  cpusPerTask?: string;
  port?: string;
  setup?: string[];
  log?: string;
  dir: string;
  script?: string;
  repoRoot?: string;
}

export function need<T>(v: T | undefined, flag: string): T {
  if (v === undefined || v === '') throw usage(`missing required option ${flag}`);
  return v;
}

/** --param values go to the families that declare them (several families may be listed). */
export function paramsOf(family: string, families: readonly string[], o: MaskOptions): Record<string, number | string> {
  return familyParams(family, allParams(families, o));
}

/** Every --param, each declared by at least one of `families` (else a typo: exit 2). */
export function allParams(families: readonly string[], o: MaskOptions): Record<string, number | string> {
  const all = parseParams(o.param);
  for (const k of Object.keys(all)) {
    if (!families.some((f) => k in familyParams(f, all)))
      throw badInput(`--param ${k}: none of the families ${families.join(', ')} has a parameter '${k}'`);
  }
  return all;
}

export function makeMask(family: string, seqlen: number, o: MaskOptions, families: readonly string[] = [family]): { gm: GeneratedMask; mask: Mask } {
  const params = paramsOf(family, families, o);
  const gm = generateMask(family, seqlen, { seed: parseInteger(o.seed, 'seed', 0), params, docLens: o.doclens });
  return { gm, mask: sharedMask(gm) };
}

export function shapeOf(heads: string, headDim: string, dtypeBytes: number): CpShape {
  const h = parseHeads(heads);
  return { ...h, headDim: parseHeadDim(headDim, 'head-dim'), dtypeBytes };
}

export function maskOptions(c: Command): Command {
  return c
    .option('--param <k=v...>', 'mask family parameter (repeatable), e.g. window=512')
    .option('--doclens <name|path>', 'document-length distribution: builtin name or histogram file')
    .option('--seed <n>', 'mask seed', '0');
}

/** Case flags of `cp run` and `cp sbatch`. */
export function caseOptions(c: Command): Command {
  return c
    .option('--scheme <ids>', 'comma-separated CP schemes')
    .option('--world <list>', 'comma-separated rank counts (torch: one, the launch\'s; default from the launch)')
    .option('--family <ids>', 'comma-separated mask families')
    .option('--seqlen <list>', 'comma-separated sequence lengths')
    .option('--layout <k=v,...>', 'scheme layout (applied to every scheme given)')
    .option('--heads <q:kv>', 'query:KV heads (default 8:4 on cpu, 64:8 on torch)')
    .option('--head-dim <n>', 'head dimension (default 32 on cpu, 128 on torch)')
    .option('--no-reference', 'skip the comparison with the single-rank reference');
}

/** Case flags only the torch executor reads. */
export function torchCaseOptions(c: Command): Command {
  return c
    .option('--preset <name>', 'torch: a named case set; paper-cp = every scheme x {full, causal, full_document, causal_document}, 8k tokens per rank, 64:8 heads, d 128, bf16 (flags override)')
    .option('--tokens-per-rank <n>', 'torch: sequence length = n x world (instead of --seqlen)')
    .option('--dtype <t>', 'torch: bfloat16 | float16 | float32 (default bfloat16; float32 with --device cpu)')
    .option('--kernel <id>', 'torch: partial-attention kernel auto | reference | flex | triton_ranges | a --kernel-module kernel with the partial entry (default auto: triton_ranges on GPUs where it takes the shape (head dim 64/128, bf16/fp16), else flex; the reference on CPU)')
    .option('--calibration <file>', "torch: kernel curves the planners that choose their form by cost (dispatch) plan with: the CP kernel's <kernel>@cp curve, else <kernel> (default: the shipped results/sim/calibration.json; without a curve: the planner's generic model)")
    .option('--warmup <n>', 'torch: warm-up runs per case (default 5)')
    .option('--iters <n>', 'torch: timed runs per case (default 20)')
    .option('--check-up-to <S>', 'torch: compare with the reference up to this sequence length (default 64k)')
    .option('--python <path>', 'torch: python with torch (cp run: default $ATTNBENCH_PYTHON or python3; cp sbatch: python3 on the nodes)')
    .option('--trace-dir <dir>', 'write a Chrome/Perfetto trace per case (and direction, on torch) into this folder');
}

