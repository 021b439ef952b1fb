// Bring your own kernel, without torch: the example external kernel (examples/my_kernel.py, a
// pure-python 'py' kernel with a torch partial entry) is described by python, registered, listed
// by doctor, run by a kernel sweep through the real python worker, and accepted in rows, as a
// built-in kernel would be; broken modules are one-line usage errors (exit 2), and a --python that
// never answers fails within the boot limit.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { familyMaskSource } from '../bench/mask-source.js';
import { runCases } from '../bench/runner.js';
import { expandSweep } from '../bench/sweep.js';
import { main } from '../cli/main.js';
import { captureIo, type CapturedIo } from '../cli/testing.js';
import { readManifest } from '../cp/torch/manifest.js';
import { parseKernelId, rowKernelProblem } from '../ids.js';
import { ResultRowSchema } from '../results/schema.js';
import { AttnbenchError } from '../errors.js';
import type { BootedRun } from '../worker/boot.js';
import { BOOT_ENV, pythonDir } from '../worker/client.js';
import { TorchExecutor } from '../worker/executor.js';
import { PROTOCOL_VERSION } from '../worker/protocol.js';
import { fakePython, goneSoon, sleeperPython } from '../worker/testing.js';
import { describedKernels, describeKernelModules, isPurePython, KERNEL_MODULES_ENV, useKernelModules } from './external.js';
import { allKernels, getKernel, KERNEL_IDS } from './registry.js';

const EXAMPLE = path.resolve(pythonDir(), '..', 'examples', 'my_kernel.py');

let io: CapturedIo;
captureIo('attnbench-byok-', (x) => (io = x));

