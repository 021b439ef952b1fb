// What every launch of the torch CP executor shares: the job folder's run files, the command line
// of a launch (torchrun, or one python process for virtual ranks) and its environment, and the two
// ways to use a job folder without the executor's run loop (./executor.ts):
//   writeTorchPlan        --plan-dir: write the job folder and return the command (nothing runs)
//   followTorchLaunches   several nodes, node rank != 0: launch what node 0 names, write nothing
//
// Several nodes: every node runs the same command with its --node-rank and the job folder on a
// filesystem they share. Node 0 writes the job files, streams the rows and decides each relaunch
// (launch.<n>.json in the folder); the other nodes launch the index node 0 names, or stop.
import fs from 'node:fs';
import path from 'node:path';
import { AttnbenchError } from '../../errors.js';
import { pythonDir, pythonExecutable } from '../../worker/client.js';
import { NCCL_ENV, torchrunArgs, virtualArgs, type WorkerArgs } from './launch.js';
import { INDEX_FILE, writeJobFiles, type CpJob, type WrittenJobs } from './manifest.js';
import type { TorchLaunch } from './options.js';
import { LaunchOutput } from './launch-output.js';
import { launchProcess, type LaunchWatch } from './spawn.js';
import { filesFingerprint } from './tail.js';

export const RAW_RESULTS = 'results.raw.jsonl';
/** Seconds past --timeout before a launch without progress is stopped from here. */
export const KILL_MARGIN_S = 90;

/** Files next to the raw results: the ranks' fault lines and their heartbeat (python/attnbench_worker/cp). */
export const faultsFile = (raw: string): string => `${raw}.faults.jsonl`;
export const heartbeatFile = (raw: string): string => `${raw}.heartbeat`;

/** Starts a process and resolves with its exit code (tests inject one). */
export type SpawnFn = (argv: readonly string[], env: NodeJS.ProcessEnv, watch: LaunchWatch) => Promise<number>;

/** How the torch executor launches: the same on every node of a run. */
export interface TorchRunOptions {
  readonly launch: TorchLaunch;
  /** Job folder (manifests, arrays.bin, raw results); shared by every node with several nodes. */
  readonly dir: string;
  readonly python?: string;
  /** The ranks' watchdog: seconds without a step starting before a case is ended (python default 600; 0 = off). */
  readonly timeoutS?: number;
  readonly traceDir?: string;
  /** Write the kernels' step arguments (default: on cuda unless every case runs the reference). */
  readonly blockTables?: boolean;
  /** Seconds past timeoutS without any sign of progress before a launch is stopped (default 90). */
  readonly killMarginS?: number;
  /** Seconds from SIGTERM to SIGKILL when stopping a launch (default 45: torchrun takes 30 to stop its workers). */
  readonly killGraceS?: number;
  /** Output of the launched processes, line by line (default: this process's stderr). */
  readonly onLine?: (line: string) => void;
  readonly spawnFn?: SpawnFn;
}

/** How the ranks ran, as rows and ids record it: `virtual<P>` or `dist-<backend>`. */
export const launchTag = (l: TorchLaunch): string => (l.kind === 'virtual' ? `virtual${l.world}` : `dist-${l.backend}`);

/** Flex needs block tables; the reference kernel and CPU tensors do not. */
export const needsBlockTables = (device: 'cuda' | 'cpu', jobs: readonly CpJob[]): boolean => device === 'cuda' && jobs.some((j) => j.meta.kernel !== 'reference');

export const multiNode = (l: TorchLaunch): boolean => l.kind === 'dist' && l.nnodes > 1;
export const isLeader = (l: TorchLaunch): boolean => l.kind === 'virtual' || (l.nodeRank ?? 0) === 0;

/** The argv of a launch running `index` (an index file of the job folder). */
export function launchArgv(o: TorchRunOptions, index: string, extra: Partial<WorkerArgs> = {}): string[] {
  const l = o.launch;
  const a: WorkerArgs & { python: string } = {
    manifests: [index],
    out: path.join(o.dir, RAW_RESULTS),
    backend: l.kind === 'dist' ? l.backend : undefined,
    device: l.device,
    timeoutS: o.timeoutS,
    traceDir: o.traceDir,
    python: pythonExecutable(o.python),
    ...extra,
  };
  return l.kind === 'virtual'
    ? virtualArgs({ ...a, virtualRanks: l.world })
    : torchrunArgs({ ...a, nprocPerNode: l.nprocPerNode, nnodes: l.nnodes, nodeRank: l.nodeRank, rdzvEndpoint: l.rdzvEndpoint, rdzvId: l.rdzvId });
}

/** The environment of a launch: NVLink multicast off, the python package on PYTHONPATH. */
export function launchEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...NCCL_ENV,
    PYTHONPATH: [pythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
  };
}

