// `attnbench cp run --executor torch`: write the job files, start the executor (torchrun, or one
// python process for --virtual-ranks), and stream its rows into --out as cases finish. A launch
// that dies mid-way loses only the case it was running: that case gets an error / timeout row
// naming the rank and step (from the ranks' fault lines), and the launcher starts again on the
// cases after it. A launch with no sign of progress (output, rows, faults, the ranks' heartbeat)
// for --timeout plus a margin is stopped from here, in case the ranks' own watchdog could not.
//
// Several nodes: every node runs the same command with its --node-rank and the job folder on a
// filesystem they share. Node 0 writes the job files, streams the rows and decides each relaunch
// (launch.<n>.json in the folder); the other nodes launch the index node 0 names, or stop.
import fs from 'node:fs';
import path from 'node:path';
import { AttnbenchError } from '../../errors.js';
import { appendJsonl, readJsonl } from '../../util/jsonl.js';
import { doneCaseIds } from '../../results/resume.js';
import type { ResultRow, Status } from '../../results/schema.js';
import { pythonDir, pythonExecutable } from '../../worker/client.js';
import { NCCL_ENV, torchrunArgs, virtualArgs, type WorkerArgs } from './launch.js';
import { caseId, INDEX_FILE, INDEX_FORMAT, readManifest, writeJobFiles, type CpJob, type Manifest, type WrittenJobs } from './manifest.js';
import { failedRow, measurementRow, parseMeasurement, torchRowId } from './rows.js';
import { LaunchOutput } from './launch-output.js';
import { launchProcess, STOPPED_EXIT, type LaunchWatch } from './spawn.js';
import { filesFingerprint, LineTail } from './tail.js';

export interface RunTorchCpOptions {
  readonly jobs: readonly CpJob[];
  /** Job folder (manifests, arrays.bin, raw results). */
  readonly dir: string;
  /** Result rows (JSONL): rows are appended here as the executor writes them. */
  readonly out: string;
  readonly python?: string;
  /** Real ranks: torchrun with this many processes per node. */
  readonly nprocPerNode?: number;
  readonly nnodes?: number;
  readonly nodeRank?: number;
  readonly rdzvEndpoint?: string;
  readonly rdzvId?: string;
  /** Virtual ranks: every plan must have this world size; one process runs all its ranks. */
  readonly virtualRanks?: number;
  readonly backend?: 'nccl' | 'gloo';
  readonly device?: 'cuda' | 'cpu';
  /** The ranks' watchdog: seconds without a step starting before a case is ended (python default 600; 0 = off). */
  readonly timeoutS?: number;
  readonly traceDir?: string;
  readonly dtype?: WorkerArgs['dtype'];
  readonly kernel?: WorkerArgs['kernel'];
  readonly warmup?: number;
  readonly iters?: number;
  /** Skip jobs whose every direction already has an ok row in `out` (this mode and device). */
  readonly resume?: boolean;
  /** With resume: statuses whose cases run again (the one rule: src/results/resume.ts). */
  readonly retry?: readonly Status[];
  /** Write the job files and the commands only (clusters without node: run them there). */
  readonly planOnly?: boolean;
  /** With planOnly: the command skips cases already ok in its raw results (a rerun continues). */
  readonly workerResume?: boolean;
  readonly blockTables?: boolean;
  /** Seconds past timeoutS without any sign of progress before a launch is stopped (default 90). */
  readonly killMarginS?: number;
  /** Seconds from SIGTERM to SIGKILL when stopping a launch (default 45: torchrun takes 30 to stop its workers). */
  readonly killGraceS?: number;
  /** Output of the launched processes, line by line (default: this process's stderr). */
  readonly onLine?: (line: string) => void;
  /** Starts a process and resolves with its exit code (tests inject one). */
  readonly spawnFn?: (argv: readonly string[], env: NodeJS.ProcessEnv, watch: LaunchWatch) => Promise<number>;
}

export interface RunTorchCpResult {
  readonly written: WrittenJobs;
  /** The commands run (or, with planOnly, to run). */
  readonly commands: readonly (readonly string[])[];
  /** Rows appended to `out` by this call (none on nodes other than 0). */
  readonly rows: readonly ResultRow[];
  /** Jobs left out by `resume`. */
  readonly skipped: number;
}

