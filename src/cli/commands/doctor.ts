// attnbench doctor: what this machine can measure. Asks the python worker (torch process, then a
// JAX process) for GPU, driver, CUDA and library versions and for each kernel's availability.
import type { Command } from 'commander';
import { allKernels } from '../../kernels/registry.js';
import { WorkerProcess, pythonExecutable, type WorkerGroup } from '../../worker/client.js';
import type { Hello } from '../../worker/protocol.js';
import { AttnbenchError } from '../../errors.js';

interface DoctorOptions {
  readonly python?: string;
  readonly json?: boolean;
  readonly jax?: boolean;
}

/** The worker's handshake (environment and kernel availability), or why it could not start. */
export async function ask(group: WorkerGroup, python: string | undefined): Promise<Hello | string> {
  try {
    const w = await WorkerProcess.start({ python, group, helloTimeoutMs: 300_000 });
    await w.close();
    return w.hello;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export async function doctor(o: DoctorOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const python = pythonExecutable(o.python);
  const torch = await ask('torch', o.python);
  if (typeof torch === 'string') throw new AttnbenchError('unavailable', torch);
  const jax = o.jax === false ? 'skipped (--no-jax)' : await ask('jax', o.python);
  const kernels = allKernels().map((k) => {
    if (k.executor === 'cpu') return { id: k.id, executor: k.executor, available: true, reason: null as string | null };
    const h = k.executor === 'jax' ? jax : torch;
    const s = typeof h === 'string' ? { available: false, reason: `jax worker: ${h}` } : h.kernels[k.id];
    return { id: k.id, executor: k.executor, available: Boolean(s?.available), reason: s?.available ? null : (s?.reason ?? 'not reported by the worker') };
  });
  const env = torch.env;
  if (o.json) {
    write(`${JSON.stringify({ python, env, jax: typeof jax === 'string' ? { error: jax } : jax.env, kernels }, null, 1)}\n`);
  } else {
    const lib = (n: string) => env.libs[n] ?? 'not installed';
    const lines = [
      `python     ${python} (${env.libs.python})`,
      `host       ${env.host}`,
      `gpu        ${env.gpu ?? 'none'}${env.gpuCount ? ` x${env.gpuCount}` : ''}${env.gpuMemoryBytes ? `, ${(env.gpuMemoryBytes / 2 ** 30).toFixed(1)} GiB` : ''}${env.capability ? `, sm ${env.capability}` : ''}`,
      `driver     ${env.driver ?? 'none'}`,
      `cuda       ${env.cuda ?? 'none'}`,
      `torch      ${lib('torch')}`,
      `triton     ${lib('triton')}`,
      `cudnn      ${lib('cudnn')}`,
      `jax        ${typeof jax === 'string' ? `not usable: ${jax}` : `${jax.env.libs.jax ?? 'not installed'}${jax.env.problems.length ? ` (${jax.env.problems.join('; ')})` : ''}`}`,
      '',
      'kernels',
      ...kernels.map((k) => `  ${k.id.padEnd(20)} ${k.executor.padEnd(6)} ${k.available ? 'available' : `unavailable: ${k.reason}`}`),
    ];
    write(`${lines.join('\n')}\n`);
  }
  // A finding, not a failure: doctor did its job (exit 0); the commands that need the GPU exit 2.
  if (env.problems.length) write(`finding: no GPU executor here: ${env.problems.join('; ')} (python: ${python}); the cpu executor still works\n`);
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('show GPU, driver, CUDA, torch/triton/jax versions and which kernels can run here')
    .option('--python <path>', 'python executable for the worker (default: $ATTNBENCH_PYTHON or python3)')
    .option('--no-jax', 'do not start a JAX process')
    .option('--json', 'machine-readable output')
    .action(async (o: DoctorOptions) => doctor(o));
}
