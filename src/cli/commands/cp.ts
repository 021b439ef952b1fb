// attnbench cp: context-parallel plans (statistics, checker) and real multi-rank runs.
//   cp schemes                 the schemes and their layout keys
//   cp plan --scheme S ...     plan one case, print per-rank statistics (table, or --json)
//   cp run --executor cpu ...  run plans on P ranks, compare with the reference, append result rows
//   cp run --executor torch    the same on torch: torchrun (NCCL / gloo) or --virtual-ranks on one
//                              GPU; --plan-dir writes the job folder and prints the command instead
//   cp sbatch ...              a Slurm script (one torchrun per node) and its job folder
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { checkPlan } from '../../cp/check.js';
import { loadCpExecutor } from '../../cp/exec/index.js';
import { cpCaseId, cpFailedRow } from '../../cp/exec/rows.js';
import type { CpRunRequest } from '../../cp/exec/types.js';
import { parseLayout, planCp, SCHEMES, schemeDef, sharedMask } from '../../cp/plan/index.js';
import { planStats, summarizeStats } from '../../cp/stats.js';
import { cpRunTable, fmtBytes, planStatsTable } from '../../cp/table.js';
import {
  NCCL_ENV,
  planTorchJobs,
  presetDefaults,
  RAW_RESULTS,
  requireTorch,
  resolveLaunch,
  runTorchCp,
  sbatchScript,
  shellCommand,
  torchCaseSpecs,
  writeJobFiles,
  type CaseFlags,
  type CpJob,
  type TorchLaunch,
} from '../../cp/torch/index.js';
import type { CpLayout, CpShape } from '../../cp/types.js';
import { parseHeads, parseParams } from '../../config/kernel-options.js';
import { CP_REFERENCE, parseCpExecutorId, parseDtype, parseFamilyId, parseFamilyIds, parseSchemeId, parseSchemeIds } from '../../ids.js';
import { familyParams, generateMask } from '../../mask/families/index.js';
import type { GeneratedMask, Mask } from '../../mask/types.js';
import type { ResultRow } from '../../results/schema.js';
import { cpuEnvironment, gitRev } from '../../util/env.js';
import { appendJsonl, readJsonl } from '../../util/jsonl.js';
import { doneCaseIds, parseRetry } from '../../results/resume.js';
import type { Status } from '../../results/schema.js';
import { formatTokens, parseInteger, parseIntList, parseTokenList, parseTokens, splitList } from '../../util/parse.js';
import { PARTIAL_ARRAYS } from '../../cp/torch/partial-arrays.js';
import { pythonDir, pythonExecutable } from '../../worker/client.js';
import { partialExternalIds } from '../../kernels/external.js';
import { AttnbenchError, badInput, usage } from '../../errors.js';

const DTYPE_BYTES: Readonly<Record<string, number>> = { bfloat16: 2, float16: 2, float32: 4 };

interface MaskOptions {
  param?: string[] | string;
  seed: string;
  doclens?: string;
}

