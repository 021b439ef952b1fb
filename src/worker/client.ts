// The python worker as a child process: spawn, handshake, one job at a time with a per-job timeout,
// and a fresh process after a death or a timeout (the next job starts it). JSON lines over stdio.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AttnbenchError, usage } from '../errors.js';
import { killGroup } from '../util/process-group.js';
import { HelloSchema, PROTOCOL_VERSION, WorkerMessageSchema, type Hello, type WorkerJob, type WorkerResult } from './protocol.js';

export type WorkerGroup = 'torch' | 'jax';

export interface WorkerOptions {
  /** Python executable (default: $ATTNBENCH_PYTHON, else python3 on PATH). */
  readonly python?: string;
  readonly group?: WorkerGroup;
  /**
   * Limit for the worker's boot line, its first line, written before any heavy import (default
   * $ATTNBENCH_WORKER_BOOT_S, else 30 s): a --python that is not our worker fails fast.
   */
  readonly bootTimeoutMs?: number;
  /** Handshake limit after the boot line: the worker imports torch / jax and checks every kernel (default 300 s). */
  readonly helloTimeoutMs?: number;
  /** Extra seconds on top of a job's timeoutS before the worker is killed (default 30). */
  readonly graceS?: number;
  /** Where the worker's stderr goes, line by line (default: kept, last lines only). */
  readonly onStderr?: (line: string) => void;
}

export type JobReply =
  | { readonly kind: 'result'; readonly result: WorkerResult }
  | { readonly kind: 'rejected'; readonly message: string } // the worker refused the job (protocol error)
  | { readonly kind: 'timeout'; readonly message: string }
  | { readonly kind: 'died'; readonly message: string };

/** The repository's python/ folder (holds attnbench_worker), from src/worker or dist/worker. */
export function pythonDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'python', 'attnbench_worker', '__main__.py'))) return path.join(dir, 'python');
    dir = path.dirname(dir);
  }
  throw new AttnbenchError('internal', 'cannot find the python/attnbench_worker folder next to this package');
}

export const BOOT_ENV = 'ATTNBENCH_WORKER_BOOT_S';

/** $ATTNBENCH_WORKER_BOOT_S in ms (default 30 s); a value that is not seconds > 0 is exit 2. */
export function bootLimitMs(): number {
  const env = process.env[BOOT_ENV];
  if (env === undefined || env.trim() === '') return 30_000;
  const s = Number(env);
  if (!Number.isFinite(s) || s <= 0) throw usage(`invalid ${BOOT_ENV} '${env}': expected seconds > 0`);
  return Math.min(s * 1000, 2 ** 31 - 1); // setTimeout fires at once beyond 2^31-1 ms
}

/**
 * A python that wrote no boot line within the boot limit (the worker, `describe`, the torch probe):
 * one line naming it, exit 2 like a missing python. WHAT is what it did not start.
 */
export function noBootError(python: string, what: string, bootMs: number): AttnbenchError {
  return new AttnbenchError(
    'unavailable',
    `python '${python}' did not start ${what} within ${bootMs / 1000} s (no boot line: not a python 3 interpreter? pass --python or set ATTNBENCH_PYTHON; ${BOOT_ENV}=<seconds> allows a slower start)`,
  );
}

export function pythonExecutable(opt?: string): string {
  // An empty ATTNBENCH_PYTHON is unset (spawn('') fails with "The argument 'file' cannot be empty").
  return opt ?? (process.env.ATTNBENCH_PYTHON || 'python3');
}

type Waiter = (msg: unknown) => void;

