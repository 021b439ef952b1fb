// CP executors by id (CP_EXECUTOR_IDS in src/cp/types.ts). cpu runs plans in worker threads
// behind the CpExecutor interface, loaded on demand; torch drives torch.distributed (torchrun with
// NCCL / gloo, or virtual ranks on one GPU) through src/cp/torch. Adding an executor = one module
// + one entry here.
import { AttnbenchError } from '../../errors.js';
import type { CpExecutorId } from '../types.js';
import type { CpExecutor } from './types.js';

export interface CpExecutorEntry {
  readonly id: CpExecutorId;
  readonly description: string;
  /** The in-process executor, or null when the executor runs through src/cp/torch's launcher. */
  readonly load: (() => Promise<CpExecutor>) | null;
}

export const CP_EXECUTORS = [
  { id: 'cpu', description: 'worker threads on this machine, float32 (any machine)', load: async () => (await import('./cpu.js')).createCpuExecutor() },
  {
    id: 'torch',
    description: 'torch.distributed: torchrun with NCCL on GPUs or gloo on CPU tensors, or --virtual-ranks on one GPU (src/cp/torch)',
    load: null,
  },
] as const satisfies readonly CpExecutorEntry[];

export async function loadCpExecutor(id: CpExecutorId): Promise<CpExecutor> {
  const e: CpExecutorEntry = CP_EXECUTORS.find((x) => x.id === id)!;
  if (!e.load) throw new AttnbenchError('internal', `CP executor ${id} runs through its launcher (src/cp/torch), not in process`);
  return e.load();
}

export type { CpCaseOutcome, CpCaseReport, CpExecutor, CpRunRequest, CpRunResult } from './types.js';