type Mode = { readonly kind: 'virtual'; readonly world: number } | { readonly kind: 'dist'; readonly world: number };

export const RAW_RESULTS = 'results.raw.jsonl';
/** Seconds past --timeout before a launch without progress is stopped from here. */
export const KILL_MARGIN_S = 90;

/** Files next to the raw results: the ranks' fault lines and their heartbeat (python/attnbench_worker/cp). */
export const faultsFile = (raw: string): string => `${raw}.faults.jsonl`;
export const heartbeatFile = (raw: string): string => `${raw}.heartbeat`;

function modeTag(mode: Mode, backend: string): string {
  return mode.kind === 'virtual' ? `virtual${mode.world}` : `dist-${backend}`;
}

interface Fault {
  readonly rank?: number;
  readonly case?: string;
  readonly status?: string;
  readonly message?: string;
}

/** Node 0's word to the other nodes before launch n (n >= 1): the index to run, or stop. */
type Decision = { readonly index: string } | { readonly stop: true };
const decisionFile = (dir: string, n: number) => path.join(dir, `launch.${n}.json`);

function writeDecision(dir: string, n: number, d: Decision): void {
  const file = decisionFile(dir, n);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(d));
  fs.renameSync(`${file}.tmp`, file);
}

async function waitDecision(dir: string, n: number, limitMs: number): Promise<Decision | null> {
  const file = decisionFile(dir, n);
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Decision;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

/** Removes what an earlier run left in the folder (node 0, before its first launch). */
function clearRunState(dir: string, raw: string): void {
  for (const f of [raw, faultsFile(raw), heartbeatFile(raw)]) fs.rmSync(f, { force: true });
  for (const name of fs.readdirSync(dir)) if (/^(launch\.\d+\.json(\.tmp)?|index\.retry\d+\.json)$/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/** The line that best says why a launch ended: the executor's own, else the last one. */
function lastWords(lines: readonly string[]): string {
  const own = [...lines].reverse().find((l) => l.includes('attnbench-cp:'));
  return (own ?? [...lines].reverse().find((l) => l.trim()) ?? '').trim();
}

/**
 * Runs the jobs on torch. Jobs whose world size does not match the launch get an error row at once
 * (world-size mismatch) and are not started.
 */
export async function runTorchCp(o: RunTorchCpOptions): Promise<RunTorchCpResult> {
  const virtual = o.virtualRanks !== undefined;
  const world = virtual ? o.virtualRanks! : (o.nprocPerNode ?? 1) * (o.nnodes ?? 1);
  const mode: Mode = virtual ? { kind: 'virtual', world } : { kind: 'dist', world };
  const device = o.device ?? 'cuda';
  const backend = o.backend ?? (device === 'cuda' ? 'nccl' : 'gloo');
  const tag = modeTag(mode, backend);
  const leader = (o.nodeRank ?? 0) === 0;
  const multi = !virtual && (o.nnodes ?? 1) > 1;
  const say = o.onLine ?? ((l: string) => process.stderr.write(`${l}\n`));
  const how = virtual ? `--virtual-ranks ${world}` : `--nproc-per-node ${o.nprocPerNode ?? 1} x --nnodes ${o.nnodes ?? 1}`;
  const dirsOf = (j: CpJob) => j.meta.directions ?? (['fwd', 'bwd'] as const);
  const rows: ResultRow[] = [];
  const mismatched: ResultRow[] = [];
  const runnable: CpJob[] = [];
  const okBefore = o.resume && !o.planOnly ? doneCaseIds(readJsonl(o.out), o.retry ?? []) : null;
  let skipped = 0;
  for (const job of o.jobs) {
    if (!o.planOnly && job.plan.world !== world) {
      const msg = `world-size mismatch: the plan is for ${job.plan.world} ranks but ${how} gives ${world}`;
      for (const d of dirsOf(job)) mismatched.push(failedRow(job, d, 'error', msg, tag, device));
    } else if (okBefore && dirsOf(job).every((d) => okBefore.has(torchRowId(caseId(job.plan, job.meta), d, tag, device)))) skipped++;
    else runnable.push(job);
  }
  const raw = path.join(o.dir, RAW_RESULTS);
  const faults = faultsFile(raw);
  const heartbeat = heartbeatFile(raw);
  // Nodes other than 0 run the files node 0 writes (the folder is shared).
  const written: WrittenJobs = leader
    ? writeJobFiles(runnable, o.dir, { blockTables: o.blockTables })
    : { dir: o.dir, index: path.join(o.dir, INDEX_FILE), manifests: [], ids: [], bytes: 0 };
  const base: WorkerArgs = {
    manifests: [written.index],
    out: raw,
    backend: virtual ? undefined : backend,
    device,
    timeoutS: o.timeoutS,
    traceDir: o.traceDir,
    dtype: o.dtype,
    kernel: o.kernel,
    warmup: o.warmup,
    iters: o.iters,
    resume: o.planOnly && o.workerResume,
  };
  const argvFor = (index: string) => {
    const a = { ...base, manifests: [index], python: pythonExecutable(o.python) };
    return virtual
      ? virtualArgs({ ...a, virtualRanks: world })
      : torchrunArgs({ ...a, nprocPerNode: o.nprocPerNode ?? 1, nnodes: o.nnodes, nodeRank: o.nodeRank, rdzvEndpoint: o.rdzvEndpoint, rdzvId: o.rdzvId });
  };
  const commands: string[][] = [];
  if (leader) for (const r of mismatched) (appendJsonl(o.out, r), rows.push(r));
  // Several nodes launch even with nothing to run: the others are waiting in the rendezvous.
  if (o.planOnly || (leader && runnable.length === 0 && !multi)) {
    if (o.planOnly && runnable.length) commands.push(argvFor(written.index));
    return { written, commands, rows, skipped };
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...NCCL_ENV,
    PYTHONPATH: [pythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
  };
  const run = o.spawnFn ?? launchProcess;
  const recent: string[] = [];
  const logFile = path.join(o.dir, multi ? `launch.node${o.nodeRank ?? 0}.log` : 'launch.log');
  fs.rmSync(logFile, { force: true });
  const shown = new LaunchOutput(say, logFile);
  const onLine = (l: string) => {
    recent.push(l);
    if (recent.length > 40) recent.shift();
    shown.line(l);
  };
  // Measurements stream from the raw file (written by rank 0) into rows in out, joined with their
  // case's manifest (./rows.ts); rows of dead cases are written by this loop.
  const tail = new LineTail(raw);
  const seen = new Set<string>();
  const manifests = new Map<string, Manifest>();
  const manifestOf = (id: string): Manifest | undefined => {
    if (!manifests.has(id)) {
      const n = written.ids.indexOf(id);
      if (n >= 0) manifests.set(id, readManifest(written.manifests[n]));
    }
    return manifests.get(id);
  };
  const emit = (row: ResultRow) => {
    seen.add(row.id);
    rows.push(row);
    appendJsonl(o.out, row);
  };
  const pump = () => {
    if (!leader) return;
    for (const line of tail.read()) {
      const p = parseMeasurement(line);
      if (!p.ok) {
        say(`attnbench: skipped a malformed measurement in ${raw}: ${p.reason}`);
        continue;
      }
      const m = manifestOf(p.value.case);
      if (!m) {
        say(`attnbench: skipped a measurement of case ${p.value.case}, which is not in ${o.dir}`);
        continue;
      }
      emit(measurementRow(p.value, m));
    }
  };
  const timeoutS = o.timeoutS ?? 600;
  const idleMs = timeoutS > 0 ? (timeoutS + (o.killMarginS ?? KILL_MARGIN_S)) * 1000 : undefined;
  const graceMs = (o.killGraceS ?? 45) * 1000;
  let stoppedHere = false;
  const watch: LaunchWatch = {
    onLine,
    idleMs,
    graceMs,
    fingerprint: () => filesFingerprint([raw, faults, heartbeat]),
    onTick: pump,
    onStop: (ms) => {
      stoppedHere = true;
      say(`attnbench: no sign of progress from the executor for ${ms / 1000} s (--timeout ${timeoutS} s + margin): stopping it`);
    },
  };
  const launch = async (index: string): Promise<number> => {
    const argv = argvFor(index);
    commands.push(argv);
    stoppedHere = false;
    try {
      return await run(argv, env, watch);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new AttnbenchError('unavailable', err.code === 'ENOENT' ? `python not found: '${argv[0]}'` : `cannot start ${argv[0]}: ${err.message}`, 2);
    } finally {
      shown.end();
    }
  };

  if (!leader) {
    // Follow node 0: launch its index, then wait for its word on the next launch.
    const waitMs = (idleMs ?? 600_000) + graceMs + 60_000;
    for (let n = 0; ; n++) {
      let index = written.index;
      if (n > 0) {
        const d = await waitDecision(o.dir, n, waitMs);
        if (d === null) throw new AttnbenchError('worker', `node 0 said nothing about launch ${n} within ${waitMs / 1000} s (is ${o.dir} shared by every node?)`);
        if ('stop' in d) break;
        index = path.join(o.dir, d.index);
      }
      await launch(index);
    }
    return { written, commands, rows, skipped };
  }

  clearRunState(o.dir, raw);
  const ids = written.ids;
  const doneCase = (n: number) => dirsOf(runnable[n]).every((d) => seen.has(torchRowId(ids[n], d, tag, device)));
  let remaining = runnable.map((_, n) => n);
  let attempt = 0;
  let refused: AttnbenchError | null = null;
  for (; (attempt === 0 || remaining.length > 0) && attempt <= 2 * runnable.length; attempt++) {
    let index = written.index;
    if (attempt > 0) {
      index = path.join(o.dir, `index.retry${attempt}.json`);
      fs.writeFileSync(index, JSON.stringify({ format: INDEX_FORMAT, manifests: remaining.map((n) => path.basename(written.manifests[n])) }));
      if (multi) writeDecision(o.dir, attempt, { index: path.basename(index) });
    }
    fs.rmSync(heartbeat, { force: true });
    const code = await launch(index);
    pump();
    const missing = remaining.filter((n) => !doneCase(n));
    if (missing.length === 0) {
      remaining = [];
      break;
    }
    const progressed = missing.length < remaining.length;
    if (code === 0 && !progressed) {
      for (const n of missing)
        for (const d of dirsOf(runnable[n])) emit(failedRow(runnable[n], d, 'error', `the executor exited 0 without a result for this case`, tag, device));
      remaining = [];
      break;
    }
    if (code !== 0) {
      const allFaults = readJsonl<Fault>(faults);
      if (!progressed && allFaults.length === 0 && !fs.existsSync(heartbeat) && !stoppedHere) {
        // It never reached its first case (bad job files, no torch, no GPU, rendezvous): every
        // relaunch would end the same way.
        refused = new AttnbenchError('worker', `the executor stopped before its first case (exit ${code}): ${lastWords(recent) || 'no output'}`);
        break;
      }
      // The first case without rows is the one the launch died in (cases run in order), unless
      // it never started: in dist mode a rank that fails a case exits once rank 0 has written
      // that case's rows (its peers may be stuck in a collective), so a launch that made
      // progress can end between cases. Then the rest runs again, with nobody blamed; a case
      // that kills its launch silently is blamed on the next attempt, which makes no progress.
      const n = missing[0];
      const fl = allFaults.filter((f) => f.case === ids[n]);
      if (fl.length === 0 && progressed && !stoppedHere) {
        remaining = missing;
        continue;
      }
      const timeout = code === STOPPED_EXIT || fl.some((f) => f.status === 'timeout');
      const msg = fl.length
        ? [...new Set(fl.map((f) => `rank ${f.rank}: ${f.message}`))].join('; ')
        : stoppedHere
          ? `no sign of progress for ${(idleMs ?? 0) / 1000} s (--timeout ${timeoutS} s + margin); attnbench stopped the executor (no rank reported where it was)`
          : `the executor exited with code ${code} during this case (no rank reported a fault)`;
      for (const d of dirsOf(runnable[n])) emit(failedRow(runnable[n], d, timeout ? 'timeout' : 'error', msg, tag, device));
      remaining = missing.slice(1);
    } else remaining = missing;
  }
  pump();
  // The other nodes wait for a word on launch number `commands.length` (the next one).
  if (multi) writeDecision(o.dir, commands.length, { stop: true });
  if (refused) throw refused;
  return { written, commands, rows, skipped };
}
