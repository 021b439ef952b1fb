// Command lines that start the GPU plan executor: torchrun (one node or several), a plain python
// for virtual ranks, and a Slurm batch script for clusters. Pure: builds argv / text only.
//
//   one node     python -m torch.distributed.run --standalone --nnodes 1 --nproc_per_node 8 \
//                  -m attnbench_worker.cp run DIR/index.json --out OUT
//   several      python -m torch.distributed.run --nnodes 4 --nproc_per_node 8 --node_rank R \
//                  --rdzv_backend c10d --rdzv_endpoint HOST:PORT --rdzv_id ID -m attnbench_worker.cp ...
// torchrun's flags are written with underscores: torch 1.x knows only those, 2.x takes both.
//   virtual      python -m attnbench_worker.cp run DIR/index.json --out OUT --virtual-ranks 8
import { KERNEL_MODULES_ENV } from '../../kernels/external.js';
import path from 'node:path';
import { usage } from '../../errors.js';

/** NVLink multicast stays off on shared hosts (it can take the host's GPUs out of service). */
export const NCCL_ENV: Readonly<Record<string, string>> = {
  NCCL_NVLS_ENABLE: '0',
  TORCH_SYMM_MEM_DISABLE_MULTICAST: '1',
  NVSHMEM_DISABLE_NVLS: '1',
  TORCH_NCCL_ASYNC_ERROR_HANDLING: '1',
};

export interface WorkerArgs {
  /** Manifests or index files. */
  readonly manifests: readonly string[];
  /** Result rows (JSONL), written by rank 0. */
  readonly out: string;
  readonly backend?: 'nccl' | 'gloo';
  readonly device?: 'cuda' | 'cpu';
  /** Seconds without progress before a case is ended (watchdog). */
  readonly timeoutS?: number;
  readonly traceDir?: string;
  readonly dtype?: 'bfloat16' | 'float16' | 'float32';
  /** 'auto' or a kernel id with a partial-attention entry. */
  readonly kernel?: string;
  readonly warmup?: number;
  readonly iters?: number;
  readonly noCheck?: boolean;
  /** Skip cases whose every direction already has an ok row in `out` (a rerun continues). */
  readonly resume?: boolean;
}

export interface TorchrunOptions extends WorkerArgs {
  readonly python?: string;
  readonly nprocPerNode: number;
  readonly nnodes?: number;
  readonly nodeRank?: number;
  /** host:port of the rendezvous (first node); required with nnodes > 1. */
  readonly rdzvEndpoint?: string;
  readonly rdzvId?: string;
}

function positiveInt(v: number | undefined, what: string): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw usage(`${what} must be a positive integer, got ${v}`);
}

/** The worker's own arguments after `-m attnbench_worker.cp`. */
export function workerArgs(o: WorkerArgs): string[] {
  if (o.manifests.length === 0) throw usage('no CP job manifests to run');
  const a = ['run', ...o.manifests, '--out', o.out];
  if (o.backend) a.push('--backend', o.backend);
  if (o.device) a.push('--device', o.device);
  if (o.timeoutS !== undefined) a.push('--timeout', String(o.timeoutS));
  if (o.traceDir) a.push('--trace-dir', o.traceDir);
  if (o.dtype) a.push('--dtype', o.dtype);
  if (o.kernel) a.push('--kernel', o.kernel);
  if (o.warmup !== undefined) a.push('--warmup', String(o.warmup));
  if (o.iters !== undefined) a.push('--iters', String(o.iters));
  if (o.noCheck) a.push('--no-check');
  if (o.resume) a.push('--resume');
  // External kernels (--kernel-module): the printed command loads them too, wherever it runs.
  for (const m of (process.env[KERNEL_MODULES_ENV] ?? '').split(path.delimiter).filter(Boolean)) a.push('--kernel-module', m);
  return a;
}

