// Large plans (about 1000 ranks) need more heap than Node's default (about 4 GB): instead of dying
// with V8's fatal out-of-memory, the command runs itself again in a child Node with a larger heap
// (same argv, stdio inherited, exit code passed on). Only the CLI edge does this.
//   The child takes over the parent's --out lock (ATTNBENCH_HEAP_PARENT: util/lock.ts treats its
//   holder as this process) and dies with the parent (setpriv --pdeathsig where util-linux has it,
//   else a watch between the child's synchronous stretches), so a kill -9 does not leave it writing on.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';

export const HEAP_PARENT_ENV = 'ATTNBENCH_HEAP_PARENT';

/** The heap size (MiB) to run with for `needGb`, or null when this process already has it or cannot get more. */
export function heapTargetMb(needGb: number, limitBytes = v8.getHeapStatistics().heap_size_limit, totalBytes = os.totalmem()): number | null {
  const have = limitBytes / 2 ** 20;
  const want = Math.min(needGb * 1024, Math.floor((totalBytes / 2 ** 20) * 0.75));
  return want > have * 1.1 ? Math.floor(want) : null;
}

/**
 * Re-runs this command in a child with `needGb` GB of heap (capped at 3/4 of the machine's memory)
 * when this process has clearly less. Resolves the child's exit code, or null when there is nothing to
 * do (then the caller goes on in this process).
 */
export function rerunWithHeap(needGb: number, why: string, warn: (s: string) => void): Promise<number> | null {
  if (process.env[HEAP_PARENT_ENV]) return null; // already the child
  const mb = heapTargetMb(needGb);
  if (mb === null) return null;
  warn(`${why}: running again with a ${(mb / 1024).toFixed(1)} GB heap (--max-old-space-size=${mb})`);
  const node = [process.execPath, ...process.execArgv, `--max-old-space-size=${mb}`, process.argv[1]!, ...process.argv.slice(2)];
  // On Linux, setpriv makes the kernel kill the child when this process dies, even by kill -9 (the
  // child's own watch below only runs between its synchronous stretches).
  const setpriv = onPath('setpriv');
  const [cmd, ...args] = setpriv ? [setpriv, '--pdeathsig', 'KILL', ...node] : node;
  const child = spawn(cmd!, args, {
    stdio: 'inherit',
    env: { ...process.env, [HEAP_PARENT_ENV]: String(process.pid) },
  });
  const forward = (sig: NodeJS.Signals) => () => void child.kill(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
    });
    child.on('error', (e) => {
      for (const [s, h] of handlers) process.off(s, h);
      warn(`cannot start a child node with a larger heap: ${e.message}`);
      resolve(1);
    });
  });
}

/** World sizes from which a plan may outgrow Node's default heap (1024 ranks: 5-8 GB). */
export const LARGE_WORLD = 512;

/**
 * For a command planning `world` ranks: when that may outgrow this process's heap, runs the command
 * in a child with 16 GB and resolves true once it succeeded (the caller returns; a failure throws
 * ChildExited with its code); resolves false when the caller goes on in this process.
 */
export async function ranWithLargerHeap(world: number, warn: (s: string) => void): Promise<boolean> {
  const child = world >= LARGE_WORLD ? rerunWithHeap(16, `plans of ${world} ranks need more than Node's default heap`, warn) : null;
  if (!child) return false;
  const code = await child;
  if (code !== 0) throw new ChildExited(code);
  return true;
}

/** In the child: exit at once when the parent that started it is gone. */
export function watchHeapParent(): void {
  const parent = Number(process.env[HEAP_PARENT_ENV]);
  if (!parent) return;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(137);
  }, 250).unref();
}

/** Thrown by a command whose child (see rerunWithHeap) failed: main returns its exit code, printing nothing more. */
export class ChildExited extends Error {
  constructor(readonly exitCode: number) {
    super(`the child with the larger heap exited with ${exitCode}`);
  }
}

function onPath(name: string): string | null {
  if (process.platform !== 'linux') return null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = path.join(dir, name);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      /* not here */
    }
  }
  return null;
}
