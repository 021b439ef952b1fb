// attnbench run: the main job, in one process. Probes for torch + CUDA as `doctor` does; with a GPU
// it runs the gpu-quick kernel preset on the torch executor, without one the CPU stages (mask
// gallery, cpu kernel preset, CP run on 4 CPU ranks, simulator projection); then it ingests every
// result JSONL into the DuckDB database and writes the report. Each stage calls the function that
// the command a user would type calls after parsing (masksCommand, kernelsCommand, runCp,
// simRunCommand, resultsCommand, reportCommand), with the same path checks and --out lock
// (guards.ts checkOptions); its output goes to <out>/logs/<stage>.log and one line per stage is printed. Resumable: kernels and CP get --resume (cases already measured are
// skipped), and the projection is skipped when all its rows are there; masks, ingest and report
// are idempotent and run again.
import { loadCpExecutor } from '../../cp/exec/index.js';
import { cpRunSummary, planCpCases, runCp, type CpCaseGrid } from '../../cp/exec/run-cp.js';
import { cpRunTable } from '../../cp/table.js';
import type { FamilyId, SchemeId } from '../../ids.js';
import { cpuEnvironment } from '../../util/env.js';
import { lockNow } from '../../util/lock.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { readTrace } from '../../report/build.js';
import { CP_PRESETS } from '../../sim/project.js';
import { SHIPPED_CALIBRATION } from '../../sim/io.js';
import { readJsonl } from '../../util/jsonl.js';
import { AttnbenchError, badInput, usage } from '../../errors.js';
import { foreignDbProblem } from '../../store/store.js';
import { checkOptions, checkResultsOut } from '../guards.js';
import { checkPath, type PathKind } from '../../util/paths.js';
import { ask } from './doctor.js';
import { kernelsCommand } from './kernels.js';
import { masksCommand } from './masks.js';
import { reportCommand } from './report.js';
import { resultsCommand } from './results.js';
import { simRunCommand } from './sim.js';

export interface RunOptions {
  readonly out: string;
  readonly quick?: boolean;
  readonly resume: boolean;
  /** auto: probe for torch + CUDA; cpu / torch: skip the probe. */
  readonly executor: string;
  readonly python?: string;
  readonly verbose?: boolean;
}

export type StageName = 'masks' | 'kernels' | 'cp' | 'sim' | 'ingest' | 'report';

export interface Stage {
  readonly name: StageName;
  /** What the stage writes (printed in the summary). */
  readonly output: string;
  /** Evaluated when the stage starts: the call to make (its output goes to the stage's log), or why there is nothing to do. */
  readonly work: () => StageCall | string;
}

/** One command's function called with its typed options, as the command's action calls it after parsing. */
export interface StageCall {
  /** The command whose function this is (its path checks and --out lock apply), e.g. 'sim run'. */
  readonly command: string;
  readonly options: object;
  readonly run: () => Promise<void>;
}

/** A call of `fn(options)` under the checks the command `command` gets from the CLI (guards.ts): paths, budgets, its --out lock. */
function call<T extends object>(command: string, options: T, fn: (o: T) => Promise<void>): StageCall {
  return {
    command,
    options,
    run: async () => {
      process.stderr.write(`call ${command}: ${JSON.stringify(options)}\n`); // to the log (stderr: not the stage's result line)
      const lock = checkOptions(command, options as Readonly<Record<string, unknown>>);
      try {
        await fn(options);
      } finally {
        lock?.release();
      }
    },
  };
}

/** A calibration of the user's own (in --out) wins over the shipped one; none: roofline fallback. */
function calibrationFor(own: string): string | undefined {
  if (fs.existsSync(own)) return own;
  return fs.existsSync(SHIPPED_CALIBRATION) ? SHIPPED_CALIBRATION : undefined;
}

/** What each path of a run is (src/util/paths.ts kinds): a calibration there is read if it is a file. */
const RUN_PATH_KINDS = {
  masks: 'out-dir',
  kernels: 'out-file',
  cp: 'out-file',
  cpTraces: 'out-dir',
  sim: 'out-file',
  calibration: 'out-file',
  db: 'out-file',
  report: 'out-dir',
  logs: 'out-dir',
} as const satisfies Readonly<Record<keyof ReturnType<typeof runPaths>, PathKind>>;

/**
 * Checks every path the stages will read or write under --out before the first one runs (a folder
 * where sim.jsonl goes, a file where the logs go): one line, exit 2, nothing written.
 */