/** torchrun's launcher flags (without the program). */
export function torchrunLauncherArgs(o: Pick<TorchrunOptions, 'nprocPerNode' | 'nnodes' | 'nodeRank' | 'rdzvEndpoint' | 'rdzvId'>): string[] {
  positiveInt(o.nprocPerNode, '--nproc-per-node');
  positiveInt(o.nnodes, '--nnodes');
  const nnodes = o.nnodes ?? 1;
  if (o.nodeRank !== undefined && (!Number.isSafeInteger(o.nodeRank) || o.nodeRank < 0 || o.nodeRank >= nnodes))
    throw usage(`--node-rank must be in 0..${nnodes - 1}, got ${o.nodeRank}`);
  if (nnodes === 1 && !o.rdzvEndpoint) return ['--standalone', '--nnodes', '1', '--nproc_per_node', String(o.nprocPerNode)];
  if (!o.rdzvEndpoint) throw usage('--nnodes above 1 needs --rdzv-endpoint host:port (the first node)');
  if (!/^[^:\s]+:\d+$/.test(o.rdzvEndpoint)) throw usage(`--rdzv-endpoint must be host:port, got '${o.rdzvEndpoint}'`);
  const a = ['--nnodes', String(nnodes), '--nproc_per_node', String(o.nprocPerNode)];
  if (o.nodeRank !== undefined) a.push('--node_rank', String(o.nodeRank));
  a.push('--rdzv_backend', 'c10d', '--rdzv_endpoint', o.rdzvEndpoint, '--rdzv_id', o.rdzvId ?? 'attnbench-cp');
  return a;
}

/** Exact argv of a torchrun launch of the CP executor (argv[0] is the python). */
export function torchrunArgs(o: TorchrunOptions): string[] {
  return [o.python ?? 'python3', '-m', 'torch.distributed.run', ...torchrunLauncherArgs(o), '-m', 'attnbench_worker.cp', ...workerArgs(o)];
}

/** argv of a virtual-ranks run: every rank of each plan in one process on one GPU. */
export function virtualArgs(o: WorkerArgs & { readonly python?: string; readonly virtualRanks: number }): string[] {
  positiveInt(o.virtualRanks, '--virtual-ranks');
  return [o.python ?? 'python3', '-m', 'attnbench_worker.cp', ...workerArgs(o), '--virtual-ranks', String(o.virtualRanks)];
}

export interface SbatchOptions extends WorkerArgs {
  readonly nodes: number;
  readonly gpusPerNode: number;
  /** Wall time, HH:MM:SS or minutes. */
  readonly time: string;
  readonly jobName?: string;
  readonly partition?: string;
  readonly account?: string;
  readonly cpusPerTask?: number;
  /** Folder holding python/ (PYTHONPATH); defaults to the repository the script is written from. */
  readonly repoRoot: string;
  readonly python?: string;
  readonly port?: number;
  /** Slurm's stdout/stderr file pattern. */
  readonly logFile?: string;
  /** Extra lines run before srun (module loads, venv activation). */
  readonly setup?: readonly string[];
}

/** Slurm wall time: "90" -> 01:30:00; HH:MM:SS and D-HH:MM:SS pass through. Zero, minutes or seconds >= 60, hours >= 24 after a day: exit 2. */
export function slurmTime(t: string): string {
  const bad = () => usage(`--time must be minutes or [D-]HH:MM:SS (above zero; minutes and seconds < 60), got '${t}'`);
  if (/^\d+$/.test(t)) {
    const m = Number(t);
    if (!Number.isSafeInteger(m) || m < 1) throw bad();
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${pad(Math.floor(m / 60))}:${pad(m % 60)}:00`;
  }
  const p = /^(?:(\d+)-)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(t);
  if (!p) throw bad();
  const [d, h, m, sec] = [Number(p[1] ?? 0), Number(p[2]), Number(p[3]), Number(p[4])];
  if (m >= 60 || sec >= 60 || (p[1] !== undefined && h >= 24) || d * 86400 + h * 3600 + m * 60 + sec === 0) throw bad();
  return t;
}

/** A value that goes on one `#SBATCH` line: a newline would start a line of its own in the script. */
function sbatchValue(v: string | undefined, flag: string): string | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === '' || /[\x00-\x1f\x7f]/.test(v)) throw usage(`${flag} must be one non-empty line without control characters, got ${JSON.stringify(v)}`);
  return v;
}

