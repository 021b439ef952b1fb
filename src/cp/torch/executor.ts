// The torch CP executor behind the one CpExecutor interface (src/cp/exec/types.ts): runCp
// (src/cp/exec/run-cp.ts) plans, resumes and writes the rows; this module's runBatch writes the job
// folder of the cases it is handed, starts the executor (torchrun, or one python process for
// --virtual-ranks), turns the measurement records the ranks write into rows (./rows.ts) as they
// arrive, and reports each case's outcome.
//
// A launch that dies mid-way loses only the case it was running: that case is reported as an error
// / timeout naming the rank and step (from the ranks' fault lines), and the executor is started
// again on the cases after it. A launch with no sign of progress (output, rows, faults, the ranks'
// heartbeat) for --timeout plus a margin is stopped from here, in case the ranks' own watchdog
// could not. A launch that never reaches its first case is one error (CpBatchRefused), no rows.
// With several nodes this is node 0; the others run ./run.ts followTorchLaunches.
import fs from 'node:fs';
import path from 'node:path';
import { AttnbenchError } from '../../errors.js';
import type { Dtype } from '../../ids.js';
import { CpBatchRefused, type CpCaseReport, type CpExecutor, type CpRunner, type CpRunRequest, type CpRunResult } from '../exec/types.js';
import type { Direction, ResultRow } from '../../results/schema.js';
import { readJsonl } from '../../util/jsonl.js';
import { pythonExecutable } from '../../worker/client.js';
import { requireTorch } from './probe.js';
import { DTYPE_BYTES, torchJob } from './jobs.js';
import { INDEX_FORMAT, readManifest, writeJobFiles, type CpJob, type Manifest } from './manifest.js';
import { failedRow, measurementRow, parseMeasurement } from './rows.js';
import {
  clearRunState,
  faultsFile,
  heartbeatFile,
  idleLimitMs,
  isLeader,
  launchArgv,
  launchOutput,
  launchTag,
  multiNode,
  needsBlockTables,
  progressWatch,
  RAW_RESULTS,
  startLaunch,
  writeDecision,
  type TorchRunOptions,
} from './run.js';
import { STOPPED_EXIT } from './spawn.js';
import { LineTail } from './tail.js';

export interface TorchExecutorOptions extends TorchRunOptions {
  /** The runner's element type (each case's torch part names its own; its rows and ids use that). */
  readonly dtype: Dtype;
}

interface Fault {
  readonly rank?: number;
  readonly case?: string;
  readonly status?: string;
  readonly message?: string;
}

/** The line that best says why a launch ended: the executor's own, else the last one. */
function lastWords(lines: readonly string[]): string {
  const own = [...lines].reverse().find((l) => l.includes('attnbench-cp:'));
  return (own ?? [...lines].reverse().find((l) => l.trim()) ?? '').trim();
}

/** The torch executor of node 0 (or of a one-node run); nodes other than 0 run followTorchLaunches. */
export function createTorchExecutor(o: TorchExecutorOptions): CpExecutor {
  if (!isLeader(o.launch)) throw new AttnbenchError('internal', `node ${o.launch.kind === 'dist' ? o.launch.nodeRank : 0} only follows node 0's launches (followTorchLaunches)`);
  const tag = launchTag(o.launch);
  const device = o.launch.device;
  const runner: CpRunner = { id: 'torch', kernel: null, dtype: o.dtype, launch: tag, device };
  const runBatch = (reqs: readonly CpRunRequest[], report: CpCaseReport) => runTorchBatch(o, reqs.map(torchJob), report);
  return {
    id: 'torch',
    runner,
    dtype: o.dtype,
    dtypeBytes: DTYPE_BYTES[o.dtype],
    runBatch,
    /** One case as a batch of one (the ranks write their traces into traceDir themselves). */
    async run(req: CpRunRequest): Promise<CpRunResult> {
      const rows: ResultRow[] = [];
      let error: Error | null = null;
      await runBatch([req], (_, outcome) => ('error' in outcome ? (error = outcome.error) : rows.push(...outcome.rows)));
      if (error) throw error;
      return { rows };
    },
    failedRow: (req, direction, status, message) => failedRow(torchJob(req), direction, status, message, tag, device),
    close: async () => {},
  };
}

/** The executor after checking that its python can run the launch (torch, the backend, enough GPUs): else one line, exit 2. */
export async function loadTorchExecutor(o: TorchExecutorOptions): Promise<CpExecutor> {
  const l = o.launch;
  await requireTorch(pythonExecutable(o.python), { device: l.device, backend: l.kind === 'dist' ? l.backend : undefined, gpus: l.kind === 'dist' ? l.nprocPerNode : 1 });
  return createTorchExecutor(o);
}

