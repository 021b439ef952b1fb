// attnbench kernels: sweep attention kernels over mask families and sequence lengths.
import type { Command } from 'commander';
import { runCases } from '../../bench/runner.js';
import { familyMaskSource } from '../../bench/mask-source.js';
import { expandSweep } from '../../bench/sweep.js';
import { throughputTable } from '../../bench/table.js';
import type { KernelExecutor } from '../../kernels/case.js';
import { kernelSweepFromOptions, type KernelCliOptions } from '../../config/kernel-options.js';
import { createExecutor } from '../../bench/executors.js';
import { isPurePython, kernelModuleArgs } from '../../kernels/external.js';
import { ingestWorkerResults } from '../../bench/file-mode.js';
import { measuredIds } from '../../bench/runner.js';
import { badInput } from '../../errors.js';
import { appendJsonl } from '../../util/jsonl.js';
import { guardCpuSweep, splitInvalid } from '../../bench/guard.js';
import { planJobsFile } from '../../worker/files.js';
import path from 'node:path';
import { parseInteger } from '../../util/parse.js';
import { parseRetry } from '../../results/resume.js';

/** `attnbench kernels` as a function: the command's action, and `attnbench run`'s kernel stage. */
export async function kernelsCommand(o: KernelCliOptions): Promise<void> {
  const { executor: executorId, sweeps, samples, listing } = kernelSweepFromOptions(o);
  if (listing !== undefined) {
    process.stdout.write(listing);
    return;
  }
  const masks = familyMaskSource(samples, o.doclens);
  // A parameter that does not fit a case (window w >= S) is bad input; a preset's grid skips those cases, saying so.
  const { valid: cases, invalid } = splitInvalid(sweeps.flatMap(expandSweep), masks);
  if (invalid.length && o.preset === undefined) throw badInput(invalid[0].message);
  if (invalid.length) process.stderr.write(`attnbench: warning: preset ${o.preset}: ${invalid.length} case(s) skipped, their parameters do not fit (${invalid[0].message})\n`);
  if (o.ingest !== undefined) {
    if (!o.planDir) throw badInput('--ingest needs --plan-dir (the folder the jobs were planned in)');
    const done = measuredIds(o.out);
    const rows = ingestWorkerResults(path.join(o.planDir, 'cases.jsonl'), o.ingest, masks, executorId).filter((r) => !done.has(r.id));
    for (const r of rows) appendJsonl(o.out, r);
    if (rows.length) process.stdout.write(`${throughputTable(rows)}\n`);
    process.stdout.write(`${rows.length} new row(s) ingested -> ${o.out}\n`);
    return;
  }
  if (o.planDir !== undefined) {
    if (executorId === 'cpu') throw badInput('--plan-dir is for the GPU worker (--executor torch or jax)');
    const p = planJobsFile(cases, o.planDir, masks, { timeoutS: o.jobTimeout ? parseInteger(o.jobTimeout, '--job-timeout') : undefined });
    process.stdout.write(
      `${p.jobs} job(s), ${p.unsupported} unsupported case(s) -> ${o.planDir}\n` +
        `run:    PYTHONPATH=python python3 -m attnbench_worker run ${p.jobsFile} --out results.jsonl --resume${kernelModuleArgs()}\n` +
        `ingest: attnbench kernels <same flags> --plan-dir ${o.planDir} --ingest results.jsonl --out ${o.out}\n`,
    );
    return;
  }
  if (executorId === 'cpu') guardCpuSweep(cases, masks); // memory / time budget: exit 2 before anything runs
  const executor: KernelExecutor = await createExecutor(executorId, {
    python: o.python,
    requireGpu: !(cases.length > 0 && cases.every((c) => isPurePython(c.kernel))),
    timeoutS: o.jobTimeout ? parseInteger(o.jobTimeout, '--job-timeout') : undefined,
  });
  try {
    const rows = await runCases(cases, executor, masks, {
      out: o.out,
      resume: Boolean(o.resume),
      retry: o.retry ? parseRetry(o.retry) : [],
      progress: o.progress !== false,
    });
    if (rows.length) process.stdout.write(`${throughputTable(rows)}\n`);
    process.stdout.write(`${rows.length} case(s) measured -> ${o.out}\n`);
  } finally {
    await executor.close();
  }
}

export function register(program: Command): void {
  program
    .command('kernels')
    .description('benchmark attention kernels: TFLOP/s, memory and error per mask family and sequence length')
    .option('--executor <id>', 'cpu | torch | jax', 'cpu')
    .option('--preset <name>', 'a named sweep (see --list-presets)')
    .option('--list-presets', 'list the presets and exit')
    .option('--kernel <ids>', 'comma-separated kernel ids (default: every kernel of the executor)')
    .option('--family <ids>', 'comma-separated mask families')
    .option('--seqlen <list>', 'comma-separated sequence lengths, e.g. 1k,2k,4k')
    .option('--direction <list>', 'fwd, bwd or fwd,bwd')
    .option('--heads <q:kv>', 'query:KV heads, e.g. 64:8')
    .option('--head-dim <n>', 'head dimension')
    .option('--dtype <t>', 'bfloat16 | float16 | float32')
    .option('--param <k=v...>', 'mask family parameter (repeatable), e.g. window=512')
    .option('--doclens <name|path>', 'document-length distribution: builtin name or histogram file')
    .option('--seed <n>', 'mask seed', '0')
    .option('--samples <n>', 'mask samples for families with random parts (median reported)')
    .option('--warmup <n>', 'warm-up calls')
    .option('--iters <n>', 'timed calls')
    .option('--check-up-to <S>', 'compare against the reference up to this seqlen')
    .option('--out <file>', 'results JSONL (appended as measured)', 'attnbench-out/kernels.jsonl')
    .option('--resume', 'skip cases already in --out')
    .option('--retry <statuses>', 'with --resume: run again the cases whose last row has one of these statuses, e.g. error,timeout')
    .option('--python <path>', 'python executable for the GPU worker')
    .option('--job-timeout <s>', 'GPU worker: seconds one case may take before the worker is restarted and the case is a timeout')
    .option('--plan-dir <dir>', 'file mode: write the jobs folder for `python -m attnbench_worker run` instead of running')
    .option('--ingest <results>', 'file mode: turn the worker results of --plan-dir into result rows in --out')
    .option('--no-progress', 'no progress bar')
    .action(kernelsCommand);
}