const shq = (s: string): string => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * A Slurm batch script: one task per node, each running torchrun with the c10d rendezvous on the
 * first node of the allocation; results land in `out` (on a shared filesystem), written by rank 0.
 */
export function sbatchScript(o: SbatchOptions): string {
  positiveInt(o.nodes, '--nodes');
  positiveInt(o.gpusPerNode, '--gpus-per-node');
  positiveInt(o.cpusPerTask, '--cpus-per-task');
  const port = o.port ?? 29500;
  if (!Number.isSafeInteger(port) || port < 1 || port > 65535) throw usage(`--port must be 1..65535, got ${port}`);
  const jobName = sbatchValue(o.jobName, '--job-name');
  const partition = sbatchValue(o.partition, '--partition');
  const account = sbatchValue(o.account, '--account');
  const logFile = sbatchValue(o.logFile, '--log');
  for (const l of o.setup ?? []) if (/[\x00\r]/.test(l)) throw usage(`--setup lines may not hold NUL or carriage returns, got ${JSON.stringify(l)}`);
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${jobName ?? 'attnbench-cp'}`,
    `#SBATCH --nodes=${o.nodes}`,
    '#SBATCH --ntasks-per-node=1',
    `#SBATCH --gpus-per-node=${o.gpusPerNode}`,
    `#SBATCH --cpus-per-task=${o.cpusPerTask ?? Math.max(8, 8 * o.gpusPerNode)}`,
    `#SBATCH --time=${slurmTime(o.time)}`,
    `#SBATCH --output=${logFile ?? 'attnbench-cp-%j.out'}`,
  ];
  if (partition) lines.push(`#SBATCH --partition=${partition}`);
  if (account) lines.push(`#SBATCH --account=${account}`);
  lines.push(
    '#SBATCH --exclusive',
    '',
    '# attnbench CP plans on GPUs: written by `attnbench cp sbatch` with its job folder.',
    'set -euo pipefail',
    '',
    '# NVLink multicast off (shared hosts), NCCL errors end the job instead of hanging it.',
    ...Object.entries(NCCL_ENV).map(([k, v]) => `export ${k}=${v}`),
    `export PYTHONPATH=${shq(`${o.repoRoot.replace(/\/$/, '')}/python`)}\${PYTHONPATH:+:\$PYTHONPATH}`,
    'export PYTHONUNBUFFERED=1',
    ...(o.setup ?? []),
    '',
    '# Rendezvous on the first node of the allocation.',
    'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    `rdzv_port=${port}`,
    '',
  );
  const launcher = [
    o.python ?? 'python3',
    '-m',
    'torch.distributed.run',
    '--nnodes',
    String(o.nodes),
    '--nproc_per_node',
    String(o.gpusPerNode),
    '--rdzv_backend',
    'c10d',
    '--rdzv_endpoint',
    '"$head_node:$rdzv_port"',
    '--rdzv_id',
    '"$SLURM_JOB_ID"',
    '-m',
    'attnbench_worker.cp',
    ...workerArgs(o).map(shq),
  ];
  lines.push(`srun --nodes=${o.nodes} --ntasks-per-node=1 --kill-on-bad-exit=1 \\`, `  ${launcher.join(' ')}`, '');
  return lines.join('\n');
}

/** One shell line: `K=V ... argv` with each word quoted where the shell needs it. */
export function shellCommand(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  return [...Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`), ...argv.map(shq)].join(' ');
}
