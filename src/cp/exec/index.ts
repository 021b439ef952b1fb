// CP executors by id. Each is loaded on demand (the cpu one spawns worker threads; a torch one
// will drive torch.distributed). Adding an executor = one module + one line here.
import { AttnbenchError, badInput } from '../../errors.js';
import type { CpExecutor } from './types.js';

export const CP_EXECUTORS: Readonly<Record<string, (() => Promise<CpExecutor>) | { unavailable: string }>> = {
  cpu: async () => (await import('./cpu.js')).createCpuExecutor(),
  torch: { unavailable: 'the torch CP executor (torch.distributed / NCCL) is not built yet; use --executor cpu' },
};

export async function loadCpExecutor(id: string): Promise<CpExecutor> {
  const e = CP_EXECUTORS[id];
  if (!e) throw badInput(`unknown CP executor '${id}' (known: ${Object.keys(CP_EXECUTORS).join(', ')})`);
  if (typeof e !== 'function') throw new AttnbenchError('unavailable', `executor ${id}: ${e.unavailable}`);
  return e();
}

export type { CpExecutor, CpRunRequest, CpRunResult } from './types.js';