export function checkRunPaths(out: string): void {
  const p = runPaths(out);
  for (const [name, kind] of Object.entries(RUN_PATH_KINDS)) checkPath(p[name as keyof typeof p], kind, `--out (${name})`);
  // What a stage would refuse after the earlier ones ran and wrote: rows files that are not ours or
  // of another kind, a results.duckdb that is no database.
  for (const [name, command] of [['kernels', 'kernels'], ['cp', 'cp run'], ['sim', 'sim run']] as const) checkResultsOut(p[name], `--out (${name})`, false, command);
  const foreign = fs.existsSync(p.db) && fs.statSync(p.db).isFile() ? foreignDbProblem(p.db) : undefined;
  if (foreign) throw badInput(`--out (db): ${foreign}`);
}

export function runPaths(out: string) {
  const p = (f: string) => path.join(out, f);
  return {
    masks: p('masks'),
    kernels: p('kernels.jsonl'),
    cp: p('cp.jsonl'),
    cpTraces: p('cp-traces'),
    sim: p('sim.jsonl'),
    calibration: p('calibration.json'),
    db: p('results.duckdb'),
    report: p('report'),
    logs: p('logs'),
  };
}

interface CpCases {
  readonly schemes: readonly SchemeId[];
  readonly world: number;
  readonly families: readonly FamilyId[];
  readonly seqlen: number;
}

const CP_FULL: CpCases = { schemes: ['ring_p2p', 'ulysses', 'dispatch'], world: 4, families: ['causal', 'causal_document'], seqlen: 1024 };
const CP_QUICK: CpCases = { schemes: ['ring_p2p', 'ulysses', 'dispatch'], world: 2, families: ['causal_document'], seqlen: 512 };

/** CP on CPU ranks, called as a function (runCp); with resume, the cases already settled in the JSONL are left out. */
function cpStage(c: CpCases, file: string, traces: string, resume: boolean): () => Promise<void> {
  return async () => {
    const lock = lockNow(file, '--out'); // one writer per results file, as `cp run` takes
    const executor = await loadCpExecutor('cpu');
    try {
      const grid: CpCaseGrid = {
        schemes: c.schemes, worlds: [c.world], families: c.families, seqlens: [c.seqlen], layout: {}, shape: { headsQ: 8, headsKv: 4, headDim: 32 },
        seed: 0, params: {}, check: true, timeoutMs: 300_000, traceDir: traces,
      };
      const log = (l: string) => process.stderr.write(`${l}\n`);
      log(`runCp: ${c.schemes.join(',')} x ${c.families.join(',')} S=${c.seqlen} P=${c.world} on the cpu executor -> ${file}${resume ? ' (resume)' : ''}`);
      const r = await runCp(planCpCases(grid, executor.dtypeBytes), executor, { out: file, resume, retry: [], env: cpuEnvironment(), log });
      if (r.skipped) log(`${r.skipped} case(s) already in ${file}: skipped (--resume)`);
      if (r.rows.length) process.stdout.write(`${cpRunTable([...r.rows])}\n`);
      process.stdout.write(`${cpRunSummary(r, file)}\n`);
      if (r.failed) throw new AttnbenchError('failed', `${r.failed} CP case(s) did not end ok; their rows in ${file} say why`);
    } finally {
      await executor.close();
      lock.release();
    }
  };
}

interface SimCases {
  readonly gpus: readonly number[];
  readonly families: readonly string[];
  readonly schemes: readonly string[];
}

const PAPER_CP = CP_PRESETS['paper-cp'];
const SIM_FULL: SimCases = { gpus: [8, 16, 32, 64], families: PAPER_CP.families, schemes: PAPER_CP.schemes };
const SIM_QUICK: SimCases = { gpus: [8], families: ['causal', 'causal_document'], schemes: ['ring_p2p', 'dispatch'] };

/** `sim run` on the paper-cp preset at small P; with resume, nothing when every projected row is already there. */
function simCall(c: SimCases, file: string, calibration: string | undefined, resume: boolean): StageCall | string {
  if (resume) {
    const have = new Set(readJsonl<Record<string, unknown>>(file).map((r) => `${r.scheme}|${r.family}|${r.world}|${r.direction}`));
    const want = c.schemes.flatMap((s) => c.families.flatMap((f) => c.gpus.flatMap((g) => ['fwd', 'bwd'].map((d) => `${s}|${f}|${g}|${d}`))));
    if (want.every((k) => have.has(k))) return `all ${want.length} projected row(s) already in ${file} (--no-resume projects again)`;
  }
  return call(
    'sim run',
    {
      preset: 'paper-cp', gpus: c.gpus.join(','), family: c.families.join(','), scheme: c.schemes.join(','), direction: 'fwd,bwd', seed: '0', overlap: true,
      // flex: the CP kernel with calibrated curves (the GPU executor's default 'auto' runs triton_ranges
      // since issue 13, which has no curve yet: its projection would be the roofline).
      ...(calibration ? { calibration, kernel: 'flex' } : {}),
      out: file,
    },
    simRunCommand,
  );
}

