// `cp run --executor torch` and `cp sbatch`: their flags parsed into a launch and case specs, then
// handed to src/cp/torch (the torch executor through runCp in cp.ts, writeTorchPlan, followTorchLaunches,
// sbatchScript). Parsing only.
import fs from 'node:fs';
import path from 'node:path';
import { parseLayout } from '../../cp/plan/index.js';
import { fmtBytes } from '../../cp/table.js';
import {
  followTorchLaunches,
  needsBlockTables,
  NCCL_ENV,
  planTorchJobs,
  presetDefaults,
  RAW_RESULTS,
  requireTorch,
  resolveLaunch,
  sbatchScript,
  shellCommand,
  torchCaseSpecs,
  torchRequest,
  writeJobFiles,
  writeTorchPlan,
  type CaseFlags,
  type TorchLaunch,
} from '../../cp/torch/index.js';
import type { CpExecutorSettings, CpRunRequest } from '../../cp/exec/index.js';
import { MAX_ITERS, parseHeadDim, parseHeads } from '../../util/parse.js';
import { CP_REFERENCE, parseDtype, parseFamilyIds, parseSchemeIds } from '../../ids.js';
import { gitRev } from '../../util/env.js';
import { parseInteger, parseIntList, parseTokenList, parseTokens } from '../../util/parse.js';
import { PARTIAL_ARRAYS } from '../../cp/torch/partial-arrays.js';
import { pythonDir, pythonExecutable } from '../../worker/client.js';
import { usage } from '../../errors.js';

import { partialExternalIds } from '../../kernels/external.js';
import type { CpCaseSpec } from '../../cp/torch/jobs.js';
import type { PlanCost } from '../../cp/types.js';
import { calibratedCpCost } from '../../sim/cp-plan-cost.js';
import { loadCalibration, SHIPPED_CALIBRATION } from '../../sim/io.js';
import { cpKernelOf } from '../../results/case-id.js';
import { need, paramsOf, type RunOptions, type SbatchOptions, type TorchCaseOptions } from './cp-options.js';

/** `cp run` flags that only --executor torch reads: attribute -> flag. */
export const TORCH_ONLY: Readonly<Record<string, string>> = {
  preset: '--preset',
  tokensPerRank: '--tokens-per-rank',
  dtype: '--dtype',
  kernel: '--kernel',
  calibration: '--calibration',
  warmup: '--warmup',
  iters: '--iters',
  checkUpTo: '--check-up-to',
  python: '--python',
  virtualRanks: '--virtual-ranks',
  nprocPerNode: '--nproc-per-node',
  nnodes: '--nnodes',
  nodeRank: '--node-rank',
  rdzvEndpoint: '--rdzv-endpoint',
  rdzvId: '--rdzv-id',
  backend: '--backend',
  device: '--device',
  jobDir: '--job-dir',
  planDir: '--plan-dir',
};

export const optInt = (v: string | undefined, what: string, min = 1): number | undefined => (v === undefined ? undefined : parseInteger(v, what, min));

/** auto, reference, a kernel with CP step arguments (PARTIAL_ARRAYS), or a --kernel-module kernel with the partial entry. */
export function parseKernel(v: string | undefined): CaseFlags['kernel'] {
  if (v === undefined) return undefined;
  const known = [...Object.keys(PARTIAL_ARRAYS), ...partialExternalIds()];
  if (v !== 'auto' && v !== CP_REFERENCE && !known.includes(v)) throw usage(`--kernel must be auto, ${CP_REFERENCE} or one of ${known.join(', ')}, got '${v}'`);
  return v;
}

/** Parsed case flags for the torch executor (the preset's families route --param when --family is absent). */
export function torchCaseFlags(o: TorchCaseOptions, device: 'cuda' | 'cpu'): CaseFlags {
  const families = o.family !== undefined ? parseFamilyIds(o.family) : undefined;
  const all = families ?? (o.preset !== undefined ? presetDefaults(o.preset).families : []);
  return {
    preset: o.preset,
    schemes: o.scheme !== undefined ? parseSchemeIds(o.scheme) : undefined,
    families,
    seqlens: o.seqlen !== undefined ? parseTokenList(o.seqlen) : undefined,
    tokensPerRank: o.tokensPerRank !== undefined ? parseTokens(o.tokensPerRank, 'tokens-per-rank') : undefined,
    layout: o.layout !== undefined ? parseLayout(o.layout) : undefined,
    params: (family) => paramsOf(family, all, o),
    seed: parseInteger(o.seed, 'seed', 0),
    heads: o.heads !== undefined ? parseHeads(o.heads) : undefined,
    headDim: o.headDim !== undefined ? parseHeadDim(o.headDim, 'head-dim') : undefined,
    dtype: o.dtype !== undefined ? parseDtype(o.dtype) : device === 'cpu' ? 'float32' : undefined,
    kernel: parseKernel(o.kernel),
    warmup: o.warmup !== undefined ? parseInteger(o.warmup, 'warmup', 0, MAX_ITERS) : undefined,
    iters: o.iters !== undefined ? parseInteger(o.iters, 'iters', 1, MAX_ITERS) : undefined,
    checkUpTo: o.reference === false ? 0 : o.checkUpTo !== undefined ? parseTokens(o.checkUpTo, 'check-up-to') : undefined,
    docLens: o.doclens,
    gitRev: gitRev(),
  };
}

