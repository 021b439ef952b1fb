// TorchExecutor: the KernelExecutor (src/kernels/case.ts) that runs kernel cases in the python worker.
// flavour 'torch' runs the torch kernels, flavour 'jax' the JAX ones in a JAX process of their own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseOutcome, KernelCase, KernelExecutor } from '../kernels/case.js';
import { AttnbenchError } from '../errors.js';
import { allKernels, getKernel } from '../kernels/registry.js';
import type { KernelDescriptor } from '../kernels/types.js';
import type { GeneratedMask } from '../mask/types.js';
import type { Environment } from '../results/schema.js';
import { ArrayFile } from './arrays.js';
import { WorkerClient, pythonExecutable, type WorkerOptions } from './client.js';
import { buildJob } from './jobs.js';
import { environmentOf, outcomeOfReply } from './outcome.js';
import type { Hello } from './protocol.js';

export interface TorchExecutorOptions {
  readonly python?: string;
  readonly flavour?: 'torch' | 'jax';
  /** Per-job limit in seconds (default jobs.ts DEFAULT_TIMEOUT_S). */
  readonly timeoutS?: number;
  /** Refuse to run without torch (jax) and a GPU (default true; tests with py_ref set false). */
  readonly requireGpu?: boolean;
  /** Descriptors beyond the registry (tests: the pure-python py_ref kernel). */
  readonly kernels?: readonly KernelDescriptor[];
  /** Folder for the jobs' binary array files (default: a fresh temp folder, removed on close). */
  readonly workDir?: string;
  readonly allowShort?: boolean;
  readonly worker?: Omit<WorkerOptions, 'python' | 'group'>;
}

export class TorchExecutor implements KernelExecutor {
  readonly id: 'torch' | 'jax';
  private readonly client: WorkerClient;
  private readonly opts: TorchExecutorOptions;
  private readonly workDir: string;
  private readonly ownWorkDir: boolean;
  private jobs = 0;

  constructor(o: TorchExecutorOptions = {}) {
    this.opts = o;
    this.id = o.flavour ?? 'torch';
    this.client = new WorkerClient({ ...o.worker, python: o.python, group: this.id });
    this.ownWorkDir = !o.workDir;
    this.workDir = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-jobs-'));
  }

  /** The worker's handshake; throws a one-line 'unavailable' error without python, torch/jax or a GPU. */
  async hello(): Promise<Hello> {
    const h = await this.client.hello();
    if (this.opts.requireGpu !== false) {
      const problems = h.env.problems;
      if (problems.length) {
        throw new AttnbenchError('unavailable', `${this.id} executor: ${problems.join('; ')} (python: ${pythonExecutable(this.opts.python)})`);
      }
    }
    return h;
  }

  async environment(): Promise<Environment> {
    return environmentOf((await this.hello()).env, process.argv.slice(1).join(' '));
  }

  private descriptor(id: string): KernelDescriptor {
    return this.opts.kernels?.find((k) => k.id === id) ?? getKernel(id);
  }

  async available(): Promise<ReadonlySet<string>> {
    const h = await this.hello();
    const mine = new Set([...allKernels().filter((k) => k.executor === this.id).map((k) => k.id), ...(this.opts.kernels ?? []).map((k) => k.id)]);
    return new Set(Object.entries(h.kernels).filter(([id, k]) => k.available && mine.has(id)).map(([id]) => id));
  }

  /** Why each kernel of this executor is unavailable (doctor). */
  async unavailable(): Promise<ReadonlyMap<string, string>> {
    const h = await this.client.hello();
    return new Map(Object.entries(h.kernels).filter(([, k]) => !k.available).map(([id, k]) => [id, k.reason ?? 'unavailable']));
  }

  async run(c: KernelCase, mask: GeneratedMask): Promise<CaseOutcome> {
    const d = this.descriptor(c.kernel);
    if (d.executor !== this.id && !this.opts.kernels?.includes(d)) {
      return { status: 'unsupported', message: `${d.id} runs on the ${d.executor} executor, not ${this.id}`, times: null, memory: null, error: null };
    }
    const file = path.join(this.workDir, `job-${process.pid}-${this.jobs++}.bin`);
    const arrays = new ArrayFile(file);
    try {
      const plan = buildJob(c, mask, d, arrays, { timeoutS: this.opts.timeoutS, allowShort: this.opts.allowShort });
      arrays.close();
      if (plan.kind === 'unsupported') return { status: 'unsupported', message: plan.reason, times: null, memory: null, error: null };
      return outcomeOfReply(await this.client.run(plan.job));
    } finally {
      arrays.close();
      fs.rmSync(file, { force: true });
    }
  }

  /** How many times a dead or timed-out worker was replaced. */
  get restarts(): number {
    return this.client.restarts;
  }

  async close(): Promise<void> {
    await this.client.close();
    if (this.ownWorkDir) fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}
