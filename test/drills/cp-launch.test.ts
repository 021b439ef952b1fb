// `cp run --executor torch` killed -9 while its launch runs: the launch (the virtual-ranks python)
// and the processes it started end too (python/attnbench_worker/lifeline.py; the launch has its own
// process group, src/cp/torch/spawn.ts). Before, they ran on with no one to read their rows. No torch
// here: a python stand-in answers the CLI's torch probe and runs the real python3 for everything
// else; a --kernel-module hangs at import inside the launch (after the lifeline started) and starts
// a child, both writing their pids.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt } from './harness.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-cp-launch-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const FAKE_PY = `#!/bin/sh
# python stand-in for the CLI's torch probe only; everything else runs the real python3
case "$2" in *"import torch"*) echo '{"torch": "0+fake", "cuda": false, "gpus": 0, "nccl": false, "gloo": true}'; exit 0;; esac
exec python3 "$@"
`;

const HANG = `"""hangs at import inside a cp launch (test/drills/cp-launch.test.ts)"""
import os, subprocess, sys, time
ID = "hang"
GROUP = "py"
DESCRIPTION = "drill kernel: hangs at import inside python -m attnbench_worker.cp"
CAPS = {"formats": ["slices"], "backward": False, "gqa": "native", "dtypes": ["float32"], "perHeadMask": True}
def available():
    return None
def run(job, bands):
    raise RuntimeError("not for kernels")
if sys.argv[0].endswith(os.path.join("cp", "__main__.py")) and os.environ.get("HANG_PIDFILE"):
    child = subprocess.Popen(["sleep", "600"])
    with open(os.environ["HANG_PIDFILE"], "w") as f:
        f.write(f"{os.getpid()} {child.pid}\\n")
    time.sleep(3600)
`;

/** Running (a zombie waiting for its reaper counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
};

beforeAll(() => {
  ensureBuilt();
  fs.writeFileSync(path.join(work, 'fakepy'), FAKE_PY, { mode: 0o755 });
  fs.writeFileSync(path.join(work, 'hang.py'), HANG);
});

describe('cp run --executor torch killed -9', () => {
  it.runIf(process.platform === 'linux')('the launch and its children end with the CLI', async () => {
    const pidfile = path.join(work, 'pids');
    const args = ['--kernel-module', path.join(work, 'hang.py'), 'cp', 'run', '--executor', 'torch', '--device', 'cpu', '--virtual-ranks', '2', '--scheme', 'ring_p2p', '--world', '2',
      '--family', 'causal', '--seqlen', '1k', '--python', path.join(work, 'fakepy'), '--out', path.join(work, 'c.jsonl')];
    const cli = spawn(process.execPath, [BIN, ...args], { cwd: work, stdio: 'ignore', env: { ...process.env, HANG_PIDFILE: pidfile } });
    const exited = new Promise((r) => cli.once('exit', r));
    let pids: number[] = [];
    try {
      for (let i = 0; i < 1200 && pids.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        pids = fs.existsSync(pidfile) ? fs.readFileSync(pidfile, 'utf8').trim().split(/\s+/).map(Number).filter((p) => p > 0) : [];
      }
      expect(pids, 'the launch started and hung').toHaveLength(2);
      expect(pids.every(alive)).toBe(true);
      cli.kill('SIGKILL');
      await exited;
      for (let i = 0; i < 200 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
      expect(pids.filter(alive), 'processes of the launch still running after the CLI was killed').toEqual([]);
    } finally {
      cli.kill('SIGKILL');
      for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    }
  }, 180_000);
});
