// Bring your own kernel: `--kernel-module pkg.module` (or a .py file) loads an external python
// kernel that declares itself as ours do (python/attnbench_worker/kernels/external.py). The python
// worker describes it (`python -m attnbench_worker describe`), its descriptor is registered next to
// the built-in ones (src/kernels/registry.ts registerKernel), and ATTNBENCH_KERNEL_MODULES tells
// every python process started from here (kernel workers, CP ranks) to load it. From then on it is
// a kernel like the others: doctor lists it, sweeps run it, CP runs it when it has the partial
// entry, rows and the report carry its id.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { AttnbenchError } from '../errors.js';
import { badInput } from '../errors.js';
import { pythonDir, pythonExecutable } from '../worker/client.js';
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

/** Asks python for the modules' declarations (imports them; checks them). Bad input: exit 2. */
export function describeKernelModules(specs: readonly string[], python?: string): ExternalKernel[] {
  if (specs.length === 0) return [];
  const exe = pythonExecutable(python);
  const args = ['-m', 'attnbench_worker', 'describe', ...specs.flatMap((s) => ['--kernel-module', normalizeSpec(s)])];
  const r = spawnSync(exe, args, {
    env: { ...process.env, PYTHONPATH: [pythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.error) throw new AttnbenchError('unavailable', `--kernel-module: cannot run ${exe}: ${r.error.message}`, 2);
  if (r.status !== 0) {
    const line = (r.stderr || '').trim().split('\n').pop() ?? '';
    throw badInput(`--kernel-module: ${line.replace(/^attnbench_worker: /, '') || `python exited ${r.status}`}`);
  }
  return JSON.parse(r.stdout) as ExternalKernel[];
}

/**
 * Loads and registers the modules; sets ATTNBENCH_KERNEL_MODULES for the python processes this
 * process starts. Registering the same module twice (two commands in one process) is a no-op.
 */
export function useKernelModules(specs: readonly string[], python?: string): ExternalKernel[] {
  const out: ExternalKernel[] = [];
  for (const k of describeKernelModules(specs, python)) {
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
