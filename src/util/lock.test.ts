// Lock files (issue 17): a second writer exits 2 naming the holder, or waits its turn; stale locks
// of dead processes are taken over.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockFileOf, lockNow, lockWait } from './lock.js';

const target = path.join(os.tmpdir(), `attnbench-lock-test-${process.pid}`, 'rows.jsonl');
const file = lockFileOf(target);
afterEach(() => fs.rmSync(file, { force: true }));

function holdAs(pid: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ pid, host: os.hostname(), since: '2026-12-04T00:00:00Z', command: 'kernels --out rows.jsonl' }));
}

describe('lock files', () => {
  it('a live holder: exit 2 naming its pid and command; nothing is written beside the target', () => {
    holdAs(process.ppid);
    expect(() => lockNow(target, '--out')).toThrow(
      expect.objectContaining({ exit: 2, message: expect.stringMatching(new RegExp(`^--out .*rows\\.jsonl is being written by pid ${process.ppid} \\(attnbench kernels --out rows\\.jsonl, since `)) }),
    );
    expect(fs.existsSync(path.dirname(target))).toBe(false);
  });

  it('a dead holder (kill -9) is stale: taken over, and released', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    holdAs(Number(dead));
    const l = lockNow(target, '--out');
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    l.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('lockWait waits while the holder runs and takes the lock when it is done; gives up with exit 2 after waitMs', async () => {
    holdAs(process.ppid);
    setTimeout(() => fs.rmSync(file, { force: true }), 150);
    const l = await lockWait(target, 'results database', 10_000);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    l.release();
    holdAs(process.ppid);
    await expect(lockWait(target, 'results database', 50)).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/is still in use by pid \d+/) });
  });

  it('re-entrant inside one process (the CLI run in-process), released by the last holder', () => {
    const a = lockNow(target, '--out');
    const b = lockNow(target, '--out');
    b.release();
    expect(fs.existsSync(file)).toBe(true);
    a.release();
    expect(fs.existsSync(file)).toBe(false);
  });
});