/** One live worker process. */
export class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly python: string;
  private readonly tail: string[] = [];
  private waiter: Waiter | null = null;
  private exited: string | null = null;
  private helloMsg: Hello | null = null;

  private constructor(o: WorkerOptions) {
    this.python = pythonExecutable(o.python);
    const group = o.group ?? 'torch';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: [pythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      PYTHONUNBUFFERED: '1',
    };
    if (group === 'jax') env.XLA_PYTHON_CLIENT_PREALLOCATE ??= 'false';
    this.child = spawn(this.python, ['-m', 'attnbench_worker', 'serve', '--group', group], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      detached: true, // own process group: a timeout kills the worker and its compiler children
    });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return; // not a protocol line (the worker points fd 1 at stderr; be lenient)
      try {
        this.waiter?.(JSON.parse(line));
      } catch {
        /* not JSON: ignored */
      }
    });
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => {
      o.onStderr?.(line);
      if (!line.trim()) return;
      this.tail.push(line);
      if (this.tail.length > 40) this.tail.shift();
    });
    this.child.stdin!.on('error', () => {}); // EPIPE after a death is reported through 'exit'
    const gone = (why: string) => {
      if (this.exited) return;
      this.exited = why;
      this.waiter?.({ type: '__exit', message: why });
    };
    this.child.on('error', (e: NodeJS.ErrnoException) =>
      gone(e.code === 'ENOENT' ? `python not found: '${this.python}' (pass --python or put python3 on PATH)` : `cannot start ${this.python}: ${e.message}`),
    );
    this.child.on('exit', (code, signal) => gone(`worker exited with ${signal ? `signal ${signal}` : `code ${code}`}: ${lastWords(this.tail)}`));
  }

  /**
   * Starts a worker and waits for its handshake: first the boot line within the boot limit (a
   * program that is not our worker fails here, fast), then the hello within the hello limit.
   */
  static async start(o: WorkerOptions = {}): Promise<WorkerProcess> {
    const bootMs = o.bootTimeoutMs ?? bootLimitMs();
    const w = new WorkerProcess(o);
    const helloMs = o.helloTimeoutMs ?? 300_000;
    const raw = await new Promise<unknown>((resolve, reject) => {
      const fail = (e: AttnbenchError, kill = true) => {
        clearTimeout(timer);
        w.waiter = null;
        if (kill) w.kill();
        reject(e);
      };
      const noHello = () => fail(new AttnbenchError('worker', `the python worker did not say hello within ${helloMs / 1000} s`));
      let timer = setTimeout(() => fail(noBootError(w.python, 'the attnbench worker', bootMs)), bootMs);
      let booted = false;
      // One waiter for both steps: boot and hello may arrive in one chunk (no line is dropped in between).
      w.waiter = (m) => {
        const msg = m as { type?: unknown; protocol?: unknown; message?: string };
        if (msg.type === '__exit') return fail(new AttnbenchError('unavailable', msg.message ?? 'the python worker did not start'), false);
        if (msg.type === 'boot' && !booted) {
          booted = true;
          if (msg.protocol !== PROTOCOL_VERSION)
            return fail(new AttnbenchError('worker', `the python worker speaks protocol ${String(msg.protocol)}, this attnbench speaks ${PROTOCOL_VERSION}`));
          clearTimeout(timer);
          timer = setTimeout(noHello, helloMs);
          return;
        }
        clearTimeout(timer); // the hello (or what stands in its place: checked below)
        w.waiter = null;
        resolve(m);
      };
      if (w.exited) w.waiter({ type: '__exit', message: w.exited });
    });
    const parsed = HelloSchema.safeParse(raw);
    if (!parsed.success) {
      w.kill();
      throw new AttnbenchError('worker', `the python worker's hello is malformed: ${parsed.error.issues[0]?.message ?? ''}`);
    }
    if (parsed.data.protocol !== PROTOCOL_VERSION) {
      w.kill();
      throw new AttnbenchError('worker', `the python worker speaks protocol ${parsed.data.protocol}, this attnbench speaks ${PROTOCOL_VERSION}`);
    }
    w.helloMsg = parsed.data;
    w.send({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'attnbench-ts' });
    return w;
  }

  get hello(): Hello {
    return this.helloMsg!;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  private send(msg: unknown): void {
    this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  /** Runs one job; a timeout kills the process (this object is then dead). */
  run(job: WorkerJob, graceS = 30): Promise<JobReply> {
    if (this.exited) return Promise.resolve({ kind: 'died', message: this.exited });
    return new Promise<JobReply>((resolve) => {
      const limitS = job.timeoutS + graceS;
      const timer = setTimeout(() => {
        this.waiter = null;
        this.kill();
        resolve({ kind: 'timeout', message: `no result within ${job.timeoutS} s (+${graceS} s grace); worker killed` });
      }, limitS * 1000);
      this.waiter = (raw) => {
        const m = raw as { type?: string; message?: string };
        if (m.type === '__exit') {
          clearTimeout(timer);
          this.waiter = null;
          resolve({ kind: 'died', message: m.message ?? 'worker died' });
          return;
        }
        const parsed = WorkerMessageSchema.safeParse(raw);
        if (!parsed.success) {
          clearTimeout(timer);
          this.waiter = null;
          this.kill();
          resolve({ kind: 'died', message: `protocol broken: ${parsed.error.issues[0]?.message ?? 'bad message'}` });
          return;
        }
        const msg = parsed.data;
        if (msg.type === 'result') {
          clearTimeout(timer);
          this.waiter = null;
          resolve({ kind: 'result', result: msg.result });
        } else if (msg.type === 'error') {
          clearTimeout(timer);
          this.waiter = null;
          resolve({ kind: 'rejected', message: msg.message });
        }
      };
      this.send({ type: 'job', job });
    });
  }

  /** Polite stop: bye, then a kill if the worker does not leave within `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        killWorker(this.child);
        resolve();
      }, graceMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.send({ type: 'bye' });
        this.child.stdin!.end();
      } catch {
        killWorker(this.child);
      }
    });
  }

  /** Kills the worker's process group; this object is dead from now on. */
  kill(): void {
    this.exited ??= 'killed by attnbench';
    killWorker(this.child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  lastWords(): string {
    return lastWords(this.tail);
  }
}

function lastWords(tail: readonly string[]): string {
  for (let i = tail.length - 1; i >= 0; i--) if (/error|exception/i.test(tail[i])) return tail[i].trim().slice(0, 400);
  return tail.length ? tail[tail.length - 1].trim().slice(0, 400) : 'no output';
}

/** The worker's process group, unless the worker has already exited (the worker's own rule; a CP launch's group is killed after its leader ends too). */
function killWorker(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killGroup(child);
}

/** A worker that is started on first use and again after a death or a timeout. */
export class WorkerClient {
  private proc: WorkerProcess | null = null;
  private starting: Promise<WorkerProcess> | null = null;
  readonly options: WorkerOptions;
  restarts = 0;

  constructor(o: WorkerOptions = {}) {
    this.options = o;
  }

  async process(): Promise<WorkerProcess> {
    if (this.proc?.alive) return this.proc;
    if (this.proc) this.restarts++;
    this.starting ??= WorkerProcess.start(this.options).finally(() => (this.starting = null));
    this.proc = await this.starting;
    return this.proc;
  }

  async hello(): Promise<Hello> {
    return (await this.process()).hello;
  }

  async run(job: WorkerJob): Promise<JobReply> {
    const p = await this.process();
    const reply = await p.run(job, this.options.graceS ?? 30);
    if (reply.kind === 'result' && reply.result.fatal) p.kill();
    return reply;
  }

  async close(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p) await p.close();
  }
}