interface PlanOptions extends MaskOptions {
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
interface TorchCaseOptions extends MaskOptions {
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
  warmup?: string;
  iters?: string;
  checkUpTo?: string;
  reference: boolean;
  timeout?: string;
  trace?: string;
  traceDir?: string;
  python?: string;
}

interface RunOptions extends TorchCaseOptions {
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

interface SbatchOptions extends TorchCaseOptions {
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

function need<T>(v: T | undefined, flag: string): T {
  if (v === undefined || v === '') throw usage(`missing required option ${flag}`);
  return v;
}

/** --param values go to the families that declare them (several families may be listed). */
function paramsOf(family: string, families: readonly string[], o: MaskOptions): Record<string, number | string> {
  const all = parseParams(o.param);
  for (const k of Object.keys(all)) {
    if (!families.some((f) => k in familyParams(f, all)))
      throw badInput(`--param ${k}: none of the families ${families.join(', ')} has a parameter '${k}'`);
  }
  return familyParams(family, all);
}

function makeMask(family: string, seqlen: number, o: MaskOptions, families: readonly string[] = [family]): { gm: GeneratedMask; mask: Mask } {
  const params = paramsOf(family, families, o);
  const gm = generateMask(family, seqlen, { seed: parseInteger(o.seed, 'seed', 0), params, docLens: o.doclens });
  return { gm, mask: sharedMask(gm) };
}

function shapeOf(heads: string, headDim: string, dtypeBytes: number): CpShape {
  const h = parseHeads(heads);
  return { ...h, headDim: parseInteger(headDim, 'head-dim'), dtypeBytes };
}

function maskOptions(c: Command): Command {
  return c
    .option('--param <k=v...>', 'mask family parameter (repeatable), e.g. window=512')
    .option('--doclens <name|path>', 'document-length distribution: builtin name or histogram file')
    .option('--seed <n>', 'mask seed', '0');
}

/** Case flags of `cp run` and `cp sbatch`. */
function caseOptions(c: Command): Command {
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
function torchCaseOptions(c: Command): Command {
  return c
    .option('--preset <name>', 'torch: a named case set; paper-cp = every scheme x {full, causal, full_document, causal_document}, 8k tokens per rank, 64:8 heads, d 128, bf16 (flags override)')
    .option('--tokens-per-rank <n>', 'torch: sequence length = n x world (instead of --seqlen)')
    .option('--dtype <t>', 'torch: bfloat16 | float16 | float32 (default bfloat16; float32 with --device cpu)')
    .option('--kernel <id>', 'torch: partial-attention kernel auto | reference | flex | triton_ranges | a --kernel-module kernel with the partial entry (default auto: flex on GPUs)')
    .option('--warmup <n>', 'torch: warm-up runs per case (default 5)')
    .option('--iters <n>', 'torch: timed runs per case (default 20)')
    .option('--check-up-to <S>', 'torch: compare with the reference up to this sequence length (default 64k)')
    .option('--python <path>', 'torch: python with torch (cp run: default $ATTNBENCH_PYTHON or python3; cp sbatch: python3 on the nodes)')
    .option('--trace-dir <dir>', 'write a Chrome/Perfetto trace per case (and direction, on torch) into this folder');
}

/** `cp run` flags that only --executor torch reads: attribute -> flag. */
const TORCH_ONLY: Readonly<Record<string, string>> = {
  preset: '--preset',
  tokensPerRank: '--tokens-per-rank',
  dtype: '--dtype',
  kernel: '--kernel',
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

const optInt = (v: string | undefined, what: string, min = 1): number | undefined => (v === undefined ? undefined : parseInteger(v, what, min));

/** auto, reference, a kernel with CP step arguments (PARTIAL_ARRAYS), or a --kernel-module kernel with the partial entry. */
function parseKernel(v: string | undefined): CaseFlags['kernel'] {
  if (v === undefined) return undefined;
  const known = [...Object.keys(PARTIAL_ARRAYS), ...partialExternalIds()];
  if (v !== 'auto' && v !== CP_REFERENCE && !known.includes(v)) throw usage(`--kernel must be auto, ${CP_REFERENCE} or one of ${known.join(', ')}, got '${v}'`);
  return v;
}

/** Parsed case flags for the torch executor (the preset's families route --param when --family is absent). */
function torchCaseFlags(o: TorchCaseOptions, device: 'cuda' | 'cpu'): CaseFlags {
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
    headDim: optInt(o.headDim, 'head-dim'),
    dtype: o.dtype !== undefined ? parseDtype(o.dtype) : device === 'cpu' ? 'float32' : undefined,
    kernel: parseKernel(o.kernel),
    warmup: optInt(o.warmup, 'warmup', 0),
    iters: optInt(o.iters, 'iters'),
    checkUpTo: o.reference === false ? 0 : o.checkUpTo !== undefined ? parseTokens(o.checkUpTo, 'check-up-to') : undefined,
    docLens: o.doclens,
    gitRev: gitRev(),
  };
}

/** Flex needs block tables; the reference kernel and CPU tensors do not. */
const needsBlockTables = (device: 'cuda' | 'cpu', jobs: readonly CpJob[]) => device === 'cuda' && jobs.some((j) => j.meta.kernel !== 'reference');

function launchText(l: TorchLaunch): string {
  if (l.kind === 'virtual') return `${l.world} virtual ranks in one process (${l.device})`;
  return `${l.nprocPerNode} process(es) x ${l.nnodes} node(s), ${l.backend} on ${l.device}${l.nodeRank !== undefined ? `, this is node ${l.nodeRank}` : ''}`;
}

/** `cp run --executor torch`: plan, then write the job folder and print its command, or run it. */
async function runOnTorch(o: RunOptions, retry: readonly Status[]): Promise<void> {
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
  const jobs = planTorchJobs(torchCaseSpecs(torchCaseFlags(o, launch.device), worlds));
  const common = {
    jobs,
    timeoutS: parseInteger(o.timeout ?? '600', 'timeout', 0),
    traceDir: o.traceDir ?? o.trace,
    blockTables: needsBlockTables(launch.device, jobs),
    device: launch.device,
    ...(launch.kind === 'virtual'
      ? { virtualRanks: launch.world }
      : { nprocPerNode: launch.nprocPerNode, nnodes: launch.nnodes, nodeRank: launch.nodeRank, rdzvEndpoint: launch.rdzvEndpoint, rdzvId: launch.rdzvId, backend: launch.backend }),
  };
  if (o.planDir !== undefined) {
    const r = await runTorchCp({ ...common, python: o.python, dir: o.planDir, out: o.out, planOnly: true, workerResume: true });
    const raw = path.join(o.planDir, RAW_RESULTS);
    const env = { PYTHONPATH: path.relative(process.cwd(), pythonDir()) || '.', ...NCCL_ENV };
    const where = launch.kind === 'dist' && launch.nnodes > 1 ? ` on each of the ${launch.nnodes} nodes (job folder on a shared filesystem; --node_rank per node)` : '';
    process.stdout.write(
      `${jobs.length} case(s), ${launchText(launch)} -> ${o.planDir} (${fmtBytes(r.written.bytes)})\n` +
        `run${where}:\n  ${shellCommand(r.commands[0], env)}\n` +
        `records: ${raw} (measurements as cases finish; running the command again continues after the finished ones)\n` +
        `rows: npx tsx src/cp/torch/rows-from-raw.ts --dir ${o.planDir} --raw ${raw} --out rows.jsonl, then \`attnbench results --ingest rows.jsonl\`\n`,
    );
    return;
  }
  const python = pythonExecutable(o.python);
  await requireTorch(python, { device: launch.device, backend: launch.kind === 'dist' ? launch.backend : undefined, gpus: launch.kind === 'dist' ? launch.nprocPerNode : 1 });
  const dir = o.jobDir ?? path.join(path.dirname(o.out), 'cp-torch-jobs');
  process.stderr.write(`${jobs.length} case(s) on ${launchText(launch)} with ${python}; job files in ${dir}\n`);
  const res = await runTorchCp({ ...common, python, dir, out: o.out, resume: o.resume, retry });
  if (res.skipped) process.stderr.write(`${res.skipped} case(s) already in ${o.out}: skipped (--resume)\n`);
  if (launch.kind === 'dist' && (launch.nodeRank ?? 0) !== 0) {
    process.stdout.write(`node ${launch.nodeRank}: done (node 0 writes the rows)\n`);
    return;
  }
  if (res.rows.length) process.stdout.write(`${cpRunTable([...res.rows])}\n`);
  process.stdout.write(`${res.rows.length} row(s) -> ${o.out}\n`);
  const failed = new Set(res.rows.filter((r) => r.status !== 'ok').map((r) => r.id.split('|')[0])).size;
  if (failed) throw new AttnbenchError('failed', `${failed} of ${jobs.length - res.skipped} case(s) did not end ok; their rows in ${o.out} say why`);
}

/** `cp sbatch`: the job folder and a Slurm script that runs it with one torchrun per node. */
function writeSbatch(o: SbatchOptions): void {
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
  const jobs = planTorchJobs(torchCaseSpecs(torchCaseFlags(o, 'cuda'), worlds));
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

export function register(program: Command): void {
  const cp = program.command('cp').description('context parallelism: plan schemes, check plans, run them on P ranks');

  cp.command('schemes')
    .description('list the CP schemes and their layout keys')
    .action(() => {
      for (const s of SCHEMES) {
        process.stdout.write(`${s.id}: ${s.description}\n`);
        for (const p of s.params) process.stdout.write(`  ${p.key}${p.values ? ` (${p.values.join('|')})` : ''}: ${p.description}\n`);
      }
    });

  maskOptions(
    cp
      .command('plan')
      .description('plan one case and print per-rank FLOPs, imbalance, bytes, steps and peak buffer memory')
      .option('--scheme <id>', 'CP scheme (see `cp schemes`)')
      .option('--world <P>', 'number of ranks')
      .option('--family <id>', 'mask family')
      .option('--seqlen <S>', 'sequence length, e.g. 64k or 1M')
      .option('--layout <k=v,...>', 'scheme layout, e.g. ulysses=8,ring=8')
      .option('--heads <q:kv>', 'query:KV heads', '64:8')
      .option('--head-dim <n>', 'head dimension', '128')
      .option('--dtype <t>', 'element type of Q/K/V (bytes moved)', 'bfloat16')
      .option('--check', 'run the plan checker too')
      .option('--budget <bytes>', 'memory budget per rank for --check')
      .option('--json', 'print JSON instead of a table'),
  ).action((o: PlanOptions) => {
    const scheme = parseSchemeId(need(o.scheme, '--scheme'));
    const world = parseInteger(need(o.world, '--world'), 'world');
    const seqlen = parseTokens(need(o.seqlen, '--seqlen'));
    const family = parseFamilyId(need(o.family, '--family'));
    const shape = shapeOf(o.heads, o.headDim, DTYPE_BYTES[parseDtype(o.dtype)]);
    const layout = parseLayout(o.layout);
    const { gm, mask } = makeMask(family, seqlen, o);
    const t0 = performance.now();
    const plan = planCp(scheme, mask, world, layout, shape);
    const planMs = performance.now() - t0;
    const stats = planStats(plan);
    const violations = o.check ? checkPlan(plan, mask, { memoryBudgetBytes: o.budget ? parseTokens(o.budget, 'budget') : undefined }) : undefined;
    if (o.json) {
      const out = { scheme, family, maskParams: gm.params, seed: gm.seed, seqlen, world, layout: plan.layout, shape, planMs, summary: summarizeStats(stats), stats, violations };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(`${planStatsTable(plan, stats)}\nplanned in ${planMs.toFixed(1)} ms (${family}, seed ${gm.seed})\n`);
      if (violations) {
        process.stdout.write(violations.length ? `checker: ${violations.length} violation(s)\n${violations.map((v) => `  ${v.message}`).join('\n')}\n` : 'checker: ok\n');
      }
    }
    if (violations?.length) throw new AttnbenchError('internal', `the ${scheme} plan violates ${violations.length} checker rule(s)`);
  });

  maskOptions(
    torchCaseOptions(
      caseOptions(
        cp
          .command('run')
          .description('run CP plans on P ranks (forward + backward), compare with the single-rank reference, append result rows')
          .option(
            '--executor <id>',
            'cpu (worker threads, any machine) | torch (torch.distributed: torchrun with NCCL on GPUs or gloo on CPU tensors, or --virtual-ranks on one GPU; needs a python with torch)',
            'cpu',
          ),
      ),
    )
      .option('--out <file>', 'results JSONL (appended as measured)', 'attnbench-out/cp.jsonl')
      .option('--trace <dir>', 'write a Chrome/Perfetto trace per case into this folder')
      .option('--timeout <s>', 'seconds before a case is stopped (cpu: the whole case, default 300; torch: without a step starting, default 600, and the launcher is killed after that plus a margin)')
      .option('--virtual-ranks <P>', 'torch: run all P ranks of each plan in one process on one device')
      .option('--nproc-per-node <n>', 'torch: processes (GPUs) per node for torchrun (default: world / nnodes)')
      .option('--nnodes <n>', 'torch: nodes; every node runs the same command with its --node-rank')
      .option('--node-rank <r>', 'torch: this node (0 writes the job files and the rows)')
      .option('--rdzv-endpoint <host:port>', 'torch: rendezvous on the first node (needed with --nnodes above 1)')
      .option('--rdzv-id <id>', 'torch: rendezvous id (default attnbench-cp)')
      .option('--backend <id>', 'torch: nccl | gloo (default nccl on cuda, gloo on cpu)')
      .option('--device <id>', 'torch: cuda | cpu (default cuda)')
      .option('--job-dir <dir>', 'torch: job folder (default cp-torch-jobs next to --out; shared by every node with --nnodes above 1)')
      .option('--plan-dir <dir>', 'torch, file mode: write the job folder here and print the command that runs it (nothing runs)')
      .option('--resume', 'skip cases whose every direction (fwd and bwd) already has a row in --out (the last row of a case counts)')
      .option('--retry <statuses>', 'with --resume: run again the cases whose last row has one of these statuses, e.g. error,timeout'),
  ).action(async (o: RunOptions) => {
    const executorId = parseCpExecutorId(o.executor);
    if (o.retry !== undefined && !o.resume) throw usage('--retry needs --resume');
    const retry = o.retry !== undefined ? parseRetry(o.retry) : [];
    if (executorId === 'torch') return runOnTorch(o, retry);
    for (const [k, flag] of Object.entries(TORCH_ONLY)) if ((o as unknown as Record<string, unknown>)[k] !== undefined) throw usage(`${flag} is for --executor torch`);
    const schemes = parseSchemeIds(need(o.scheme, '--scheme'));
    const worlds = parseIntList(need(o.world, '--world'), 'world');
    const families = parseFamilyIds(need(o.family, '--family'));
    const seqlens = parseTokenList(need(o.seqlen, '--seqlen'));
    const layout: CpLayout = parseLayout(o.layout);
    const timeoutMs = parseInteger(o.timeout ?? '300', 'timeout') * 1000;
    const trace = o.trace ?? o.traceDir;
    const executor = await loadCpExecutor(executorId);
    try {
      const shape = shapeOf(o.heads ?? '8:4', o.headDim ?? '32', executor.dtypeBytes);
      // Plan and check everything first: bad input fails before anything runs.
      const cases: CpRunRequest[] = [];
      for (const family of families)
        for (const seqlen of seqlens) {
          const { gm, mask } = makeMask(family, seqlen, o, families);
          for (const world of worlds)
            for (const scheme of schemes) {
              const plan = planCp(scheme, mask, world, layout, shape);
              const v = checkPlan(plan, mask);
              if (v.length) throw new AttnbenchError('internal', `${scheme} plan for ${family} S=${seqlen} P=${world} fails the checker: ${v[0].message}`);
              const tracePath = trace ? path.join(trace, `${plan.scheme}-${gm.family}-${plan.seqlen}-P${plan.world}.trace.json`) : undefined;
              cases.push({ plan, mask, family: gm.family, maskParams: gm.params, seed: gm.seed, check: o.reference, timeoutMs, tracePath });
            }
        }
      // --resume: leave out the cases whose fwd and bwd rows are settled in --out (src/results/resume.ts).
      const okBefore = o.resume ? doneCaseIds(readJsonl(o.out), retry) : null;
      const todo = okBefore ? cases.filter((req) => !(['fwd', 'bwd'] as const).every((d) => okBefore.has(cpCaseId(executor.runner, req, d)))) : cases;
      const skipped = cases.length - todo.length;
      if (skipped) process.stderr.write(`${skipped} case(s) already in ${o.out}: skipped (--resume)\n`);
      const rows: ResultRow[] = [];
      const env = cpuEnvironment();
      let failed = 0;
      for (const req of todo) {
        const { plan } = req;
        const label = `${plan.scheme} ${req.family} S=${formatTokens(plan.seqlen)} P=${plan.world}`;
        process.stderr.write(`running ${label} ...\n`);
        try {
          const r = await executor.run(req);
          for (const row of r.rows) {
            appendJsonl(o.out, row);
            rows.push(row);
          }
        } catch (e) {
          failed++;
          const message = (e as Error).message;
          process.stderr.write(`${label}: ${message}\n`);
          for (const direction of ['fwd', 'bwd'] as const) {
            const status = e instanceof AttnbenchError && e.code === 'timeout' ? 'timeout' : 'error';
            const row = cpFailedRow(executor.runner, req, direction, status, message, env);
            appendJsonl(o.out, row);
            rows.push(row);
          }
        }
      }
      if (rows.length) process.stdout.write(`${cpRunTable(rows)}\n`);
      process.stdout.write(`${rows.length} row(s) -> ${o.out}${todo.length ? '' : `: all ${cases.length} case(s) already in it (--resume)`}\n`);
      if (failed) throw new AttnbenchError('failed', `${failed} of ${todo.length} case(s) did not end ok; their rows in ${o.out} say why`);
    } finally {
      await executor.close();
    }
  });

  maskOptions(
    torchCaseOptions(
      caseOptions(
        cp
          .command('sbatch')
          .description('write a Slurm batch script (one torchrun per node, rendezvous on the first node) and its job folder')
          .option('--nodes <n>', 'nodes to allocate')
          .option('--gpus-per-node <n>', 'GPUs (processes) per node', '8')
          .option('--time <t>', 'wall time: minutes or [D-]HH:MM:SS', '60'),
      ),
    )
      .option('--partition <name>', 'Slurm partition')
      .option('--account <name>', 'Slurm account')
      .option('--job-name <name>', 'Slurm job name (default attnbench-cp)')
      .option('--cpus-per-task <n>', 'CPUs per node task (default 8 per GPU)')
      .option('--port <n>', 'rendezvous port on the first node (default 29500)')
      .option('--setup <line...>', 'shell lines run before srun (module loads, venv activation)')
      .option('--log <pattern>', "Slurm's output file (default DIR/slurm-%j.out)")
      .option('--timeout <s>', 'seconds without a step starting before a case is ended', '600')
      .option('--trace <dir>', 'alias of --trace-dir')
      .option('--dir <dir>', 'job folder (on a filesystem the nodes share)', 'attnbench-out/cp-sbatch')
      .option('--script <file>', 'where to write the script (default DIR/attnbench-cp.sbatch)')
      .option('--repo-root <dir>', 'this repository as the nodes see it (its python/ goes on PYTHONPATH)'),
  ).action((o: SbatchOptions) => writeSbatch(o));
}
