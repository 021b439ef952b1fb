// CP executors by id (CP_EXECUTOR_IDS in src/cp/types.ts), each behind the CpExecutor interface
// and run by runCp (./run-cp.ts), loaded on demand: cpu runs plans in worker threads; torch drives
// torch.distributed (torchrun with NCCL / gloo, or virtual ranks on one GPU) through
// src/cp/torch/executor.ts, after checking that its python can (no torch: one line, exit 2).
// Adding an executor = one module + one entry here.
import { AttnbenchError } from '../../errors.js';
import type { TorchExecutorOptions } from '../torch/executor.js';
import type { CpExecutorId } from '../types.js';
import type { CpExecutor } from './types.js';

/** What an executor is created with: the launch of the torch executor (the cpu one needs nothing). */
export interface CpExecutorSettings {
  readonly torch?: TorchExecutorOptions;
}

export interface CpExecutorEntry {
  readonly id: CpExecutorId;
  readonly description: string;
  readonly load: (s: CpExecutorSettings) => Promise<CpExecutor>;
}

export const CP_EXECUTORS = [
  { id: 'cpu', description: 'worker threads on this machine, float32 (any machine)', load: async () => (await import('./cpu.js')).createCpuExecutor() },
  {
    id: 'torch',
    description: 'torch.distributed: torchrun with NCCL on GPUs or gloo on CPU tensors, or --virtual-ranks on one GPU (src/cp/torch)',
    load: async (s) => {
      if (!s.torch) throw new AttnbenchError('internal', 'the torch CP executor needs its launch (CpExecutorSettings.torch)');
      return (await import('../torch/executor.js')).loadTorchExecutor(s.torch);
    },
  },
] as const satisfies readonly CpExecutorEntry[];

export async function loadCpExecutor(id: CpExecutorId, settings: CpExecutorSettings = {}): Promise<CpExecutor> {
  const e: CpExecutorEntry = CP_EXECUTORS.find((x) => x.id === id)!;
  return e.load(settings);
}

export { CpBatchRefused } from './types.js';
export type { CpCaseOutcome, CpCaseReport, CpExecutor, CpRunRequest, CpRunResult, TorchCaseSettings } from './types.js';
