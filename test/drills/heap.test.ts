// Plans of 512+ ranks: `sim run` re-runs itself in a child Node with a larger heap instead of dying
// out of memory (src/cli/heap.ts). The child takes over the parent's --out lock, its rows and exit
// code are the command's, and a kill -9 of the parent takes the child with it.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heapTargetMb } from '../../src/cli/heap.js';
import { lockFileOf } from '../../src/util/lock.js';
import { BIN, cli, ensureBuilt } from './harness.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-heap-'));
beforeAll(() => ensureBuilt(), 300_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The heap limit a plain `node` child gets on this machine (what the CLI starts with). */
function childHeapLimit(): number {
  return Number(execFileSync(process.execPath, ['-p', "require('v8').getHeapStatistics().heap_size_limit"], { encoding: 'utf8' }));
}

function pidsOf(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('heapTargetMb', () => {
  it('asks for the need, capped at 3/4 of memory, and nothing when the heap is already near it', () => {
    const GB = 2 ** 30;
    expect(heapTargetMb(16, 4 * GB, 64 * GB)).toBe(16384);
    expect(heapTargetMb(16, 4 * GB, 16 * GB)).toBe(12288);
    expect(heapTargetMb(16, 16 * GB, 64 * GB)).toBeNull();
    expect(heapTargetMb(16, 4 * GB, 5 * GB)).toBeNull(); // 3.75 GB is no gain
  });
});

describe('sim run at 512+ ranks', () => {
  it('runs in a child with a larger heap where that is a gain: the rows, exit 0, the lock released', async () => {
    const out = path.join(work, 's.jsonl');
    const r = await cli(['sim', 'run', '--gpus', '512', '--scheme', 'ring_p2p', '--family', 'causal', '--seqlen', '512k', '--direction', 'fwd', '--out', out], work, 120);
    expect(r.code, r.stderr).toBe(0);
    const reran = /running again with a [\d.]+ GB heap/.test(r.stderr);
    expect(reran).toBe(heapTargetMb(16, childHeapLimit()) !== null);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { scheme: string; world?: number; status: string });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ scheme: 'ring_p2p', status: 'ok' });
    expect(r.stdout).toMatch(/1 simulated row\(s\)/);
    expect(fs.existsSync(lockFileOf(out))).toBe(false);
  }, 150_000);

  // The kernel's parent-death signal (util-linux setpriv) is what stops a child busy planning.
  const has = (tool: string) => {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const canKill = process.platform === 'linux' && heapTargetMb(16, childHeapLimit()) !== null && has('pgrep') && has('setpriv');
  it.runIf(canKill)('a kill -9 of the parent takes the child with it', async () => {
    const out = path.join(work, 'k.jsonl');
    const parent = spawn(process.execPath, [BIN, 'sim', 'run', '--gpus', '1024', '--scheme', 'ring_p2p', '--family', 'causal', '--seqlen', '8M', '--out', out], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no re-run message: ${err}`)), 60_000);
      parent.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/running again/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const pattern = `max-old-space-size=.*${out}`;
    for (let i = 0; i < 50 && pidsOf(pattern).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(pidsOf(pattern).length).toBeGreaterThan(0); // the child is running
    parent.kill('SIGKILL');
    for (let i = 0; i < 50 && pidsOf(pattern).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(pidsOf(pattern)).toEqual([]);
  }, 120_000);
});