export function launchText(l: TorchLaunch): string {
  if (l.kind === 'virtual') return `${l.world} virtual ranks in one process (${l.device})`;
  return `${l.nprocPerNode} process(es) x ${l.nnodes} node(s), ${l.backend} on ${l.device}${l.nodeRank !== undefined ? `, this is node ${l.nodeRank}` : ''}`;
}

/** The cases and executor settings of `cp run --executor torch`, for runCp (cp.ts runs them like the cpu executor's). */
export interface TorchRun {
  readonly cases: readonly CpRunRequest[];
  readonly settings: CpExecutorSettings;
  /** What runs where (one line for stderr). */
  readonly note: string;
}

/**
 * `cp run --executor torch`: flags -> launch and planned cases (every case planned and checked
 * before anything is written). --plan-dir writes the job folder and prints its command; a node
 * other than 0 of a several-node run follows node 0's launches: both return null (nothing for runCp).
 */
export async function torchRun(o: RunOptions): Promise<TorchRun | null> {
  if (o.planDir !== undefined && o.jobDir !== undefined) throw usage('--plan-dir is the job folder in file mode: drop --job-dir');
  const { launch, worlds } = resolveLaunch(
    {
      virtualRanks: optInt(o.virtualRanks, 'virtual-ranks'),
      nprocPerNode: optInt(o.nprocPerNode, 'nproc-per-node'),
      nnodes: optInt(o.nnodes, 'nnodes'),
      nodeRank: optInt(o.nodeRank, 'node-rank', 0),
      rdzvEndpoint: o.rdzvEndpoint,
      rdzvId: o.rdzvId,
      backend: o.backend,
      device: o.device,
    },
    o.world !== undefined ? parseIntList(o.world, 'world') : undefined,
    o.preset !== undefined ? presetDefaults(o.preset).worlds : undefined,
  );
  const jobs = planTorchJobs(torchCaseSpecs(torchCaseFlags(o, launch.device), worlds), planCostOf(o.calibration, launch.device));
  const timeoutS = parseInteger(o.timeout ?? '600', 'timeout', 0);
  const traceDir = o.traceDir ?? o.trace;
  if (o.planDir !== undefined) {
    const r = writeTorchPlan(jobs, { launch, dir: o.planDir, python: o.python, timeoutS, traceDir });
    const raw = path.join(o.planDir, RAW_RESULTS);
    const env = { PYTHONPATH: path.relative(process.cwd(), pythonDir()) || '.', ...NCCL_ENV };
    const where = launch.kind === 'dist' && launch.nnodes > 1 ? ` on each of the ${launch.nnodes} nodes (job folder on a shared filesystem; --node_rank per node)` : '';
    process.stdout.write(
      `${jobs.length} case(s), ${launchText(launch)} -> ${o.planDir} (${fmtBytes(r.written.bytes)})\n` +
        (r.command ? `run${where}:\n  ${shellCommand(r.command, env)}\n` : '') +
        `records: ${raw} (measurements as cases finish; running the command again continues after the finished ones)\n` +
        `rows: npx tsx src/cp/torch/rows-from-raw.ts --dir ${o.planDir} --raw ${raw} --out rows.jsonl, then \`attnbench results --ingest rows.jsonl\`\n`,
    );
    return null;
  }
  const python = pythonExecutable(o.python);
  const dir = o.jobDir ?? path.join(path.dirname(o.out), 'cp-torch-jobs');
  const run = { launch, dir, python, timeoutS, traceDir };
  if (launch.kind === 'dist' && (launch.nodeRank ?? 0) !== 0) {
    await requireTorch(python, { device: launch.device, backend: launch.backend, gpus: launch.nprocPerNode });
    process.stderr.write(`following node 0's launches on ${launchText(launch)} with ${python}; job folder ${dir}\n`);
    await followTorchLaunches(run);
    process.stdout.write(`node ${launch.nodeRank}: done (node 0 writes the rows)\n`);
    return null;
  }
  const dtype = jobs[0]?.meta.dtype ?? 'bfloat16';
  return {
    cases: jobs.map(torchRequest),
    settings: { torch: { ...run, dtype } },
    note: `${jobs.length} case(s) on ${launchText(launch)} with ${python}; job files in ${dir}`,
  };
}

