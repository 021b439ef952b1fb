// The TypeScript side of the worker against the real python worker in its torch-less mode (the
// pure-python py_ref kernel): job building, binary arrays, handshake, a job, timeout, restart, file mode.
import { attentionFlops } from '../results/flops.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelCase } from '../kernels/case.js';
import { AttnbenchError } from '../errors.js';
import { getKernel, KERNELS } from '../kernels/registry.js';
import type { KernelDescriptor } from '../kernels/types.js';
import { bandToSlices } from '../mask/band.js';
import type { GeneratedMask, Mask, Slice } from '../mask/types.js';
import { ArrayFile, readArray } from './arrays.js';
import { BOOT_ENV, WorkerClient, WorkerProcess, bootLimitMs, pythonDir } from './client.js';
import { TorchExecutor } from './executor.js';
import { planJobsFile, readWorkerResults } from './files.js';
import { ingestWorkerResults } from '../bench/file-mode.js';
import { blockSizeOf, buildJob } from './jobs.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { fakePython, goneSoon, sleeperPython } from './testing.js';

const PY_REF: KernelDescriptor = {
  id: 'py_ref',
  executor: 'torch',
  description: 'pure-python attention inside the worker (tests)',
  formats: ['slices'],
  caps: { backward: false, gqa: 'native', dtypes: ['float32', 'bfloat16'], perHeadMask: true },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-worker-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function mask(family: string, seqlen: number, slices: Slice[], params: Record<string, number> = {}): GeneratedMask {
  const m: Mask = { seqlenQ: seqlen, seqlenK: seqlen, slices };
  return { family, seqlen, seed: 0, params, heads: [m] };
}
const causal = (s: number) => mask('causal', s, [{ qStart: 0, qEnd: s, kStart: 0, kEnd: s, kind: 'causal' }]);
const docs = (lens: number[]) => {
  let p = 0;
  const slices: Slice[] = lens.map((n) => {
    const s: Slice = { qStart: p, qEnd: p + n, kStart: p, kEnd: p + n, kind: 'causal' };
    p += n;
    return s;
  });
  return mask('causal_document', p, slices);
};
const window = (s: number, w: number) =>
  mask('sliding_window', s, bandToSlices({ q0: 0, q1: s, k0: 0, k1: s, lo: -w, hi: w }), { window: w });

// py_ref is the worker's pure-python test kernel: not in the TS registry, hence the cast.
function kcase(kernel: KernelCase['kernel'] | 'py_ref', seqlen: number, extra: Partial<KernelCase> = {}): KernelCase {
  return {
    id: `${kernel}/${seqlen}/${extra.direction ?? 'fwd'}`,
    suite: 'kernel',
    kernel: kernel as KernelCase['kernel'],
    family: 'causal',
    maskParams: {},
    seed: 0,
    seqlen,
    batch: 1,
    headsQ: 2,
    headsKv: 1,
    headDim: 4,
    dtype: 'float32',
    direction: 'fwd',
    warmup: 5,
    iters: 20,
    checkUpTo: 1 << 20,
    ...extra,
  };
}

describe('binary arrays', () => {
  it('round-trips, dedupes identical arrays and deflates large ones', () => {
    const f = new ArrayFile(path.join(tmp, 'a.bin'), tmp);
    const a = f.add(Int32Array.from([1, -2, 3, 4]), [2, 2]);
    const again = f.add(Int32Array.from([1, -2, 3, 4]), [2, 2]);
    const big = f.add(new Int32Array(3 << 20).map((_, i) => i % 7), [3 << 20]);
    f.close();
    expect(again).toEqual(a);
    expect(a.path).toBe('a.bin');
    expect(big.encoding).toBe('zlib');
    expect(big.nbytes).toBeLessThan((3 << 20) * 4);
    expect([...readArray(a, tmp)]).toEqual([1, -2, 3, 4]);
    expect(readArray(big, tmp)[10]).toBe(3);
    expect(() => new ArrayFile(path.join(tmp, 'b.bin')).add(Int32Array.from([1]), [2])).toThrow(/shape/);
  });
});

describe('job builder', () => {
  const arrays = () => new ArrayFile(path.join(tmp, `j-${Math.random()}.bin`));
  it('takes the first format the adapter and the kernel accept', () => {
    const flash = buildJob(kcase('sdpa_flash', 256, { dtype: 'bfloat16' }), causal(256), getKernel('sdpa_flash'), arrays());
    expect(flash.kind).toBe('job');
    if (flash.kind === 'job') {
      expect(flash.job.mask).toEqual({ format: 'window', perHead: false, args: { left: -1, right: 0 } });
      expect(flash.job.slices[0].types.shape).toEqual([1]);
      expect(flash.job.check.tolerance).toBe(3e-2);
    }
    const naive = buildJob(kcase('torch_naive', 256), causal(256), getKernel('torch_naive'), arrays());
    expect(naive.kind === 'job' && naive.job.mask.format).toBe('dense');
    const flex = buildJob(kcase('flex', 256), causal(256), getKernel('flex'), arrays());
    expect(flex.kind === 'job' && flex.job.mask.format).toBe('block_table');
    if (flex.kind === 'job') expect(flex.job.mask.args.kvNumBlocks).toMatchObject({ dtype: 'int32', shape: [1, 2] });
  });
  it('sends documents to SDPA as varlen and says why a window cannot go there', () => {
    const d = buildJob(kcase('sdpa_flash', 96, { dtype: 'bfloat16' }), docs([32, 64]), getKernel('sdpa_flash'), arrays());
    expect(d.kind === 'job' && d.job.mask.format).toBe('varlen');
    const w = buildJob(kcase('sdpa_flash', 512, { dtype: 'bfloat16' }), window(512, 64), getKernel('sdpa_flash'), arrays());
    expect(w.kind).toBe('unsupported');
    if (w.kind === 'unsupported') expect(w.reason).toMatch(/sdpa_flash cannot express sliding_window: window: .*sliding window/);
    const bwd = buildJob(kcase('flashinfer', 64, { dtype: 'bfloat16', direction: 'bwd' }), causal(64), getKernel('flashinfer'), arrays());
    expect(bwd).toEqual({ kind: 'unsupported', reason: 'flashinfer has no backward pass' });
  });
  it('block tables use a block-sparse family\'s own tile size, else 128', () => {
    expect(blockSizeOf(mask('block_sparse', 256, [], { block: 64 }))).toBe(64);
    expect(blockSizeOf(mask('block_causal_document', 4096, [], { block: 1024 }))).toBe(128);
    expect(blockSizeOf(causal(256))).toBe(128);
  });
  it('registry: every id once, GPU kernels have a python module, unknown ids are bad input', () => {
    const ids = KERNELS.map((k) => k.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const k of KERNELS) {
      if (k.executor === 'cpu') continue;
      expect(fs.existsSync(path.join(pythonDir(), 'attnbench_worker', 'kernels', `${k.id}.py`)), k.id).toBe(true);
    }
    expect(() => getKernel('warp_drive')).toThrow(AttnbenchError);
    expect(() => getKernel('warp_drive')).toThrow(/unknown kernel 'warp_drive'/);
  });
});

describe('worker process (py_ref, no torch needed)', () => {
  it('handshakes, runs a job with error metrics, and reports unsupported', async () => {
    const ex = new TorchExecutor({ requireGpu: false, kernels: [PY_REF], workDir: tmp });
    try {
      expect((await ex.available()).has('py_ref')).toBe(true);
      const env = await ex.environment();
      expect(env.libs.python).toMatch(/^3\./);
      const o = await ex.run(kcase('py_ref', 12), docs([5, 7]));
      expect(o.status).toBe('ok');
      expect(o.times!.samples).toBe(20);
      expect(o.error!.out!.maxAbs).toBeLessThan(1e-9);
      expect(o.error!.exceedsTolerance).toBe(false);
      const b = await ex.run(kcase('py_ref', 12, { direction: 'bwd' }), causal(12));
      expect(b).toMatchObject({ status: 'unsupported', message: 'py_ref has no backward pass' });
      const big = await ex.run(kcase('py_ref', 4096), causal(4096));
      expect(big.status).toBe('unsupported');
    } finally {
      await ex.close();
    }
  });

  it('times out a hung job, restarts after a death, and goes on', async () => {
    const client = new WorkerClient({ graceS: 0.2 });
    const arrays = new ArrayFile(path.join(tmp, 'c.bin'));
    const job = (id: string, debug?: { sleepS?: number; exitCode?: number }, timeoutS = 30) => {
      const p = buildJob(kcase('py_ref', 8, { id }), causal(8), PY_REF, arrays, { id, timeoutS, debug });
      if (p.kind !== 'job') throw new Error(p.reason);
      return p.job;
    };
    try {
      const slow = await client.run(job('slow', { sleepS: 60 }, 0.3));
      expect(slow.kind).toBe('timeout');
      const ok = await client.run(job('after-timeout'));
      expect(ok.kind === 'result' && ok.result.status).toBe('ok');
      const crash = await client.run(job('crash', { exitCode: 9 }));
      expect(crash).toMatchObject({ kind: 'died' });
      if (crash.kind === 'died') expect(crash.message).toMatch(/exited with code 9/);
      const p = await client.process();
      process.kill(p.pid!, 'SIGKILL'); // killed from outside between jobs
      await new Promise((r) => setTimeout(r, 100));
      const again = await client.run(job('after-kill'));
      expect(again.kind === 'result' && again.result.status).toBe('ok');
      expect(client.restarts).toBe(3);
    } finally {
      arrays.close();
      await client.close();
    }
  });

  it('missing python is one clear unavailable error', async () => {
    const err = await WorkerProcess.start({ python: '/nonexistent/python9' }).catch((e) => e);
    expect(err).toBeInstanceOf(AttnbenchError);
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe("python not found: '/nonexistent/python9' (pass --python or put python3 on PATH)");
  });

  it('the real worker writes its boot line, then says hello', async () => {
    const w = await WorkerProcess.start({ bootTimeoutMs: 60_000 });
    try {
      expect(w.hello).toMatchObject({ type: 'hello', protocol: PROTOCOL_VERSION, group: 'torch' });
      expect(w.hello.kernels.py_ref?.available).toBe(true);
    } finally {
      await w.close();
    }
  });

  it('torch executor without torch says so in one line', async () => {
    const ex = new TorchExecutor({ kernels: [PY_REF], workDir: tmp });
    try {
      const has = await ex.available().then(
        () => true,
        (e: AttnbenchError) => {
          expect(e.code).toBe('unavailable');
          expect(e.message).toMatch(/^torch executor: /);
          expect(e.message).not.toMatch(/\n/);
          return false;
        },
      );
      expect(typeof has).toBe('boolean'); // true only on a machine whose python3 has torch and a GPU
    } finally {
      await ex.close();
    }
  });
});

describe('a --python that is not the worker (boot line, then hello)', () => {
  /** A stand-in for --python: a shell script (its arguments, `-m attnbench_worker serve ...`, ignored). */
  const fake = (name: string, body: string): string => fakePython(tmp, name, body);
  const boot = (protocol = PROTOCOL_VERSION) => JSON.stringify({ type: 'boot', protocol });
  const hello = JSON.stringify({
    type: 'hello', protocol: PROTOCOL_VERSION, worker: '0', group: 'torch', kernels: {},
    env: { host: 'h', gpu: null, driver: null, cuda: null, libs: {}, date: 'd' },
  });
  const startError = (python: string, o: { bootTimeoutMs?: number; helloTimeoutMs?: number }) =>
    WorkerProcess.start({ python, ...o }).then(
      () => expect.unreachable('started'),
      (e: AttnbenchError) => e,
    );

  it('one that never answers fails within the boot limit, naming it, and is killed (it used to cost the 300 s hello limit)', async () => {
    const pidFile = path.join(tmp, 'sleeper.pid');
    const python = sleeperPython(tmp, pidFile);
    const t0 = Date.now();
    const e = await startError(python, { bootTimeoutMs: 1000 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e).toBeInstanceOf(AttnbenchError);
    expect([e.code, e.exit]).toEqual(['unavailable', 2]);
    expect(e.message).toContain(`python '${python}' did not start the attnbench worker within 1 s (no boot line: `);
    expect(e.message).toContain(`${BOOT_ENV}=<seconds> allows a slower start`);
    expect(e.message).not.toMatch(/\n/);
    expect(await goneSoon(pidFile)).toBe(true);
  });

  it('after the boot line the hello limit applies; boot and hello in one chunk both count', async () => {
    const slow = fake('boot-then-nothing', `printf '%s\\n' '${boot()}'\nexec sleep 60`);
    const t0 = Date.now();
    const e = await startError(slow, { bootTimeoutMs: 1000, helloTimeoutMs: 2500 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2400); // not failed at the boot limit
    expect([e.code, e.message]).toEqual(['worker', 'the python worker did not say hello within 2.5 s']);
    const quick = fake('boot-and-hello', `printf '%s\\n' '${boot()}' '${hello}'\nexec cat >/dev/null`);
    const w = await WorkerProcess.start({ python: quick, bootTimeoutMs: 2000, helloTimeoutMs: 2000 });
    expect(w.hello.protocol).toBe(PROTOCOL_VERSION);
    await w.close();
  });

  it('a boot line of another protocol is refused at once', async () => {
    const other = fake('other-protocol', `printf '%s\\n' '${boot(PROTOCOL_VERSION + 1)}'\nexec sleep 60`);
    const e = await startError(other, { bootTimeoutMs: 5000 });
    expect([e.code, e.message]).toEqual(['worker', `the python worker speaks protocol ${PROTOCOL_VERSION + 1}, this attnbench speaks ${PROTOCOL_VERSION}`]);
  });

  it(`${BOOT_ENV}: seconds > 0, default 30 s; another value is exit 2`, () => {
    const old = process.env[BOOT_ENV];
    try {
      for (const [v, want] of [['', 30_000], ['2.5', 2500], ['x', null], ['0', null], ['-1', null]] as const) {
        process.env[BOOT_ENV] = v;
        if (want === null) expect(() => bootLimitMs()).toThrow(new RegExp(`invalid ${BOOT_ENV} '${v}'`));
        else expect(bootLimitMs()).toBe(want);
      }
    } finally {
      if (old === undefined) delete process.env[BOOT_ENV];
      else process.env[BOOT_ENV] = old;
    }
  });
});

describe('file mode', () => {
  it('plans a folder, runs it with python, and reads the results back', () => {
    const dir = path.join(tmp, 'plan');
    const cases = [kcase('py_ref', 10), kcase('py_ref', 16, { id: 'two' }), kcase('sdpa_flash', 512, { id: 'win', dtype: 'bfloat16' })];
    const masks = { generate: (c: KernelCase) => (c.id === 'win' ? window(512, 64) : causal(c.seqlen)), samples: () => 1 };
    const planned = planJobsFile(cases, dir, masks, { kernels: [PY_REF] });
    expect(planned).toMatchObject({ jobs: 2, unsupported: 1 });
    const jobs = fs.readFileSync(planned.jobsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(jobs[0].slices[0].qRanges.path).toBe('arrays.bin'); // relative: the folder can travel
    const moved = path.join(tmp, 'moved');
    fs.cpSync(dir, moved, { recursive: true });
    const out = path.join(moved, 'results.jsonl');
    execFileSync('python3', ['-m', 'attnbench_worker', 'run', path.join(moved, 'jobs.jsonl'), '--out', out], {
      env: { ...process.env, PYTHONPATH: pythonDir() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const rs = readWorkerResults(out);
    expect(rs.map((r) => [r.caseId, r.outcome.status])).toEqual([
      [cases[0].id, 'ok'],
      ['two', 'ok'],
    ]);
    expect(rs[0].env?.libs.python).toMatch(/^3\./);
    // ingest: one result row per planned case, the unsupported one included, FLOPs from the mask's area (the one FLOP count)
    const source = { ...masks, meanArea: (g: GeneratedMask) => g.seqlen * g.seqlen };
    const rows = ingestWorkerResults(path.join(moved, 'cases.jsonl'), out, source);
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      [cases[0].id, 'ok'],
      ['two', 'ok'],
      ['win', 'unsupported'],
    ]);
    expect(rows[1].flops).toBe(attentionFlops(16 * 16, rows[1].headsQ, rows[1].headDim, 'fwd'));
    expect(rows[1].tflops).toBeCloseTo(rows[1].flops / (rows[1].times!.medianMs * 1e9), 12);
    expect(rows[0].env.libs.python).toMatch(/^3\./);
    // a results file missing a case leaves that case out (a later ingest completes it)
    const partial = path.join(moved, 'partial.jsonl');
    fs.writeFileSync(partial, fs.readFileSync(out, 'utf8').split('\n')[0] + '\n');
    expect(ingestWorkerResults(path.join(moved, 'cases.jsonl'), partial, source).map((r) => r.id)).toEqual([cases[0].id, 'win']);
  });
});