describe('--kernel-module (torch-free example)', () => {
  it('python describes the declaration in the TypeScript descriptor form (after its boot line)', async () => {
    const [d] = await describeKernelModules([EXAMPLE]);
    expect(d).toMatchObject({
      id: 'my_kernel',
      executor: 'torch',
      group: 'py',
      formats: ['slices'],
      caps: { backward: false, gqa: 'native', perHeadMask: true },
      module: EXAMPLE,
      suite: true,
      partial: true,
    });
  });

  it('registered, it is a kernel like the built-in ones: ids, rows, sweeps', async () => {
    await useKernelModules([EXAMPLE]);
    await useKernelModules([EXAMPLE]); // twice: the same module is a no-op
    expect(process.env[KERNEL_MODULES_ENV]).toBe(EXAMPLE);
    expect(parseKernelId('my_kernel')).toBe('my_kernel');
    expect((KERNEL_IDS as readonly string[]).filter((k) => k === 'my_kernel')).toHaveLength(1);
    expect(allKernels().at(-1)?.id).toBe('my_kernel');
    expect(getKernel('my_kernel').caps.backward).toBe(false);
    expect(rowKernelProblem('my_kernel')).toBeNull();
    expect(isPurePython('my_kernel') && !isPurePython('flex')).toBe(true);

    const sweep = { suite: 'kernel' as const, kernels: ['my_kernel'], families: ['causal', 'causal_document'], seqlens: [48], directions: ['fwd' as const, 'bwd' as const], headsQ: 2, headsKv: 1, headDim: 8, dtype: 'float32' as const, warmup: 5, iters: 20, checkUpTo: 1 << 20, seed: 0 };
    const cases = expandSweep(sweep as Parameters<typeof expandSweep>[0]);
    const ex = new TorchExecutor({ requireGpu: false });
    try {
      const out = path.join(io.dir, 'rows.jsonl');
      const rows = await runCases(cases, ex, familyMaskSource(1), { out, resume: false, retry: [], progress: false });
      expect(rows.map((r) => [r.family, r.direction, r.status])).toEqual([
        ['causal', 'fwd', 'ok'],
        ['causal', 'bwd', 'unsupported'],
        ['causal_document', 'fwd', 'ok'],
        ['causal_document', 'bwd', 'unsupported'],
      ]);
      for (const r of rows) expect(ResultRowSchema.parse(r).kernel).toBe('my_kernel');
      const ok = rows.filter((r) => r.status === 'ok');
      for (const r of ok) expect(r.error?.out?.maxAbs).toBeLessThan(1e-9); // its forward vs its dense reference
    } finally {
      await ex.close();
    }
  }, 120_000);

  it('doctor lists it; kernels --executor torch runs it without torch; cp --plan-dir carries the module', async () => {
    expect(await main(['--kernel-module', EXAMPLE, 'doctor', '--no-jax', '--json'])).toBe(0);
    const doc = JSON.parse(io.out.join('').split('\nfinding:')[0]); // a machine without torch adds a finding line
    expect(doc.kernels.find((k: { id: string }) => k.id === 'my_kernel')).toEqual({ id: 'my_kernel', executor: 'torch', available: true, reason: null });
    io.out.length = 0;
    const out = path.join(io.dir, 'k.jsonl');
    const args = ['kernels', '--executor', 'torch', '--kernel', 'my_kernel', '--family', 'causal', '--seqlen', '32', '--heads', '2:1', '--head-dim', '8', '--dtype', 'float32', '--direction', 'fwd', '--out', out, '--no-progress'];
    expect(await main([...args, '--kernel-module', EXAMPLE])).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).status)).toEqual(['ok']);
    io.out.length = 0;
    const jobs = path.join(io.dir, 'kjobs');
    expect(await main([...args, '--kernel-module', EXAMPLE, '--plan-dir', jobs])).toBe(0);
    expect(io.out.join('')).toContain(`attnbench_worker run ${jobs}/jobs.jsonl --out results.jsonl --resume --kernel-module ${EXAMPLE}`);
    const plan = path.join(io.dir, 'plan');
    const cp = ['cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p', '--family', 'causal', '--virtual-ranks', '2', '--world', '2', '--seqlen', '256', '--heads', '4:2', '--head-dim', '8', '--dtype', 'float32'];
    expect(await main(['--kernel-module', EXAMPLE, ...cp, '--device', 'cpu', '--kernel', 'my_kernel', '--plan-dir', plan])).toBe(0);
    expect(io.out.join('')).toContain(`--kernel-module ${EXAMPLE}`);
    const index = JSON.parse(fs.readFileSync(path.join(plan, 'index.json'), 'utf8'));
    expect(readManifest(path.join(plan, index.manifests[0])).case.kernel).toBe('my_kernel');
  }, 120_000);

  it('a module that is not a kernel: one line, exit 2', async () => {
    const bad = path.join(io.dir, 'not_a_kernel.py');
    fs.writeFileSync(bad, 'ID = "nak"\nGROUP = "py"\ndef available():\n    return None\n');
    await expect(describeKernelModules([bad])).rejects.toThrow(/defines neither run\(job, bands_per_head\) nor partial_forward/);
    const clash = path.join(io.dir, 'clash.py');
    fs.writeFileSync(clash, fs.readFileSync(EXAMPLE, 'utf8').replace('ID = "my_kernel"', 'ID = "flex"'));
    await expect(describeKernelModules([clash])).rejects.toThrow(/ID 'flex' is a built-in kernel id/);
    expect(await main(['--kernel-module', path.join(io.dir, 'missing.py'), 'doctor', '--no-jax'])).toBe(2);
    expect(io.err.join('')).toMatch(/--kernel-module: kernel module .*missing\.py: no such file/);
  }, 60_000);
});

