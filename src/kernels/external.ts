// Bring your own kernel: `--kernel-module pkg.module` (or a .py file) loads an external python
// kernel that declares itself as ours do (python/attnbench_worker/kernels/external.py). The python
// worker describes it (`python -m attnbench_worker describe`), its descriptor is registered next to
// the built-in ones (src/kernels/registry.ts registerKernel), and ATTNBENCH_KERNEL_MODULES tells
// every python process started from here (kernel workers, CP ranks) to load it. From then on it is
// a kernel like the others: doctor lists it, sweeps run it, CP runs it when it has the partial
// entry, rows and the report carry its id.
import path from 'node:path';
import { AttnbenchError, badInput } from '../errors.js';
import { lastLine, runBooted, type BootedRun } from '../worker/boot.js';
import { bootLimitMs, noBootError, pythonDir, pythonExecutable } from '../worker/client.js';
import { PROTOCOL_VERSION } from '../worker/protocol.js';
import type { GpuKernelDescriptor } from './gpu/accept.js';
import { allKernels, getKernel, isKernelId, registerKernel } from './registry.js';
import type { MaskFormat } from './types.js';

export const KERNEL_MODULES_ENV = 'ATTNBENCH_KERNEL_MODULES';

/** What `python -m attnbench_worker describe` says about a module. */
export interface ExternalKernel extends GpuKernelDescriptor {
  readonly group: 'torch' | 'jax' | 'py';
  /** The module as given (dotted name, or an absolute file path). */
  readonly module: string;
  /** Has the kernel-suite entry (build, or run for 'py' kernels). */
  readonly suite: boolean;
  /** Has the partial-attention entry (runs under CP). */
  readonly partial: boolean;
}

/** A file spec (a path) becomes absolute, so children started elsewhere find it; module names stay. */
export function normalizeSpec(spec: string): string {
  return spec.endsWith('.py') || spec.includes('/') || spec.includes(path.sep) ? path.resolve(spec) : spec;
}

export interface DescribeOptions {
  /** Limit for describe's boot line, written before the modules are imported (default $ATTNBENCH_WORKER_BOOT_S, else 30 s). */
  readonly bootMs?: number;
  /** Limit for the rest: importing the modules (and what they import, torch) and checking them (default 300 s). */
  readonly timeoutMs?: number;
}

/**
 * Asks python for the modules' declarations (imports them; checks them). Bad input: exit 2; a
 * python that writes no boot line within the boot limit: 'unavailable', exit 2, in seconds.
 */
export async function describeKernelModules(specs: readonly string[], python?: string, o: DescribeOptions = {}): Promise<ExternalKernel[]> {
  if (specs.length === 0) return [];
  const bootMs = o.bootMs ?? bootLimitMs();
  const timeoutMs = o.timeoutMs ?? 300_000;
  const exe = pythonExecutable(python);
  const args = ['-m', 'attnbench_worker', 'describe', ...specs.flatMap((s) => ['--kernel-module', normalizeSpec(s)])];
  const env = { ...process.env, PYTHONPATH: [pythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  return describedKernels(await runBooted(exe, args, { env, bootMs, limitMs: timeoutMs }), exe, bootMs, timeoutMs);
}

/** The declarations in describe's run, or the one-line error it means (pure). */
export function describedKernels(r: BootedRun, exe: string, bootMs: number, timeoutMs: number): ExternalKernel[] {
  switch (r.kind) {
    case 'spawn_error':
      throw new AttnbenchError('unavailable', `--kernel-module: cannot run ${exe}: ${r.error.message}`, 2);
    case 'no_boot':
      throw new AttnbenchError('unavailable', `--kernel-module: ${noBootError(exe, 'the attnbench worker', bootMs).message}`, 2);
    case 'timeout':
      throw new AttnbenchError('unavailable', `--kernel-module: python '${exe}' did not describe the modules within ${timeoutMs / 1000} s`, 2);
    case 'done':
      break;
  }
  if (r.code !== 0) {
    const line = lastLine(r.stderr);
    throw badInput(`--kernel-module: ${line.replace(/^attnbench_worker: /, '') || `python exited with ${r.code === null ? `signal ${r.signal}` : `code ${r.code}`}`}`);
  }
  if (r.boot && r.boot.protocol !== PROTOCOL_VERSION)
    throw new AttnbenchError('worker', `--kernel-module: the python worker speaks protocol ${String(r.boot.protocol)}, this attnbench speaks ${PROTOCOL_VERSION}`);
  let v: unknown;
  try {
    v = JSON.parse(lastLine(r.stdout)); // the last line: a module may print while it is imported
  } catch {
    v = null;
  }
  if (!Array.isArray(v)) throw new AttnbenchError('worker', `--kernel-module: python '${exe}' printed no declarations (${lastLine(r.stdout).slice(0, 200) || 'no output'})`);
  return v as ExternalKernel[];
}

/**
 * Loads and registers the modules; sets ATTNBENCH_KERNEL_MODULES for the python processes this
 * process starts. Registering the same module twice (two commands in one process) is a no-op.
 */
export async function useKernelModules(specs: readonly string[], python?: string): Promise<ExternalKernel[]> {
  const out: ExternalKernel[] = [];
  for (const k of await describeKernelModules(specs, python)) {
    const d: ExternalKernel = { ...k, formats: k.formats as MaskFormat[] };
    if (isKernelId(d.id)) {
      const have = getKernel(d.id) as Partial<ExternalKernel>;
      if (have.module !== d.module) throw badInput(`--kernel-module ${d.module}: kernel id '${d.id}' is taken (a built-in kernel or another module)`);
    } else registerKernel(d);
    out.push(d);
  }
  const have = (process.env[KERNEL_MODULES_ENV] ?? '').split(path.delimiter).filter(Boolean);
  const add = specs.map(normalizeSpec).filter((s) => !have.includes(s));
  process.env[KERNEL_MODULES_ENV] = [...have, ...add].join(path.delimiter);
  return out;
}

/** Whether a kernel id is a registered external kernel of GROUP 'py' (pure python: no torch, no GPU). */
export function isPurePython(id: string): boolean {
  if (!isKernelId(id)) return false;
  return (getKernel(id) as Partial<ExternalKernel>).group === 'py';
}

/** Registered external kernels that have the partial-attention entry (they run under CP). */
export function partialExternalIds(): string[] {
  return allKernels()
    .filter((k) => (k as Partial<ExternalKernel>).partial === true)
    .map((k) => k.id);
}

/** ` --kernel-module M` for every module in use: printed commands load them wherever they run. */
export function kernelModuleArgs(): string {
  return (process.env[KERNEL_MODULES_ENV] ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((m) => ` --kernel-module ${m}`)
    .join('');
}
