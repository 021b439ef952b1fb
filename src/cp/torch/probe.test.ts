// The torch check before a CP launch (probe.ts): its boot line comes before torch is imported, so a
// --python that never answers fails within the boot limit (seconds), not the 120 s torch limit; a
// real python 3 passes that stage and is judged as before (no torch, torch, a crash).
// The 'ok' case runs where ATTNBENCH_PYTHON can import torch:
// ATTNBENCH_PYTHON=/work/venv-torch/bin/python npx vitest run src/cp/torch/probe.test.ts
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttnbenchError } from '../../errors.js';
import { BOOT_ENV } from '../../worker/client.js';
import { fakePython, goneSoon, sleeperPython } from '../../worker/testing.js';
import { probeResult, probeTorch, requireTorch, torchProblem, type TorchProbe } from './probe.js';

let tmp = '';
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-probe-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stand-in for --python: a shell script (its arguments, `-c SCRIPT`, ignored). */
const fake = (name: string, body: string): string => fakePython(tmp, name, body);
const noBoot = (python: string, s: number) =>
  `python '${python}' did not start the torch check within ${s} s (no boot line: not a python 3 interpreter? pass --python or set ATTNBENCH_PYTHON; ${BOOT_ENV}=<seconds> allows a slower start)`;
const hasTorch = (python: string): boolean | null => {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  return r.error ? null : r.status === 0;
};
const NEED = { device: 'cpu', gpus: 1 } as const;

describe('probeTorch: the boot line, then the torch limit', () => {
  it('a python that sleeps is no_boot within the boot limit, naming it, and is killed (it cost 120 s)', async () => {
    const pidFile = path.join(tmp, 'sleeper.pid');
    const python = sleeperPython(tmp, pidFile);
    const t0 = Date.now();
    const p = await probeTorch(python, { bootMs: 1000 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(p).toEqual({ kind: 'no_boot', message: noBoot(python, 1) });
    expect(torchProblem(p, python, NEED)).toBe(noBoot(python, 1));
    expect(await goneSoon(pidFile)).toBe(true);
  });

  it(`requireTorch with ${BOOT_ENV}=1: one line, 'unavailable', exit 2, within seconds`, async () => {
    const python = fake('sleeper', 'exec sleep 60');
    const old = process.env[BOOT_ENV];
    process.env[BOOT_ENV] = '1';
    try {
      const t0 = Date.now();
      const e = await requireTorch(python, NEED).then(() => expect.unreachable('passed'), (x: AttnbenchError) => x);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(e).toBeInstanceOf(AttnbenchError);
      expect([e.code, e.exit, e.message]).toEqual(['unavailable', 2, noBoot(python, 1)]);
      process.env[BOOT_ENV] = 'soon';
      await expect(probeTorch(python)).rejects.toThrow(`invalid ${BOOT_ENV} 'soon': expected seconds > 0`);
    } finally {
      if (old === undefined) delete process.env[BOOT_ENV];
      else process.env[BOOT_ENV] = old;
    }
  });

  it('after the boot line the torch limit applies', async () => {
    const python = fake('boot-then-nothing', `printf '%s\\n' '{"type": "boot"}'\nexec sleep 60`);
    const t0 = Date.now();
    const p = await probeTorch(python, { bootMs: 1000, timeoutMs: 2500 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2400); // not failed at the boot limit
    expect(p).toEqual({ kind: 'failed', message: `${python} did not answer within 2.5 s (importing torch)` });
  });

  it('a program that exits without a boot line is judged by what it said, as before', async () => {
    const python = fake('crasher', `echo 'SyntaxError: invalid syntax' >&2\nexit 1`);
    expect(await probeTorch(python, { bootMs: 5000 })).toEqual({ kind: 'failed', message: `${python} exited with code 1 while checking for torch: SyntaxError: invalid syntax` });
    expect(await probeTorch('/nonexistent/python9', { bootMs: 5000 })).toEqual({ kind: 'no_python', message: "python not found: '/nonexistent/python9' (pass --python or set ATTNBENCH_PYTHON)" });
  });

  it.skipIf(hasTorch('python3') !== false)('python3 without torch passes the boot stage: no_torch, not no_boot', async () => {
    expect(await probeTorch('python3', { bootMs: 10_000 })).toEqual({ kind: 'no_torch', message: 'torch is not installed for python3' });
  });

  const torchPython = process.env.ATTNBENCH_PYTHON;
  it.skipIf(!torchPython || !hasTorch(torchPython))('a python with torch passes both stages: ok', async () => {
    const p = await probeTorch(torchPython!, { bootMs: 10_000 });
    expect(p).toMatchObject({ kind: 'ok', torch: expect.any(String) });
    expect(torchProblem(p, torchPython!, { device: 'cpu', backend: 'gloo', gpus: 1 })).toBeNull();
  }, 130_000);

  it('what the run means (pure): the last stdout line after the boot line; a boot line alone is no answer', () => {
    const done = (stdout: string, code: number | null = 0): TorchProbe =>
      probeResult({ kind: 'done', code, signal: code === null ? 'SIGKILL' : null, boot: { type: 'boot' }, stdout, stderr: '' }, 'py', 1000, 120_000);
    expect(done('warning\n{"torch": "2.9", "cuda": false, "gpus": 0, "nccl": false, "gloo": true}\n')).toEqual({ kind: 'ok', torch: '2.9', cuda: false, gpus: 0, nccl: false, gloo: true });
    expect(done('{"torch": null, "missing": false, "error": "OSError: libcudart"}\n')).toEqual({ kind: 'no_torch', message: 'torch cannot be imported by py: OSError: libcudart' });
    expect(done('{"type": "boot"}\n', null)).toEqual({ kind: 'failed', message: 'py exited with signal SIGKILL while checking for torch' });
    expect(probeResult({ kind: 'no_boot', stderr: '' }, 'py', 30_000, 120_000)).toEqual({ kind: 'no_boot', message: noBoot('py', 30) });
  });
});
