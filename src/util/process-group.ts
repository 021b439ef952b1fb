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

/**
 * While a child leads its own group, a Ctrl-C (or SIGTERM, SIGHUP) reaches only this process. The
 * returned hook passes such a signal on to the child's group, then lets it end this process as it
 * would have; call the returned function once the child is done, to unhook.
 */
export function forwardSignals(child: ChildProcess): () => void {
  const forward = (sig: NodeJS.Signals) => () => {
    unhook();
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
    process.kill(process.pid, sig);
  };
  const hooks = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of hooks) process.on(s, h);
  const unhook = () => {
    for (const [s, h] of hooks) process.off(s, h);
  };
  return unhook;
}