/** CP traces the report can draw (causal_document ones), skipping files its reader refuses. */
function reportTraces(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.includes('-causal_document-') && f.endsWith('.trace.json'))
    .sort()
    .map((f) => path.join(dir, f))
    .filter((f) => {
      try {
        readTrace(f);
        return true;
      } catch (e) {
        process.stderr.write(`report: skipping trace ${f}: ${(e as Error).message}\n`);
        return false;
      }
    });
}

/** The stages for this machine: GPU (torch + CUDA found) or CPU. */
export function planStages(o: RunOptions, gpu: boolean): Stage[] {
  const p = runPaths(o.out);
  // The options commander would give the kernels command: --resume absent is undefined, --no-progress false.
  const resume = o.resume ? { resume: true } : {};
  const progress = Boolean(o.verbose && process.stderr.isTTY);
  const stages: Stage[] = [];
  if (gpu) {
    const quick = o.quick ? { family: 'causal', seqlen: '4k' } : {};
    stages.push({
      name: 'kernels',
      output: p.kernels,
      work: () => call('kernels', { executor: 'torch', preset: 'gpu-quick', seed: '0', ...quick, out: p.kernels, ...resume, progress, python: o.python }, kernelsCommand),
    });
  } else {
    const q = Boolean(o.quick);
    stages.push(
      {
        name: 'masks',
        output: path.join(p.masks, 'index.html'),
        work: () => call('masks', { seqlen: q ? '2k' : '8k', seed: '0', out: p.masks, ...(q ? { family: 'causal,causal_document,sliding_window' } : {}) }, masksCommand),
      },
      {
        name: 'kernels',
        output: p.kernels,
        work: () =>
          call(
            'kernels',
            { executor: 'cpu', preset: 'cpu', seed: '0', ...(q ? { family: 'causal', seqlen: '256', warmup: '0', iters: '1' } : {}), out: p.kernels, ...resume, progress },
            kernelsCommand,
          ),
      },
      { name: 'cp', output: p.cp, work: () => ({ command: 'cp run', options: q ? CP_QUICK : CP_FULL, run: cpStage(q ? CP_QUICK : CP_FULL, p.cp, p.cpTraces, o.resume) }) },
      { name: 'sim', output: p.sim, work: () => simCall(q ? SIM_QUICK : SIM_FULL, p.sim, calibrationFor(p.calibration), o.resume) },
    );
  }
  stages.push(
    {
      name: 'ingest',
      output: p.db,
      work: () => {
        const files = [p.kernels, p.cp, p.sim].filter((f) => fs.existsSync(f) && fs.statSync(f).size > 0);
        if (!files.length) return 'no result JSONL to ingest';
        // `results --db --ingest` alone: report what was ingested.
        return call('results', { db: p.db, ingest: files, source: 'all', format: 'table' }, (r) => resultsCommand(r, true));
      },
    },
    {
      name: 'report',
      output: path.join(p.report, 'report.html'),
      work: () => {
        if (!fs.existsSync(p.db)) return `no results database at ${p.db}`;
        const traces = reportTraces(p.cpTraces);
        return call('report', { db: p.db, out: p.report, title: 'attnbench run', ...(traces.length ? { trace: traces } : {}) }, reportCommand);
      },
    },
  );
  return stages;
}

/** doctor's GPU probe: the torch worker's hello, usable when it names a GPU and reports no problem. */
export async function probeGpu(python?: string): Promise<{ gpu: boolean; detail: string }> {
  const hello = await ask('torch', python);
  if (typeof hello === 'string') return { gpu: false, detail: hello.split('\n')[0] };
  const env = hello.env;
  if (env.problems.length || !env.gpu) return { gpu: false, detail: env.problems.join('; ') || 'no GPU' };
  return { gpu: true, detail: `${env.gpu}${env.gpuCount ? ` x${env.gpuCount}` : ''}, torch ${env.libs.torch ?? '?'}` };
}

type Write = typeof process.stdout.write;