/** The launch's output: shown (and kept in the folder's launch log); the last lines are kept for errors. */
export function launchOutput(o: TorchRunOptions): { shown: LaunchOutput; recent: string[]; onLine: (l: string) => void } {
  const say = o.onLine ?? ((l: string) => process.stderr.write(`${l}\n`));
  const logFile = path.join(o.dir, multiNode(o.launch) ? `launch.node${o.launch.kind === 'dist' ? (o.launch.nodeRank ?? 0) : 0}.log` : 'launch.log');
  fs.rmSync(logFile, { force: true });
  const shown = new LaunchOutput(say, logFile);
  const recent: string[] = [];
  const onLine = (l: string) => {
    recent.push(l);
    if (recent.length > 40) recent.shift();
    shown.line(l);
  };
  return { shown, recent, onLine };
}

/** Starts a launch; a python that cannot be started is AttnbenchError 'unavailable' (exit 2). */
export async function startLaunch(o: TorchRunOptions, argv: readonly string[], watch: LaunchWatch, shown: LaunchOutput): Promise<number> {
  try {
    return await (o.spawnFn ?? launchProcess)(argv, launchEnv(), watch);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new AttnbenchError('unavailable', err.code === 'ENOENT' ? `python not found: '${argv[0]}'` : `cannot start ${argv[0]}: ${err.message}`, 2);
  } finally {
    shown.end();
  }
}

/** Node 0's word to the other nodes before launch n (n >= 1): the index to run, or stop. */
export type Decision = { readonly index: string } | { readonly stop: true };
const decisionFile = (dir: string, n: number) => path.join(dir, `launch.${n}.json`);

export function writeDecision(dir: string, n: number, d: Decision): void {
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
export function clearRunState(dir: string): void {
  const raw = path.join(dir, RAW_RESULTS);
  for (const f of [raw, faultsFile(raw), heartbeatFile(raw)]) fs.rmSync(f, { force: true });
  for (const name of fs.readdirSync(dir)) if (/^(launch\.\d+\.json(\.tmp)?|index\.retry\d+\.json)$/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/** Seconds without progress before a launch is stopped from here (undefined: never). */
export const idleLimitMs = (o: TorchRunOptions): number | undefined => {
  const timeoutS = o.timeoutS ?? 600;
  return timeoutS > 0 ? (timeoutS + (o.killMarginS ?? KILL_MARGIN_S)) * 1000 : undefined;
};
export const graceMs = (o: TorchRunOptions): number => (o.killGraceS ?? 45) * 1000;

/** The watch of a launch: stopped after idleLimitMs without output or a change to the run files. */
export function progressWatch(o: TorchRunOptions, onLine: (l: string) => void, onTick: () => void, onStopped?: () => void): LaunchWatch {
  const raw = path.join(o.dir, RAW_RESULTS);
  const say = o.onLine ?? ((l: string) => process.stderr.write(`${l}\n`));
  return {
    onLine,
    idleMs: idleLimitMs(o),
    graceMs: graceMs(o),
    fingerprint: () => filesFingerprint([raw, faultsFile(raw), heartbeatFile(raw)]),
    onTick,
    onStop: (ms) => {
      onStopped?.();
      say(`attnbench: no sign of progress from the executor for ${ms / 1000} s (--timeout ${o.timeoutS ?? 600} s + margin): stopping it`);
    },
  };
}

/** --plan-dir: the job files of every case and the command that runs them (with --resume: a rerun continues). */
export function writeTorchPlan(jobs: readonly CpJob[], o: TorchRunOptions): { written: WrittenJobs; command: string[] | null } {
  const written = writeJobFiles(jobs, o.dir, { blockTables: o.blockTables ?? needsBlockTables(o.launch.device, jobs) });
  return { written, command: jobs.length ? launchArgv(o, written.index, { resume: true }) : null };
}

/**
 * A node other than 0 of a several-node run: launches the job folder's index (which node 0 writes),
 * then whatever node 0 names for each relaunch, until it says stop. Writes no rows. Returns the
 * launches' command lines.
 */
export async function followTorchLaunches(o: TorchRunOptions): Promise<string[][]> {
  if (isLeader(o.launch)) throw new AttnbenchError('internal', 'followTorchLaunches runs on nodes other than 0');
  const { shown, onLine } = launchOutput(o);
  const commands: string[][] = [];
  const waitMs = (idleLimitMs(o) ?? 600_000) + graceMs(o) + 60_000;
  for (let n = 0; ; n++) {
    let index = path.join(o.dir, INDEX_FILE);
    if (n > 0) {
      const d = await waitDecision(o.dir, n, waitMs);
      if (d === null) throw new AttnbenchError('worker', `node 0 said nothing about launch ${n} within ${waitMs / 1000} s (is ${o.dir} shared by every node?)`);
      if ('stop' in d) break;
      index = path.join(o.dir, d.index);
    }
    const argv = launchArgv(o, index);
    commands.push(argv);
    await startLaunch(o, argv, progressWatch(o, onLine, () => {}), shown);
  }
  return commands;
}