/** The run loop of node 0: launches until every case is reported (at most two launches per case). */
async function runTorchBatch(o: TorchExecutorOptions, jobs: readonly CpJob[], report: CpCaseReport): Promise<void> {
  const l = o.launch;
  const tag = launchTag(l);
  const multi = multiNode(l);
  const say = o.onLine ?? ((line: string) => process.stderr.write(`${line}\n`));
  const how = l.kind === 'virtual' ? `--virtual-ranks ${l.world}` : `--nproc-per-node ${l.nprocPerNode} x --nnodes ${l.nnodes}`;
  const dirsOf = (j: CpJob): readonly Direction[] => j.meta.directions ?? ['fwd', 'bwd'];
  // Positions in `jobs` of the cases this launch can run.
  const runnable: number[] = [];
  jobs.forEach((job, n) => {
    if (job.plan.world === l.world) runnable.push(n);
    else report(n, { error: new AttnbenchError('bad_input', `world-size mismatch: the plan is for ${job.plan.world} ranks but ${how} gives ${l.world}`) });
  });
  // Several nodes launch even with nothing to run: the others are waiting in the rendezvous.
  if (runnable.length === 0 && !multi) return;
  const cases = runnable.map((n) => jobs[n]);
  const written = writeJobFiles(cases, o.dir, { blockTables: o.blockTables ?? needsBlockTables(l.device, cases) });
  const raw = path.join(o.dir, RAW_RESULTS);
  const heartbeat = heartbeatFile(raw);
  clearRunState(o.dir);
  const { shown, recent, onLine } = launchOutput(o);

  // Measurements stream from the raw file (written by rank 0) into rows, joined with their case's
  // manifest (./rows.ts); case i (of `cases`) is settled once every direction has its row.
  const ids = written.ids;
  const caseOf = new Map(ids.map((id, i) => [id, i]));
  const seen = cases.map(() => new Set<Direction>());
  const settled = new Set<number>();
  const manifests = new Map<number, Manifest>();
  const manifestOf = (i: number): Manifest => {
    if (!manifests.has(i)) manifests.set(i, readManifest(written.manifests[i]));
    return manifests.get(i)!;
  };
  const settle = (i: number, error: Error) => (settled.add(i), report(runnable[i], { error }));
  const tail = new LineTail(raw);
  const pump = () => {
    for (const line of tail.read()) {
      const p = parseMeasurement(line);
      if (!p.ok) {
        say(`attnbench: skipped a malformed measurement in ${raw}: ${p.reason}`);
        continue;
      }
      const i = caseOf.get(p.value.case);
      if (i === undefined || settled.has(i)) {
        say(`attnbench: skipped a measurement of case ${p.value.case}, which is ${i === undefined ? `not in ${o.dir}` : 'settled already'}`);
        continue;
      }
      const row = measurementRow(p.value, manifestOf(i));
      seen[i].add(row.direction);
      const done = dirsOf(cases[i]).every((d) => seen[i].has(d));
      if (done) settled.add(i);
      report(runnable[i], { rows: [row], more: !done });
    }
  };
  let stoppedHere = false;
  const watch = progressWatch(o, onLine, pump, () => (stoppedHere = true));
  const commands: string[][] = [];
  const launch = async (index: string): Promise<number> => {
    const argv = launchArgv(o, index);
    commands.push(argv);
    stoppedHere = false;
    try {
      return await startLaunch(o, argv, watch, shown);
    } catch (e) {
      // No python: nothing ran (or the rest cannot run); runCp writes no rows when nothing ran.
      if (e instanceof AttnbenchError && settled.size === 0 && seen.every((d) => d.size === 0)) throw new CpBatchRefused(e.code, e.message, e.exit);
      throw e;
    }
  };

  const idleMs = idleLimitMs(o);
  let remaining = cases.map((_, i) => i);
  let refused: CpBatchRefused | null = null;
  for (let attempt = 0; (attempt === 0 || remaining.length > 0) && attempt <= 2 * cases.length; attempt++) {
    let index = written.index;
    if (attempt > 0) {
      index = path.join(o.dir, `index.retry${attempt}.json`);
      fs.writeFileSync(index, JSON.stringify({ format: INDEX_FORMAT, manifests: remaining.map((i) => path.basename(written.manifests[i])) }));
      if (multi) writeDecision(o.dir, attempt, { index: path.basename(index) });
    }
    fs.rmSync(heartbeat, { force: true });
    const code = await launch(index);
    pump();
    const missing = remaining.filter((i) => !settled.has(i));
    if (missing.length === 0) {
      remaining = [];
      break;
    }
    const progressed = missing.length < remaining.length || missing.some((i) => seen[i].size > 0);
    if (code === 0 && !progressed) {
      for (const i of missing) settle(i, new AttnbenchError('worker', 'the executor exited 0 without a result for this case'));
      remaining = [];
      break;
    }
    if (code !== 0) {
      const allFaults = readJsonl<Fault>(faultsFile(raw));
      if (!progressed && allFaults.length === 0 && !fs.existsSync(heartbeat) && !stoppedHere) {
        // It never reached its first case (bad job files, no torch, no GPU, rendezvous): every
        // relaunch would end the same way.
        refused = new CpBatchRefused('worker', `the executor stopped before its first case (exit ${code}): ${lastWords(recent) || 'no output'}`);
        break;
      }
      // The first case without rows is the one the launch died in (cases run in order), unless
      // it never started: in dist mode a rank that fails a case exits once rank 0 has written
      // that case's rows (its peers may be stuck in a collective), so a launch that made
      // progress can end between cases. Then the rest runs again, with nobody blamed; a case
      // that kills its launch silently is blamed on the next attempt, which makes no progress.
      const i = missing[0];
      const fl = allFaults.filter((f) => f.case === ids[i]);
      if (fl.length === 0 && progressed && !stoppedHere && seen[i].size === 0) {
        remaining = missing;
        continue;
      }
      const timeout = code === STOPPED_EXIT || fl.some((f) => f.status === 'timeout');
      const timeoutS = o.timeoutS ?? 600;
      const msg = fl.length
        ? [...new Set(fl.map((f) => `rank ${f.rank}: ${f.message}`))].join('; ')
        : stoppedHere
          ? `no sign of progress for ${(idleMs ?? 0) / 1000} s (--timeout ${timeoutS} s + margin); attnbench stopped the executor (no rank reported where it was)`
          : `the executor exited with code ${code} during this case (no rank reported a fault)`;
      settle(i, new AttnbenchError(timeout ? 'timeout' : 'worker', msg));
      remaining = missing.slice(1);
    } else remaining = missing;
  }
  pump();
  // The other nodes wait for a word on launch number `commands.length` (the next one).
  if (multi) writeDecision(o.dir, commands.length, { stop: true });
  if (refused) throw refused;
}
