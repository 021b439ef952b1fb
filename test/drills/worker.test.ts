// The python worker's failure modes through the built CLI, on CPU: a pure-python kernel module
// (--kernel-module, no torch needed) that raises, is killed by a signal, hangs, or runs out of host
// memory at given sequence lengths. Each is a row with its status and the sweep goes on; --resume
// skips them and --retry runs the chosen ones again; a CLI killed -9 mid-job leaves no worker behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, ensureBuilt } from './harness.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-worker-drill-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const MODULE = `"""misbehave: fails on purpose by sequence length (test/drills/worker.test.ts)."""
import os
import signal
import time

from attnbench_worker.kernels.base import Unsupported

ID = "misbehave"
GROUP = "py"
DESCRIPTION = "drill kernel: raises at S=48, SIGKILLs its worker at S=64, hangs at S=80, MemoryError at S=96"
CAPS = {"formats": ["slices"], "backward": False, "gqa": "native", "dtypes": ["float32"], "perHeadMask": True}


def available():
    return None


def run(job, bands_per_head):
    s = job["shape"]
    n = s["seqlenQ"]
    if job["direction"] != "fwd":
        raise Unsupported("forward only")
    if n == 48:
        raise RuntimeError("raised on purpose at S=48")
    if n == 64:
        os.kill(os.getpid(), signal.SIGKILL)
    if n == 80:
        pidfile = os.environ.get("MISBEHAVE_PIDFILE")
        if pidfile:
            with open(pidfile, "w") as f:
                f.write(str(os.getpid()))
        time.sleep(3600)
    if n == 96:
        raise MemoryError("cannot allocate on purpose at S=96")
    out = [[[[0.0] * s["headDim"] for _ in range(n)] for _ in range(s["headsQ"])]]
    return (lambda: out), (lambda: out)
`;

const mod = path.join(work, 'misbehave.py');
const sweep = (seqlens: string, out: string, ...more: string[]) => [
  '--kernel-module', mod, 'kernels', '--executor', 'torch', '--kernel', 'misbehave', '--family', 'causal', '--seqlen', seqlens,
  '--heads', '1:1', '--head-dim', '4', '--dtype', 'float32', '--direction', 'fwd', '--job-timeout', '1', '--no-progress', '--out', out, ...more,
];
type Row = { seqlen: number; status: string; message: string | null };
const rowsOf = (f: string): Row[] => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  ensureBuilt();
  fs.writeFileSync(mod, MODULE);
});

describe('python worker failures: a row each, the sweep goes on', () => {
  it('raise -> error, SIGKILL -> error, hang -> timeout, MemoryError -> oom; then --resume and --retry', async () => {
    const out = path.join(work, 'k.jsonl');
    const r = await cli(sweep('32,48,64,80,96,112', out), work, 180);
    expect(r.code, r.stderr).toBe(0);
    const rows = rowsOf(out);
    expect(rows.map((x) => `${x.seqlen}:${x.status}`)).toEqual(['32:ok', '48:error', '64:error', '80:timeout', '96:oom', '112:ok']);
    expect(rows[1].message).toBe('RuntimeError: raised on purpose at S=48');
    expect(rows[2].message).toMatch(/^worker exited with signal SIGKILL/);
    expect(rows[3].message).toMatch(/^no result within 1 s .*worker killed/);
    expect(rows[4].message).toBe('MemoryError: cannot allocate on purpose at S=96');
    // --resume: every case has a row, nothing runs
    const again = await cli(sweep('32,48,64,80,96,112', out, '--resume'), work, 120);
    expect(again.code, again.stderr).toBe(0);
    expect(rowsOf(out)).toHaveLength(6);
    // --retry error,oom: those cases run again (and fail the same way); the timeout and the ok ones do not
    const retry = await cli(sweep('32,48,64,80,96,112', out, '--resume', '--retry', 'error,oom'), work, 120);
    expect(retry.code, retry.stderr).toBe(0);
    expect(rowsOf(out).slice(6).map((x) => `${x.seqlen}:${x.status}`)).toEqual(['48:error', '64:error', '96:oom']);
  }, 300_000);

  it('the CLI killed -9 while its worker is inside a job: the worker ends too (no orphan holding the device)', async () => {
    const pidfile = path.join(work, 'worker.pid');
    const child = spawn(process.execPath, [BIN, ...sweep('80', path.join(work, 'orphan.jsonl'), '--job-timeout', '600')], {
      cwd: work,
      stdio: 'ignore',
      env: { ...process.env, MISBEHAVE_PIDFILE: pidfile },
    });
    const exited = new Promise((r) => child.once('exit', r));
    let pid = 0;
    try {
      for (let i = 0; i < 1200 && !pid; i++) {
        await new Promise((r) => setTimeout(r, 100));
        pid = fs.existsSync(pidfile) ? Number(fs.readFileSync(pidfile, 'utf8')) : 0;
      }
      expect(pid, 'the worker started the job').toBeGreaterThan(0);
      child.kill('SIGKILL');
      await exited;
      for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid), `worker ${pid} still running after its CLI was killed`).toBe(false);
    } finally {
      child.kill('SIGKILL');
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 300_000);
});