describe('--kernel-module with a --python that never answers (boot line first, then the long limit)', () => {
  /** A stand-in for --python: a shell script (its arguments, `-m attnbench_worker describe ...`, ignored). */
  const fake = (name: string, body: string): string => fakePython(io.dir, name, body);
  const noBoot = (python: string, s: number) =>
    `--kernel-module: python '${python}' did not start the attnbench worker within ${s} s (no boot line: not a python 3 interpreter? pass --python or set ATTNBENCH_PYTHON; ${BOOT_ENV}=<seconds> allows a slower start)`;
  const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable('described'), (e: AttnbenchError) => e);

  it('one that sleeps fails within the boot limit, naming it, and is killed (it cost the 300 s limit)', async () => {
    const pidFile = path.join(io.dir, 'sleeper.pid');
    const python = sleeperPython(io.dir, pidFile);
    const t0 = Date.now();
    const e = await failure(describeKernelModules([EXAMPLE], python, { bootMs: 1000 }));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e).toBeInstanceOf(AttnbenchError);
    expect([e.code, e.exit, e.message]).toEqual(['unavailable', 2, noBoot(python, 1)]);
    expect(await goneSoon(pidFile)).toBe(true);
  });

  it('after the boot line the long limit applies', async () => {
    const python = fake('boot-then-nothing', `printf '%s\\n' '{"type": "boot", "protocol": ${PROTOCOL_VERSION}}'\nexec sleep 60`);
    const t0 = Date.now();
    const e = await failure(describeKernelModules([EXAMPLE], python, { bootMs: 1000, timeoutMs: 2500 }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2400); // not failed at the boot limit
    expect([e.code, e.message]).toEqual(['unavailable', `--kernel-module: python '${python}' did not describe the modules within 2.5 s`]);
  });

  it(`through the CLI with ${BOOT_ENV}=1: exit 2, one line, nothing written`, async () => {
    const python = fake('sleeper', 'exec sleep 60');
    const out = path.join(io.dir, 'k.jsonl');
    const old = process.env[BOOT_ENV];
    process.env[BOOT_ENV] = '1';
    try {
      const t0 = Date.now();
      const code = await main(['--kernel-module', EXAMPLE, 'kernels', '--executor', 'torch', '--python', python, '--family', 'causal', '--seqlen', '32', '--no-progress', '--out', out]);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(code).toBe(2);
      expect(io.err.join('').trim().split('\n')).toEqual([`attnbench: unavailable: ${noBoot(python, 1)}`]);
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      if (old === undefined) delete process.env[BOOT_ENV];
      else process.env[BOOT_ENV] = old;
    }
  });

  it('what the run means (pure): the last stdout line, after what a module printed; exits; another protocol', () => {
    const done = (o: Partial<Extract<BootedRun, { kind: 'done' }>>): BootedRun => ({ kind: 'done', code: 0, signal: null, boot: { type: 'boot', protocol: PROTOCOL_VERSION }, stdout: '', stderr: '', ...o });
    expect(describedKernels(done({ stdout: 'loading my kernel\n[{"id": "k"}]\n' }), 'py', 1000, 300_000)).toEqual([{ id: 'k' }]);
    expect(describedKernels(done({ boot: null, stdout: '[]\n' }), 'py', 1000, 300_000)).toEqual([]); // no boot line, exited: taken
    expect(() => describedKernels(done({ code: 2, stderr: 'attnbench_worker: kernel module m: no such file\n' }), 'py', 1000, 300_000)).toThrow(/^--kernel-module: kernel module m: no such file$/);
    expect(() => describedKernels(done({ code: null, signal: 'SIGKILL' }), 'py', 1000, 300_000)).toThrow('--kernel-module: python exited with signal SIGKILL');
    expect(() => describedKernels(done({ boot: { type: 'boot', protocol: 99 }, stdout: '[]' }), 'py', 1000, 300_000)).toThrow(/speaks protocol 99/);
    expect(() => describedKernels(done({ stdout: 'nothing useful\n' }), 'py', 1000, 300_000)).toThrow("--kernel-module: python 'py' printed no declarations (nothing useful)");
    expect(() => describedKernels({ kind: 'no_boot', stderr: '' }, 'py', 2500, 300_000)).toThrow(noBoot('py', 2.5));
  });
});