/** Runs `fn` with stdout and stderr going to `log` (and on to the terminal when `echo`); returns the last line printed (stdout first). */
async function captured(log: string, echo: boolean, fn: () => Promise<void>): Promise<string> {
  fs.mkdirSync(path.dirname(log), { recursive: true });
  // Appended, never truncated: a resumed run keeps the log of the run that measured (issue 17).
  const fd = fs.openSync(log, 'a');
  fs.writeSync(fd, `==== ${new Date().toISOString()} pid ${process.pid}\n`);
  const last = { out: '', err: '' };
  const saved = { out: process.stdout.write, err: process.stderr.write };
  const tap = (stream: NodeJS.WriteStream, original: Write, key: 'out' | 'err'): Write =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      fs.writeSync(fd, text);
      const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
      if (lines.length) last[key] = lines[lines.length - 1];
      if (echo) return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as Write;
  process.stdout.write = tap(process.stdout, saved.out, 'out');
  process.stderr.write = tap(process.stderr, saved.err, 'err');
  try {
    await fn();
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    fs.closeSync(fd);
  }
  return last.out || last.err;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;

export async function runCommand(o: RunOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  if (!['auto', 'cpu', 'torch'].includes(o.executor)) throw usage(`--executor must be auto, cpu or torch, not '${o.executor}'`);
  checkRunPaths(o.out); // before the probe and the first stage: nothing is written on a bad path
  const t0 = performance.now();
  let gpu = false;
  if (o.executor !== 'cpu') {
    const probe = await probeGpu(o.python);
    gpu = probe.gpu;
    // torch's stages are the GPU ones: without torch on a GPU every one would fail; say so before any is logged.
    if (o.executor === 'torch' && !gpu) throw new AttnbenchError('unavailable', `--executor torch runs the GPU stages and this machine has none usable (${probe.detail}); --executor cpu (or auto) runs the CPU stages`, 2);
    if (o.executor === 'auto') write(`[probe]   ${gpu ? 'GPU' : 'no GPU'} (${probe.detail}) -> ${gpu ? 'GPU stages (torch, gpu-quick)' : 'CPU stages'}  ${secs(performance.now() - t0).trim()}\n`);
  }
  const stages = planStages(o, gpu);
  const logs = runPaths(o.out).logs;
  const failed: string[] = [];
  let allExit2 = true;
  for (const [i, stage] of stages.entries()) {
    const s0 = performance.now();
    const label = `[${i + 1}/${stages.length}] ${stage.name.padEnd(8)}`;
    const log = path.join(logs, `${stage.name}.log`);
    let status = 'ok';
    let note: string;
    try {
      note = await captured(log, Boolean(o.verbose), async () => {
        const todo = stage.work();
        if (typeof todo === 'string') {
          status = 'skipped';
          process.stdout.write(`${todo}\n`);
          return;
        }
        return todo.run();
      });
    } catch (e) {
      status = 'FAILED';
      failed.push(stage.name);
      if (!(e instanceof AttnbenchError && e.exit === 2)) allExit2 = false;
      note = `${e instanceof Error ? e.message.split('\n')[0] : String(e)} (log: ${log})`;
      fs.appendFileSync(log, `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    write(`${label} ${status.padEnd(7)} ${secs(performance.now() - s0)}  ${note}\n`);
  }
  write(`\n${failed.length ? `${failed.length} of ${stages.length} stage(s) failed` : `all ${stages.length} stages done`} in ${secs(performance.now() - t0).trim()}; outputs:\n`);
  for (const s of stages) write(`  ${s.name.padEnd(8)} ${s.output}\n`);
  write(`  ${'logs'.padEnd(8)} ${logs}\n`);
  write(`query: attnbench results --db ${runPaths(o.out).db} --pivot\n`);
  // Every failed stage failed on what this machine lacks or on bad input (no torch for --executor
  // torch, ...): exit 2, as the stage's own command would (issue 17); else a runtime failure (1).
  if (failed.length) throw new AttnbenchError(allExit2 ? 'unavailable' : 'failed', `stage(s) failed: ${failed.join(', ')} (see ${logs})`, allExit2 ? 2 : 1);
}

export function register(program: Command): void {
  program
    .command('run')
    .description('the main job: GPU kernel sweep if torch + CUDA are found, else masks, CPU kernels, CP on CPU ranks and a projection; then results DB + report')
    .option('--out <dir>', 'output folder', 'attnbench-out')
    .option('--executor <which>', 'auto (probe for torch + CUDA) | cpu | torch', 'auto')
    .option('--quick', 'small sizes (smoke test)')
    .option('--no-resume', 'measure again the cases already in the result files')
    .option('--python <path>', 'python executable for the GPU probe and worker')
    .option('--verbose', "show each stage's output (it always goes to <out>/logs)")
    .action(async (o: RunOptions) => runCommand(o));
}
