// Executor factory: one id per executor, used by the CLI and presets.
import { EXECUTOR_IDS, type ExecutorId } from '../kernels/types.js';
import { badInput } from '../errors.js';
import { CpuKernelExecutor } from './cpu-executor.js';
import type { KernelExecutor } from '../kernels/case.js';

export { EXECUTOR_IDS };

/** requireGpu false: the kernels to run are pure python (an external 'py' kernel), no torch or GPU needed. */
export async function createExecutor(id: ExecutorId, opts: { python?: string; timeoutS?: number; requireGpu?: boolean } = {}): Promise<KernelExecutor> {
  switch (id) {
    case 'cpu':
      return new CpuKernelExecutor();
    case 'torch':
    case 'jax': {
      const { TorchExecutor } = await import('../worker/executor.js');
      return new TorchExecutor({ python: opts.python, flavour: id, timeoutS: opts.timeoutS, requireGpu: opts.requireGpu });
    }
    default:
      throw badInput(`unknown executor '${id}': expected one of ${EXECUTOR_IDS.join(', ')}`);
  }
}
