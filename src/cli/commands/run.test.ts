// attnbench run: stage selection, and a --quick run end to end into a temp folder (no GPU here).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { closeStore, openStore, query } from '../../store/store.js';
import { lockFileOf } from '../../util/lock.js';
import { main } from '../main.js';
import { planStages, probeGpu, runPaths, type StageCall } from './run.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-run-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The probe starts the python worker as `doctor` does; this machine has no torch / GPU. */
const probe = await probeGpu();

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('attnbench run', () => {
  it('selects the CPU stages without a GPU and the torch kernel sweep with one', () => {
    const o = { out: dir, resume: true, executor: 'auto' };
    expect(planStages(o, false).map((s) => s.name)).toEqual(['masks', 'kernels', 'cp', 'sim', 'ingest', 'report']);
    const gpu = planStages(o, true);
    expect(gpu.map((s) => s.name)).toEqual(['kernels', 'ingest', 'report']);
    // each stage calls the command's function with typed options (no argv re-parsed)
    const torch = gpu[0].work() as StageCall;
    expect(torch.command).toBe('kernels');
    expect(torch.options).toMatchObject({ executor: 'torch', preset: 'gpu-quick', resume: true });
    const cpu = planStages({ ...o, resume: false }, false).find((s) => s.name === 'kernels')!.work() as StageCall;
    expect(cpu.options).toMatchObject({ executor: 'cpu', preset: 'cpu' });
    expect(cpu.options).not.toHaveProperty('resume');
  });

  it("a stage's call gets its command's checks: the --out lock (exit 2 naming the holder) and the path checks", async () => {
    const out = path.join(dir, 'locked');
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the calls' log lines
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const stages = planStages({ out, resume: true, executor: 'cpu', quick: true }, false);
    const kernels = stages.find((s) => s.name === 'kernels')!.work() as StageCall;
    const p = runPaths(out);
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(lockFileOf(p.kernels), JSON.stringify({ pid: process.ppid, host: os.hostname(), since: '2026-12-04T00:00:00Z', command: 'kernels --out k.jsonl' }));
    try {
      await expect(kernels.run()).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/^--out .*kernels\.jsonl is being written by pid /) });
      expect(fs.existsSync(p.kernels)).toBe(false);
    } finally {
      fs.rmSync(lockFileOf(p.kernels), { force: true });
    }
    // the masks stage's --out is a file here: refused as the CLI's path check refuses `masks --out <file>`
    fs.writeFileSync(p.masks, 'not a folder\n');
    const masks = stages.find((s) => s.name === 'masks')!.work() as StageCall;
    await expect(masks.run()).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/^--out /) });
    expect(fs.readFileSync(p.masks, 'utf8')).toBe('not a folder\n');
  });

  it('a foreign file where a stage writes (kernels.jsonl, cp.jsonl, sim.jsonl, results.duckdb) is one line, exit 2, before any stage runs (the stages before it used to run and write first)', async () => {
    for (const [name, text, re] of [
      ['kernels', 'garbage\n', /^attnbench: bad_input: --out \(kernels\) '.*kernels\.jsonl' is not a results file of attnbench/],
      ['cp', '{"x":1}\n', /^attnbench: bad_input: --out \(cp\) '.*cp\.jsonl' is not a results file of attnbench/],
      ['sim', 'garbage\n', /^attnbench: bad_input: --out \(sim\) /],
      ['db', 'not a database\n', /^attnbench: bad_input: --out \(db\): .*results\.duckdb is not a DuckDB database/],
    ] as const) {
      const out = path.join(dir, `foreign-${name}`);
      fs.mkdirSync(out);
      const f = runPaths(out)[name];
      fs.writeFileSync(f, text);
      const r = await cli('run', '--executor', 'cpu', '--quick', '--out', out);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(re);
      expect(r.out).toBe('');
      expect(fs.readdirSync(out)).toEqual([path.basename(f)]);
      expect(fs.readFileSync(f, 'utf8')).toBe(text);
    }
  });

  it.skipIf(probe.gpu)('--executor torch on a machine without torch: exit 2 like kernels and cp run (issue 17)', async () => {
    const r = await cli('run', '--executor', 'torch', '--out', path.join(dir, 'torchless'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^attnbench: unavailable: --executor torch runs the GPU stages and this machine has none usable \(.+\)/m);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, 'torchless'))).toBe(false); // nothing written, not even the logs
  });

  it.skipIf(probe.gpu)('--quick runs the CPU stages end to end, fills the results database, and resumes', async () => {
    const out = path.join(dir, 'quick');
    const first = await cli('run', '--quick', '--out', out);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/no GPU .*-> CPU stages/);
    for (const [i, s] of ['masks', 'kernels', 'cp', 'sim', 'ingest', 'report'].entries())
      expect(first.out).toMatch(new RegExp(`^\\[${i + 1}/6\\] ${s} +ok +[\\d.]+ s`, 'm'));
    const p = runPaths(out);
    for (const f of [path.join(p.masks, 'index.html'), p.kernels, p.cp, p.sim, p.db, path.join(p.report, 'report.md'), path.join(p.report, 'report.html'), path.join(p.logs, 'cp.log')])
      expect(fs.existsSync(f), f).toBe(true);

    const store = await openStore(p.db, { readOnly: true });
    const counts = Object.fromEntries(
      (await query(store, 'SELECT suite, simulated, count(*) AS n FROM results GROUP BY ALL')).map((r) => [`${String(r.suite)}${r.simulated ? ' (sim)' : ''}`, Number(r.n)]),
    );
    closeStore(store);
    // kernels: causal at 256, fwd + bwd; cp: 3 schemes x fwd/bwd on 2 CPU ranks; sim: 2 schemes x 2 families x fwd/bwd at P=8
    expect(counts).toEqual({ kernel: 2, cp: 6, 'cp (sim)': 8 });

    const cpRows = fs.readFileSync(p.cp, 'utf8');
    const firstKernelsLog = fs.readFileSync(path.join(p.logs, 'kernels.log'), 'utf8');
    expect(firstKernelsLog).toMatch(/2 case\(s\) measured/);
    const again = await cli('run', '--quick', '--out', out);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/\] kernels +ok .*0 case\(s\) measured/);
    // the CP stage (runCp, a function call) resumes: every case already in cp.jsonl, nothing measured, cp.jsonl as it was
    expect(again.out).toMatch(/\] cp +ok .*0 row\(s\) -> .*: all 3 case\(s\) already in it \(--resume\)/);
    expect(fs.readFileSync(p.cp, 'utf8')).toBe(cpRows);
    expect(fs.readFileSync(path.join(p.logs, 'cp.log'), 'utf8')).toMatch(/runCp: .* on the cpu executor -> .*\(resume\)\n(.*\n)*3 case\(s\) already in .*: skipped \(--resume\)/);
    expect(again.out).toMatch(/\] sim +skipped /);
    // the resumed run appends to the logs: the log of the run that measured is still there (issue 17)
    const kernelsLog = fs.readFileSync(path.join(p.logs, 'kernels.log'), 'utf8');
    expect(kernelsLog.startsWith(firstKernelsLog)).toBe(true);
    expect(kernelsLog.slice(firstKernelsLog.length)).toMatch(/^==== .* pid \d+\n(.*\n)*0 case\(s\) measured/);
    expect(again.out).toMatch(/results\.duckdb: 16 row\(s\)/);
  }, 180_000);
});