/** `cp sbatch`: the job folder and a Slurm script that runs it with one torchrun per node. */
export function writeSbatch(o: SbatchOptions): void {
  const nodes = parseInteger(need(o.nodes, '--nodes'), 'nodes');
  const gpus = parseInteger(o.gpusPerNode, 'gpus-per-node');
  const world = nodes * gpus;
  const worlds = o.world !== undefined ? parseIntList(o.world, 'world') : [world];
  for (const w of worlds) if (w !== world) throw usage(`--world ${w} does not match --nodes ${nodes} x --gpus-per-node ${gpus} = ${world} ranks`);
  const dir = path.resolve(o.dir);
  const traceDir = o.traceDir ?? o.trace;
  // The script first: a bad --time or count fails before any file is written.
  const script = sbatchScript({
    nodes,
    gpusPerNode: gpus,
    time: o.time,
    partition: o.partition,
    account: o.account,
    jobName: o.jobName,
    cpusPerTask: optInt(o.cpusPerTask, 'cpus-per-task'),
    port: optInt(o.port, 'port'),
    repoRoot: path.resolve(o.repoRoot ?? path.dirname(pythonDir())),
    python: o.python,
    logFile: o.log ?? path.join(dir, 'slurm-%j.out'),
    setup: o.setup,
    manifests: [path.join(dir, 'index.json')],
    out: path.join(dir, RAW_RESULTS),
    backend: 'nccl',
    device: 'cuda',
    timeoutS: parseInteger(o.timeout ?? '600', 'timeout', 0),
    traceDir: traceDir !== undefined ? path.resolve(traceDir) : undefined,
    resume: true,
  });
  const jobs = planTorchJobs(torchCaseSpecs(torchCaseFlags(o, 'cuda'), worlds), planCostOf(o.calibration, 'cuda'));
  const written = writeJobFiles(jobs, dir, { blockTables: needsBlockTables('cuda', jobs) });
  const file = path.resolve(o.script ?? path.join(dir, 'attnbench-cp.sbatch'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script, { mode: 0o755 });
  const raw = path.join(dir, RAW_RESULTS);
  process.stdout.write(
    `${jobs.length} case(s), ${nodes} node(s) x ${gpus} GPU(s) -> ${dir} (${fmtBytes(written.bytes)})\n` +
      `script: ${file}\n` +
      `submit: sbatch ${file}\n` +
      `records: ${raw} (measurements as cases finish; resubmitting continues after the finished ones)\n` +
      `rows:   npx tsx src/cp/torch/rows-from-raw.ts --dir ${dir} --raw ${raw} --out rows.jsonl, then \`attnbench results --ingest rows.jsonl\`\n`,
  );
}

/**
 * The plan cost of each case's CP kernel (src/sim/cp-plan-cost.ts) from `--calibration`, else the
 * shipped calibration (beside dist/, or results/sim/ under the working folder for a bundled CLI run
 * from a copy of the repository); a kernel without a curve (the reference, CPU devices) plans with
 * the planner's generic model. A bad --calibration file is exit 2 before anything is planned.
 */
export function planCostOf(file: string | undefined, device: 'cuda' | 'cpu'): (spec: CpCaseSpec) => PlanCost | undefined {
  const shipped = [SHIPPED_CALIBRATION, path.resolve('results/sim/calibration.json')].find((f) => fs.existsSync(f));
  const { calibration } = file !== undefined || shipped !== undefined ? loadCalibration(file ?? shipped) : { calibration: null };
  const costs = new Map<string, PlanCost | undefined>();
  return (spec) => {
    const kernel = cpKernelOf(spec.kernel, device, spec); // auto: src/kernels/cp-auto.ts, as the rows name it
    if (!calibration || kernel === CP_REFERENCE) return undefined;
    const key = `${kernel}|${spec.dtype}`;
    if (!costs.has(key)) costs.set(key, calibratedCpCost(calibration, kernel, 'h100', spec.dtype)?.cost);
    return costs.get(key);
  };
}
