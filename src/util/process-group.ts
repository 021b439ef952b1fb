// Ending a child that leads a process group of its own (spawned with `detached: true`): the kernels
// worker (worker/client.ts) and the CP executor's launch (cp/torch/spawn.ts) both run that way.
import type { ChildProcess } from 'node:child_process';

/**
 * SIGKILL to the child's whole process group, or to the child alone where that fails. It does not
 * look at whether the child itself has exited: what it started may still run in its group.
 */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}
