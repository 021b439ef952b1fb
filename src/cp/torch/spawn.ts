// Starts one launch of the executor (torchrun, or python for virtual ranks) and watches it: its
// output goes out line by line, `onTick` runs about once a second (row streaming), and a launch
// that shows no sign of progress (no output line, no change to the watched files) for `idleMs`
// is stopped: SIGTERM (torchrun then stops its workers), SIGKILL to its whole process group after `graceMs`.
//   The launch runs in a process group of its own (as the kernels worker does, worker/client.ts) with
// this process's pid in ATTNBENCH_LAUNCHER_PID: each python process of the launch watches that pid
// and kills the launch's groups once this process is gone, even by kill -9
// (python/attnbench_worker/lifeline.py); before, a killed CLI left torchrun and its ranks running.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { forwardSignals, killGroup } from '../../util/process-group.js';

/** Exit code reported for a launch this module stopped (the python watchdog uses it too). */
export const STOPPED_EXIT = 124;

/** The launch's processes end when the process with this pid is gone (python/attnbench_worker/lifeline.py). */
export const LAUNCHER_PID_ENV = 'ATTNBENCH_LAUNCHER_PID';

export interface LaunchWatch {
  readonly onLine: (line: string) => void;
  /** Stop the launch after this long without progress; absent = never. */
  readonly idleMs?: number;
  /** Changes whenever the run makes progress (result / fault / heartbeat files). */
  readonly fingerprint?: () => string;
  readonly onTick?: () => void;
  /** Called once when the launch is being stopped for lack of progress. */
  readonly onStop?: (idleMs: number) => void;
  readonly graceMs?: number;
}

/** Runs argv to its end; resolves with its exit code (STOPPED_EXIT when stopped here). */
export function launchProcess(argv: readonly string[], env: NodeJS.ProcessEnv, w: LaunchWatch): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...env, [LAUNCHER_PID_ENV]: String(process.pid) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let last = Date.now();
    let print = w.fingerprint?.() ?? '';
    let stopped = false;
    let killTimer: NodeJS.Timeout | undefined;
    const line = (l: string) => {
      last = Date.now();
      w.onLine(l);
    };
    readline.createInterface({ input: child.stdout }).on('line', line);
    readline.createInterface({ input: child.stderr }).on('line', line);
    const period = w.idleMs !== undefined ? Math.max(50, Math.min(1000, w.idleMs / 4)) : 1000;
    const tick = setInterval(() => {
      w.onTick?.();
      const now = w.fingerprint?.() ?? '';
      if (now !== print) {
        print = now;
        last = Date.now();
      }
      if (!stopped && w.idleMs !== undefined && Date.now() - last > w.idleMs) {
        stopped = true;
        w.onStop?.(w.idleMs);
        child.kill('SIGTERM');
        killTimer = setTimeout(() => killGroup(child), w.graceMs ?? 45_000);
      }
    }, period);
    const unhook = forwardSignals(child); // a Ctrl-C reaches only this process now (the launch has its own group)
    const done = () => {
      unhook();
      clearInterval(tick);
      if (killTimer) clearTimeout(killTimer);
    };
    child.on('error', (e) => {
      done();
      reject(e);
    });
    child.on('close', (code, signal) => {
      done();
      if (stopped) killGroup(child); // what the launch left behind in its group
      resolve(stopped ? STOPPED_EXIT : (code ?? (signal ? 128 : 1)));
    });
  });
}
