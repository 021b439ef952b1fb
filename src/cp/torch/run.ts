// `attnbench cp run --executor torch`: write the job files, start the executor (torchrun, or one
// python process for --virtual-ranks), and ingest its rows. A launch that dies mid-way loses only
// the case it was running: that case gets an error / timeout row naming the rank and step (from
// the ranks' fault lines), and the launcher starts again on the cases after it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { maskArea } from '../../mask/slices.js';
import { cpuEnvironment } from '../../util/env.js';
import { appendJsonl, readJsonl } from '../../util/jsonl.js';
import { ResultRowSchema, type Direction, type ResultRow } from '../../results/schema.js';
import { pythonDir, pythonExecutable } from '../../worker/client.js';
import { NCCL_ENV, torchrunArgs, virtualArgs, type WorkerArgs } from './launch.js';
import { caseId, INDEX_FORMAT, writeJobFiles, type CpJob, type WrittenJobs } from './manifest.js';

export interface RunTorchCpOptions {
  readonly jobs: readonly CpJob[];
  /** Job folder (manifests, arrays.bin, raw results). */
  readonly dir: string;
  /** Result rows (JSONL): ingested rows are appended here. */
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
  readonly timeoutS?: number;
  readonly traceDir?: string;
  readonly dtype?: WorkerArgs['dtype'];
  readonly kernel?: WorkerArgs['kernel'];
  readonly warmup?: number;
  readonly iters?: number;
  /** Write the job files and the commands only (clusters without node: run them there). */
  readonly planOnly?: boolean;
  readonly blockTables?: boolean;
  /** Output of the launched processes, line by line (default: this process's stderr). */
  readonly onLine?: (line: string) => void;
  /** Starts a process and resolves with its exit code (tests inject one). */
  readonly spawnFn?: (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;
}

export interface RunTorchCpResult {
  readonly written: WrittenJobs;
  /** The commands run (or, with planOnly, to run). */
  readonly commands: readonly (readonly string[])[];
  readonly rows: readonly ResultRow[];
}

type Mode = { readonly kind: 'virtual'; readonly world: number } | { readonly kind: 'dist'; readonly world: number };

export const RAW_RESULTS = 'results.raw.jsonl';

/** Row id as the python executor writes it (src and python agree on this format). */
export function torchRowId(id: string, direction: Direction, mode: string, device: string): string {
  return `${id}|${direction}|torch|${mode}|${device}`;
}

function modeTag(mode: Mode, backend: string): string {
  return mode.kind === 'virtual' ? `virtual${mode.world}` : `dist-${backend}`;
}

/** A row the TypeScript side writes for a case the executor could not finish (or never ran). */
export function failedRow(job: CpJob, direction: Direction, status: 'error' | 'timeout', message: string, tag: string, device: string): ResultRow {
  const { plan, meta } = job;
  const id = caseId(plan, meta);
  const area = maskArea(job.mask);
  const fwd = 4 * area * plan.shape.headsQ * plan.shape.headDim;
  const layout: Record<string, number | string> = { ...plan.layout };
  if (tag.startsWith('virtual')) layout.virtualRanks = plan.world;
  return {
    schema: 1,
    id: torchRowId(id, direction, tag, device),
    suite: 'cp',
    executor: 'torch',
    kernel: null,
    scheme: plan.scheme,
    family: meta.family,
    maskParams: { ...meta.maskParams },
    seed: meta.seed,
    seqlen: plan.seqlen,
    batch: 1,
    headsQ: plan.shape.headsQ,
    headsKv: plan.shape.headsKv,
    headDim: plan.shape.headDim,
    dtype: meta.dtype,
    direction,
    world: plan.world,
    layout,
    status,
    message,
    area,
    flops: direction === 'fwd' ? fwd : 2.5 * fwd,
    times: null,
    tflops: null,
    tflopsMeanRank: null,
    memory: null,
    error: null,
    ranks: null,
    notes: [],
    simulated: false,
    env: meta.gitRev ? cpuEnvironment({ gitRev: meta.gitRev }) : cpuEnvironment(),
  };
}

function defaultSpawn(onLine: (l: string) => void) {
  return (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
      readline.createInterface({ input: child.stdout! }).on('line', onLine);
      readline.createInterface({ input: child.stderr! }).on('line', onLine);
      child.on('error', (e) => reject(e));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
}

interface Fault {
  readonly rank?: number;
  readonly case?: string;
  readonly status?: string;
  readonly message?: string;
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
  const how = virtual ? `--virtual-ranks ${world}` : `--nproc-per-node ${o.nprocPerNode ?? 1} x --nnodes ${o.nnodes ?? 1}`;
  const rows: ResultRow[] = [];
  const runnable: CpJob[] = [];
  for (const job of o.jobs) {
    if (!o.planOnly && job.plan.world !== world) {
      const msg = `world-size mismatch: the plan is for ${job.plan.world} ranks but ${how} gives ${world}`;
      for (const d of job.meta.directions ?? (['fwd', 'bwd'] as const)) rows.push(failedRow(job, d, 'error', msg, tag, device));
    } else runnable.push(job);
  }
  const written = writeJobFiles(runnable, o.dir, { blockTables: o.blockTables });
  const raw = path.join(o.dir, RAW_RESULTS);
  const faults = `${raw}.faults.jsonl`;
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
  };
  const argvFor = (index: string) => {
    const a = { ...base, manifests: [index], python: pythonExecutable(o.python) };
    return virtual
      ? virtualArgs({ ...a, virtualRanks: world })
      : torchrunArgs({ ...a, nprocPerNode: o.nprocPerNode ?? 1, nnodes: o.nnodes, nodeRank: o.nodeRank, rdzvEndpoint: o.rdzvEndpoint, rdzvId: o.rdzvId });
  };
  const commands: string[][] = [];
  if (o.planOnly || runnable.length === 0) {
    if (runnable.length) commands.push(argvFor(written.index));
    for (const r of rows) appendJsonl(o.out, r);
    return { written, commands, rows };
  }
  for (const f of [raw, faults]) if (fs.existsSync(f)) fs.rmSync(f);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...NCCL_ENV,
    PYTHONPATH: [pythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
  };
  const run = o.spawnFn ?? defaultSpawn(o.onLine ?? ((l) => process.stderr.write(`${l}\n`)));
  const ids = written.ids;
  const dirsOf = (j: CpJob) => j.meta.directions ?? (['fwd', 'bwd'] as const);
  const doneIds = (): Set<string> => {
    const have = new Set(readJsonl<{ id?: string }>(raw).map((r) => r.id ?? ''));
    const done = new Set<string>();
    runnable.forEach((j, n) => {
      if (dirsOf(j).every((d) => have.has(torchRowId(ids[n], d, tag, device)))) done.add(ids[n]);
    });
    return done;
  };
  let remaining = runnable.map((_, n) => n);
  for (let attempt = 0; remaining.length > 0 && attempt <= runnable.length; attempt++) {
    const index = path.join(o.dir, attempt === 0 ? 'index.json' : `index.retry${attempt}.json`);
    if (attempt > 0) fs.writeFileSync(index, JSON.stringify({ format: INDEX_FORMAT, manifests: remaining.map((n) => path.basename(written.manifests[n])) }));
    const argv = argvFor(index);
    commands.push(argv);
    const code = await run(argv, env);
    const done = doneIds();
    const missing = remaining.filter((n) => !done.has(ids[n]));
    if (missing.length === 0) break;
    // Only multi-node launches leave rows to node 0: other nodes have nothing to ingest.
    if ((o.nodeRank ?? 0) !== 0) return { written, commands, rows };
    const progressed = missing.length < remaining.length;
    if (code === 0 && !progressed) {
      for (const n of missing)
        for (const d of dirsOf(runnable[n])) rows.push(failedRow(runnable[n], d, 'error', `the executor exited 0 without a result for this case`, tag, device));
      break;
    }
    if (code !== 0) {
      // The first case without rows is the one the launch died in (cases run in order).
      const n = missing[0];
      const fl = readJsonl<Fault>(faults).filter((f) => f.case === ids[n]);
      const timeout = code === 124 || fl.some((f) => f.status === 'timeout');
      const msg = fl.length
        ? [...new Set(fl.map((f) => `rank ${f.rank}: ${f.message}`))].join('; ')
        : `the executor exited with code ${code} during this case (no rank reported a fault)`;
      for (const d of dirsOf(runnable[n])) {
        const row = failedRow(runnable[n], d, timeout ? 'timeout' : 'error', msg, tag, device);
        appendJsonl(raw, row);
      }
      remaining = missing.slice(1);
    } else remaining = missing;
  }
  for (const r of readJsonl<unknown>(raw)) {
    const p = ResultRowSchema.safeParse(r);
    if (p.success) rows.push(p.data);
    else (o.onLine ?? ((l) => process.stderr.write(`${l}\n`)))(`attnbench: skipped a malformed result row: ${p.error.issues[0]?.message}`);
  }
  for (const r of rows) appendJsonl(o.out, r);
  return { written, commands, rows };
}
