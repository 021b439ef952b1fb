// launchProcess: the launch runs in a process group of its own with this process's pid in
// ATTNBENCH_LAUNCHER_PID (the python side ends the launch when this process is gone, even by kill -9:
// python/tests/test_lifeline.py), and a launch stopped for lack of progress loses its whole group,
// children that ignore SIGTERM included.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAUNCHER_PID_ENV, launchProcess, STOPPED_EXIT } from './spawn.js';

/** Running (a zombie waiting for a reaper counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    try {
      process.kill(pid, 0);
      return !fs.existsSync('/proc/self');
    } catch {
      return false;
    }
  }
};

describe('launchProcess', () => {
  it('starts the launch as a process group leader and names this process as its launcher', async () => {
    const lines: string[] = [];
    const code = await launchProcess(['sh', '-c', `echo "$${LAUNCHER_PID_ENV} $$ $(ps -o pgid= -p $$)"`], process.env, { onLine: (l) => lines.push(l) });
    expect(code).toBe(0);
    const [launcher, pid, pgid] = lines[0]!.trim().split(/\s+/).map(Number);
    expect(launcher).toBe(process.pid);
    expect(pgid, 'the launch leads its own process group').toBe(pid);
  });

  it('a launch stopped for lack of progress takes its group with it (a child ignoring SIGTERM too)', async () => {
    const lines: string[] = [];
    const code = await launchProcess(['sh', '-c', 'trap "" TERM; sh -c \'trap "" TERM; exec sleep 600\' >/dev/null 2>&1 & echo $!; while :; do sleep 1; done'], process.env, {
      onLine: (l) => lines.push(l),
      idleMs: 300,
      graceMs: 200,
    });
    expect(code).toBe(STOPPED_EXIT);
    const child = Number(lines[0]);
    expect(child).toBeGreaterThan(0);
    for (let i = 0; i < 50 && alive(child); i++) await new Promise((r) => setTimeout(r, 50));
    const left = alive(child);
    if (left) process.kill(child, 'SIGKILL');
    expect(left, 'the launch left a process running').toBe(false);
  }, 20_000);
});
