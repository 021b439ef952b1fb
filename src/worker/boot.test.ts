// runBooted's kills reach the whole process group: what a stalled child started (a compiler, a
// helper of a --kernel-module) goes with it, on both limits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBooted } from './boot.js';
import { fakePython, goneSoon } from './testing.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-boot-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A stand-in that starts a grandchild (its pid in PIDFILE), optionally says BOOT, then waits on it. */
function parentOfSleeper(name: string, pidFile: string, boot: boolean): string {
  return fakePython(dir, name, [`sleep 60 &`, `echo $! > '${pidFile}'`, boot ? `echo '{"type": "boot"}'` : '', 'wait'].join('\n'));
}

describe('runBooted', () => {
  it('kills the grandchildren of a child that never boots', async () => {
    const pidFile = path.join(dir, 'nb.pid');
    const t0 = Date.now();
    const r = await runBooted(parentOfSleeper('nb', pidFile, false), [], { bootMs: 700, limitMs: 60_000 });
    expect(r.kind).toBe('no_boot');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await goneSoon(pidFile)).toBe(true);
  });

  it('kills the grandchildren of a child that boots and then outlives its limit', async () => {
    const pidFile = path.join(dir, 'to.pid');
    const r = await runBooted(parentOfSleeper('to', pidFile, true), [], { bootMs: 10_000, limitMs: 700 });
    expect(r.kind).toBe('timeout');
    expect(await goneSoon(pidFile)).toBe(true);
  });

  it('reports a child that ends on its own, with what it printed after the boot line', async () => {
    const py = fakePython(dir, 'ok', `echo noise\necho '{"type": "boot"}'\necho '{"answer": 42}'\nexit 3`);
    const r = await runBooted(py, [], { bootMs: 10_000, limitMs: 10_000 });
    expect(r.kind).toBe('done');
    if (r.kind !== 'done') return;
    expect(r.code).toBe(3);
    expect(r.boot).toEqual({ type: 'boot' });
    expect(r.stdout.trim()).toBe('{"answer": 42}');
  });

  it('leaves no signal handlers behind', async () => {
    const before = process.listenerCount('SIGINT');
    await runBooted(fakePython(dir, 'quick', 'exit 0'), [], { bootMs: 5_000, limitMs: 5_000 });
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
