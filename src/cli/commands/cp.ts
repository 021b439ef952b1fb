// attnbench cp: context-parallel plans (statistics, checker) and real multi-rank runs.
//   cp schemes                 the schemes and their layout keys
//   cp plan --scheme S ...     plan one case, print per-rank statistics (table, or --json)
//   cp run --executor cpu ...  run plans on P ranks, compare with the reference, append result rows
//   cp run --executor torch    the same on torch: torchrun (NCCL / gloo) or --virtual-ranks on one
//                              GPU; --plan-dir writes the job folder and prints the command instead
//   cp sbatch ...              a Slurm script (one torchrun per node) and its job folder
import type { Command } from 'commander';
import { checkPlan } from '../../cp/check.js';
import { loadCpExecutor, type CpExecutor, type CpRunRequest } from '../../cp/exec/index.js';
import { parseLayout, planCp, SCHEMES } from '../../cp/plan/index.js';
import { planStats, summarizeStats } from '../../cp/stats.js';
import { cpRunTable, planStatsTable } from '../../cp/table.js';
import { parseCpExecutorId, parseDtype, parseFamilyId, parseFamilyIds, parseSchemeId, parseSchemeIds } from '../../ids.js';
import { cpuEnvironment } from '../../util/env.js';
import { parseRetry } from '../../results/resume.js';
import type { Status } from '../../results/schema.js';
import { parseInteger, parseIntList, parseTokenList, parseTokens } from '../../util/parse.js';
import { AttnbenchError, usage } from '../../errors.js';

import { cpRunSummary, planCpCases, runCp, type CpCaseGrid } from '../../cp/exec/run-cp.js';
import { allParams, caseOptions, makeMask, maskOptions, need, shapeOf, torchCaseOptions, DTYPE_BYTES, type PlanOptions, type RunOptions, type SbatchOptions } from './cp-options.js';
import { torchRun, TORCH_ONLY, writeSbatch } from './cp-torch.js';
import { ranWithLargerHeap } from '../heap.js';

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
  ).action(async (o: PlanOptions) => {
    const scheme = parseSchemeId(need(o.scheme, '--scheme'));
    const world = parseInteger(need(o.world, '--world'), 'world');
    const seqlen = parseTokens(need(o.seqlen, '--seqlen'));
    const family = parseFamilyId(need(o.family, '--family'));
    const shape = shapeOf(o.heads, o.headDim, DTYPE_BYTES[parseDtype(o.dtype)]);
    const layout = parseLayout(o.layout);
    const budget = o.budget !== undefined ? parseTokens(o.budget, 'budget') : undefined; // checked even without --check
    if (budget !== undefined && !o.check) throw usage('--budget needs --check');
    if (await ranWithLargerHeap(world, (s) => process.stderr.write(`attnbench: ${s}\n`))) return;
    const { gm, mask } = makeMask(family, seqlen, o);
    const t0 = performance.now();
    const plan = planCp(scheme, mask, world, layout, shape);
    const planMs = performance.now() - t0;
    const stats = planStats(plan);
    const violations = o.check ? checkPlan(plan, mask, { memoryBudgetBytes: budget }) : undefined;
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
    if (executorId === 'torch') {
      const t = await torchRun(o); // null: --plan-dir, or a node other than 0 (done there)
      if (t === null) return;
      return runCases(await loadCpExecutor('torch', t.settings), () => t.cases, o, retry, t.note);
    }
    for (const [k, flag] of Object.entries(TORCH_ONLY)) if ((o as unknown as Record<string, unknown>)[k] !== undefined) throw usage(`${flag} is for --executor torch`);
    const families = parseFamilyIds(need(o.family, '--family'));
    const grid: CpCaseGrid = {
      schemes: parseSchemeIds(need(o.scheme, '--scheme')),
      worlds: parseIntList(need(o.world, '--world'), 'world'),
      families,
      seqlens: parseTokenList(need(o.seqlen, '--seqlen')),
      layout: parseLayout(o.layout),
      shape: shapeOf(o.heads ?? '8:4', o.headDim ?? '32', 0),
      seed: parseInteger(o.seed, 'seed', 0),
      params: allParams(families, o),
      docLens: o.doclens,
      check: o.reference,
      timeoutMs: parseInteger(o.timeout ?? '300', 'timeout') * 1000,
      traceDir: o.trace ?? o.traceDir,
    };
    return runCases(await loadCpExecutor('cpu'), (ex) => planCpCases(grid, ex.dtypeBytes), o, retry);
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

/** `cp run` on any executor: the cases (planned and checked: bad input fails before anything runs) through runCp, then the table. */
async function runCases(executor: CpExecutor, plan: (ex: CpExecutor) => readonly CpRunRequest[], o: RunOptions, retry: readonly Status[], note?: string): Promise<void> {
  try {
    const cases = plan(executor);
    const log = (l: string) => process.stderr.write(`${l}\n`);
    if (note) log(note);
    const r = await runCp(cases, executor, { out: o.out, resume: Boolean(o.resume), retry, env: cpuEnvironment(), log });
    if (r.skipped) log(`${r.skipped} case(s) already in ${o.out}: skipped (--resume)`);
    if (r.rows.length) process.stdout.write(`${cpRunTable([...r.rows])}\n`);
    process.stdout.write(`${cpRunSummary(r, o.out)}\n`);
    if (r.failed) throw new AttnbenchError('failed', `${r.failed} of ${r.cases - r.skipped} case(s) did not end ok; their rows in ${o.out} say why`);
  } finally {
    await executor.close();
  }
}
