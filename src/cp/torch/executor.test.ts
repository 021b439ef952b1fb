// The torch executor behind runCp, without torch: the run loop's recovery from a dying launch (with
// a fake launcher or a fake python), --resume against ids of committed result files, --plan-dir,
// and the nodes other than 0 following node 0's launches.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttnbenchError } from '../../errors.js';
import { ResultRowSchema, type ResultRow, type Status } from '../../results/schema.js';
import { cpuEnvironment } from '../../util/env.js';
import { cpCaseId } from '../exec/rows.js';
import { runCp, type RunCpResult } from '../exec/run-cp.js';
import { CP_EXECUTORS } from '../exec/index.js';
import { createTorchExecutor } from './executor.js';
import { planJob, torchJob, torchRequest } from './jobs.js';
import { caseId, type CpJob } from './manifest.js';
import type { TorchLaunch } from './options.js';
import { paperCp } from './preset.js';
import { failedRow, torchRowId } from './rows.js';
import { followTorchLaunches, RAW_RESULTS, writeTorchPlan, type SpawnFn } from './run.js';
import { fakeLauncher, record } from './testing.js';

/** The shape torchRowId resolves 'auto' with: these calls name their kernel, so any shape. */
const NAMED = { headsQ: 4, headsKv: 2, headDim: 16, dtype: 'float32' };

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-cp-torch-exec-'));

const small = (scheme: string, family: string, world: number): CpJob =>
  planJob({ scheme, family, world, seqlen: 64 * world, headsQ: 4, headsKv: 2, headDim: 8, dtype: 'float32', kernel: 'reference', warmup: 1, iters: 2 });

const dist = (nproc: number, extra: Partial<Extract<TorchLaunch, { kind: 'dist' }>> = {}): TorchLaunch => ({
  kind: 'dist', world: nproc * (extra.nnodes ?? 1), device: 'cpu', backend: 'gloo', nprocPerNode: nproc, nnodes: 1, ...extra,
});
const virtual = (world: number, device: 'cpu' | 'cuda' = 'cpu'): TorchLaunch => ({ kind: 'virtual', world, device });

interface Run {
  readonly jobs: readonly CpJob[];
  readonly dir: string;
  readonly out: string;
  readonly launch: TorchLaunch;
  readonly spawnFn?: SpawnFn;
  readonly python?: string;
  readonly resume?: boolean;
  readonly retry?: readonly Status[];
  readonly timeoutS?: number;
  readonly killMarginS?: number;
  readonly killGraceS?: number;
  readonly onLine?: (l: string) => void;
}

/** What `cp run --executor torch` does after parsing: the jobs as run requests through runCp. */
function runJobs(r: Run): Promise<RunCpResult> {
  const { jobs, out, resume, retry, ...o } = r;
  const executor = createTorchExecutor({ ...o, dtype: 'float32', onLine: o.onLine ?? (() => {}) });
  return runCp(jobs.map(torchRequest), executor, { out, resume: resume ?? false, retry: retry ?? [], env: cpuEnvironment() });
}

const indexOf = (argv: readonly string[]) => argv[argv.indexOf('run') + 1];
const manifestsOf = (argv: readonly string[]) => JSON.parse(fs.readFileSync(indexOf(argv), 'utf8')).manifests as string[];

function readJsonlRows(file: string): ResultRow[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => ResultRowSchema.parse(JSON.parse(l)));
}

describe('the torch executor behind runCp', () => {
  it('is registered: cp run --executor torch loads it (no more in-process refusal)', () => {
    const torch = CP_EXECUTORS.find((e) => e.id === 'torch')!;
    expect(typeof torch.load).toBe('function');
  });

  it('a run request carries the case and its torch part, and back (ids unchanged)', () => {
    const job = small('ulysses', 'causal', 2);
    const req = torchRequest(job);
    expect(req.torch).toMatchObject({ dtype: 'float32', kernel: 'reference', warmup: 1, iters: 2 });
    expect(torchJob(req)).toEqual(job);
    const ex = createTorchExecutor({ launch: virtual(2), dir: tmp(), dtype: 'bfloat16' });
    // The request's dtype, not the runner's, is part of the id; failed rows carry the same id.
    for (const d of ['fwd', 'bwd'] as const) {
      expect(cpCaseId(ex.runner, req, d)).toBe(torchRowId(caseId(job.plan, job.meta), d, 'virtual2', 'cpu', 'reference', NAMED));
      const row = ex.failedRow!(req, d, 'error', 'x');
      expect(row.id).toBe(cpCaseId(ex.runner, req, d));
      expect({ ...row, env: null }).toEqual({ ...failedRow(job, d, 'error', 'x', 'virtual2', 'cpu'), env: null });
      expect(row.layout).toMatchObject({ virtualRanks: 2 });
    }
    expect(() => torchJob({ ...req, torch: undefined })).toThrow(/without its torch part/);
  });

  it('world-size mismatch: an error row per direction, nothing launched for it', async () => {
    const dir = tmp();
    const calls: string[][] = [];
    const jobs = [small('ring_p2p', 'causal', 2)];
    const res = await runJobs({ jobs, dir, out: path.join(dir, 'rows.jsonl'), launch: dist(4), spawnFn: fakeLauncher(jobs, null, calls) });
    expect(calls).toHaveLength(0);
    expect(res.rows.map((r) => [r.direction, r.status])).toEqual([['fwd', 'error'], ['bwd', 'error']]);
    expect(res.rows[0].message).toMatch(/world-size mismatch: the plan is for 2 ranks but --nproc-per-node 4 x --nnodes 1 gives 4/);
    for (const r of res.rows) expect(ResultRowSchema.safeParse(r).success).toBe(true);
    expect(res.failed).toBe(1);
  });

  it('a launch that dies loses only its case (named rank and step) and resumes after it', async () => {
    const dir = tmp();
    const calls: string[][] = [];
    const jobs = [small('ring_p2p', 'causal', 2), small('ulysses', 'causal', 2), small('dispatch', 'causal', 2)];
    const dying = caseId(jobs[1].plan, jobs[1].meta);
    const out = path.join(dir, 'rows.jsonl');
    const res = await runJobs({ jobs, dir, out, launch: dist(2), spawnFn: fakeLauncher(jobs, dying, calls) });
    expect(calls).toHaveLength(2);
    expect(calls[0].slice(1, 9)).toEqual(['-m', 'torch.distributed.run', '--standalone', '--nnodes', '1', '--nproc_per_node', '2', '-m']);
    expect(manifestsOf(calls[1])).toHaveLength(1);
    const byId = new Map(res.rows.map((r) => [r.id, r]));
    expect(res.rows).toHaveLength(6);
    const failed = byId.get(torchRowId(dying, 'fwd', 'dist-gloo', 'cpu', 'reference', NAMED))!;
    expect(failed.status).toBe('error');
    expect(failed.message).toContain('rank 1 fwd step 3 (attn)');
    expect(byId.get(torchRowId(caseId(jobs[2].plan, jobs[2].meta), 'bwd', 'dist-gloo', 'cpu', 'reference', NAMED))!.status).toBe('ok');
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(6);
    expect(fs.existsSync(path.join(dir, RAW_RESULTS))).toBe(true);
    expect([res.cases, res.failed]).toEqual([3, 1]);
  });

  it('a launch that ends after writing the rows of a failed case: the next case runs again, not blamed', async () => {
    const dir = tmp();
    const calls: string[][] = [];
    const jobs = [small('ring_p2p', 'causal', 2), small('ulysses', 'causal', 2), small('dispatch', 'causal', 2)];
    const dying = caseId(jobs[0].plan, jobs[0].meta);
    const res = await runJobs({ jobs, dir, out: path.join(dir, 'rows.jsonl'), launch: dist(2), spawnFn: fakeLauncher(jobs, dying, calls, 'after-rows') });
    expect(calls).toHaveLength(2);
    expect(manifestsOf(calls[1])).toHaveLength(2);
    expect(res.rows.map((r) => [r.scheme, r.status])).toEqual([
      ['ring_p2p', 'error'], ['ring_p2p', 'error'], ['ulysses', 'ok'], ['ulysses', 'ok'], ['dispatch', 'ok'], ['dispatch', 'ok'],
    ]);
    expect(res.rows[0].message).toContain('rank 1 fwd step 3 (attn)');
    // Error rows measured by the ranks count as a failed case too.
    expect(res.failed).toBe(1);
  });

  it('--plan-dir: job files and the command that continues where it stopped, nothing started', () => {
    const dir = tmp();
    const jobs = [small('usp', 'full', 4)];
    const r = writeTorchPlan(jobs, { launch: virtual(4), dir });
    expect(r.command!.slice(-2)).toEqual(['--virtual-ranks', '4']);
    expect(r.command).toContain('--resume');
    expect(fs.existsSync(r.written.index)).toBe(true);
    expect(fs.existsSync(path.join(dir, RAW_RESULTS))).toBe(false);
    expect(writeTorchPlan([], { launch: virtual(4), dir: tmp() }).command).toBeNull();
  });
});

describe('the torch executor: resume and several nodes', () => {
  it('--resume: cases whose every direction is in --out are not handed to the executor again', async () => {
    const dir = tmp();
    const out = path.join(dir, 'rows.jsonl');
    const jobs = [small('ring_p2p', 'causal', 2), small('dispatch', 'causal', 2)];
    const first = await runJobs({ jobs: jobs.slice(0, 1), dir, out, launch: dist(2), spawnFn: fakeLauncher(jobs, null, []) });
    expect(first.rows.map((r) => r.status)).toEqual(['ok', 'ok']);
    const calls: string[][] = [];
    const res = await runJobs({ jobs, dir, out, launch: dist(2), resume: true, spawnFn: fakeLauncher(jobs, null, calls) });
    expect(res.skipped).toBe(1);
    expect(calls).toHaveLength(1);
    expect(manifestsOf(calls[0])).toHaveLength(1);
    expect(res.rows.map((r) => r.scheme)).toEqual(['dispatch', 'dispatch']);
    expect(readJsonlRows(out).map((r) => r.scheme)).toEqual(['ring_p2p', 'ring_p2p', 'dispatch', 'dispatch']);
  });

  it('--resume: the same cases with another --kernel into the same --out and job folder are new cases (each kernel gets its rows)', async () => {
    // On the GPU, `--kernel triton_ranges` then `--kernel flex` into one --out skipped every flex case.
    const dir = tmp();
    const out = path.join(dir, 'rows.jsonl');
    const withKernel = (kernel: string) => [small('ring_p2p', 'causal', 2), small('ulysses', 'causal', 2)].map((j) => ({ ...j, meta: { ...j.meta, kernel } }));
    const run = async (kernel: string) => {
      const calls: string[][] = [];
      const jobs = withKernel(kernel);
      const res = await runJobs({ jobs, dir, out, launch: dist(2), resume: true, spawnFn: fakeLauncher(jobs, null, calls) });
      return { res, calls, jobs };
    };
    const first = await run('triton_ranges');
    expect([first.res.skipped, first.res.rows.length, first.calls.length]).toEqual([0, 4, 1]);
    const second = await run('flex');
    expect([second.res.skipped, second.res.rows.length, second.calls.length]).toEqual([0, 4, 1]);
    expect(second.res.rows.map((r) => r.kernel)).toEqual(['flex', 'flex', 'flex', 'flex']);
    // The planned id is the one the row carries (the kernel segment), and differs from the other kernel's.
    const ex = createTorchExecutor({ launch: dist(2), dir, dtype: 'float32' });
    const req = torchRequest(second.jobs[0]);
    expect(second.res.rows[0].id).toBe(cpCaseId(ex.runner, req, 'fwd'));
    expect(second.res.rows[0].id).toBe(`${first.res.rows[0].id.replace(/\|triton_ranges$/, '')}|flex`);
    // Again with either kernel: nothing left. 'auto' on CPU tensors is the reference: a third case.
    for (const k of ['triton_ranges', 'flex']) expect((await run(k)).calls).toHaveLength(0);
    const auto = await run('auto');
    expect(auto.res.rows.map((r) => [r.kernel, r.id.endsWith('|reference')])).toEqual(Array(4).fill(['reference', true]));
    expect((await run('reference')).calls).toHaveLength(0);
    const rows = readJsonlRows(out);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((r) => r.id)).size).toBe(12);
  });

  it('--resume recognizes the committed torch rows of results/h200/cp (gloo-p4: no launch at all)', async () => {
    // Every scheme x the four families as scripts/device/cp-check.sh ran them (`cp run --executor
    // torch --device cpu --backend gloo --nproc-per-node 4 --kernel reference`, S 512, 8:2 heads,
    // d 32, float32; the file also holds three extra layouts).
    // Cases whose plan the planner still makes as it did then (it may since default to other
    // layouts, e.g. doc_zigzag sharding for documents: a different case) must all be recognized.
    const committed = path.join(process.cwd(), 'results/h200/cp/gloo-p4.jsonl');
    const rows = readJsonlRows(committed);
    const canon = (l: object | null) => JSON.stringify(Object.entries(l ?? {}).sort());
    const sameLayout = (j: CpJob) => rows.some((r) => r.scheme === j.plan.scheme && r.family === j.meta.family && canon(r.layout) === canon(j.plan.layout));
    const cases = paperCp({ worlds: [4], tokensPerRank: 128, kernel: 'reference', dtype: 'float32' }).cases;
    const jobs = cases.map((c) => planJob({ ...c, headsQ: 8, headsKv: 2, headDim: 32 })).filter(sameLayout);
    // 19 since dispatch chooses its form on dense masks by cost (issue 14: causal went to another scheme's plan).
    expect(jobs.length).toBeGreaterThanOrEqual(19);
    const dir = tmp();
    const out = path.join(dir, 'rows.jsonl');
    fs.copyFileSync(committed, out);
    const calls: string[][] = [];
    const res = await runJobs({ jobs, dir, out, launch: dist(4), resume: true, spawnFn: fakeLauncher(jobs, null, calls) });
    expect([res.skipped, res.rows.length, calls.length]).toEqual([jobs.length, 0, 0]);
  });

  it('node 0 names each relaunch for the other nodes, which follow it without writing anything', async () => {
    const dir = tmp();
    const jobs = [small('ring_p2p', 'causal', 2), small('ulysses', 'causal', 2), small('dispatch', 'causal', 2)];
    const multi = { nprocPerNode: 1, nnodes: 2, rdzvEndpoint: 'node0:29500' };
    const leaderCalls: string[][] = [];
    const dying = caseId(jobs[1].plan, jobs[1].meta);
    const res = await runJobs({ jobs, dir, out: path.join(dir, 'rows.jsonl'), launch: dist(1, { ...multi, nodeRank: 0 }), spawnFn: fakeLauncher(jobs, dying, leaderCalls) });
    expect(leaderCalls).toHaveLength(2);
    expect(res.rows).toHaveLength(6);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'launch.1.json'), 'utf8'))).toEqual({ index: 'index.retry1.json' });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'launch.2.json'), 'utf8'))).toEqual({ stop: true });
    const before = fs.statSync(path.join(dir, 'arrays.bin')).mtimeMs;
    const followerCalls: string[][] = [];
    const launch = dist(1, { ...multi, nodeRank: 1 });
    expect(() => createTorchExecutor({ launch, dir, dtype: 'float32' })).toThrow(/only follows node 0/);
    const commands = await followTorchLaunches({ launch, dir, onLine: () => {}, spawnFn: async (argv) => (followerCalls.push([...argv]), 0) });
    expect(commands).toEqual(followerCalls);
    expect(followerCalls.map((a) => path.basename(indexOf(a)))).toEqual(['index.json', 'index.retry1.json']);
    expect(followerCalls[0]).toContain('--node_rank');
    expect(fs.statSync(path.join(dir, 'arrays.bin')).mtimeMs).toBe(before);
  });
});

/** A stand-in for python: a shell script given the body after it has found --out in its arguments. */
function fakePython(dir: string, body: string): string {
  const file = path.join(dir, 'fake-python');
  fs.writeFileSync(file, `#!/bin/sh\nout=""; prev=""\nfor a in "$@"; do [ "$prev" = "--out" ] && out="$a"; prev="$a"; done\n${body}\n`, { mode: 0o755 });
  return file;
}

describe('the torch executor with a real launched process', () => {
  const job = () => small('ring_p2p', 'causal', 2);

  it('streams rows into --out while the launch is still running', async () => {
    const dir = tmp();
    const out = path.join(dir, 'rows.jsonl');
    const j = job();
    for (const d of ['fwd', 'bwd'] as const) fs.writeFileSync(path.join(dir, `${d}.json`), `${JSON.stringify(record(j, d, 'virtual2'))}\n`);
    // Writes the fwd row, waits until attnbench has copied it into --out, then writes the bwd row.
    const python = fakePython(
      dir,
      `echo x >> ${dir}/launches; touch "$out.heartbeat"; cat ${dir}/fwd.json >> "$out"\n` +
        `i=0; until grep -q '"direction":"fwd"' ${out} 2>/dev/null; do sleep 0.1; i=$((i+1)); [ $i -gt 100 ] && exit 9; done\n` +
        `cat ${dir}/bwd.json >> "$out"`,
    );
    const res = await runJobs({ jobs: [j], dir: path.join(dir, 'jobs'), out, python, launch: virtual(2) });
    expect(fs.readFileSync(path.join(dir, 'launches'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(res.rows.map((r) => [r.direction, r.status])).toEqual([['fwd', 'ok'], ['bwd', 'ok']]);
    expect(readJsonlRows(out).map((r) => r.direction)).toEqual(['fwd', 'bwd']);
  });

  it('stops a launch that shows no progress for --timeout plus the margin: a timeout row, the process gone', async () => {
    const dir = tmp();
    const pidFile = path.join(dir, 'pid');
    const python = fakePython(dir, `echo $$ > ${pidFile}; exec sleep 60`);
    const lines: string[] = [];
    const t0 = Date.now();
    const res = await runJobs({
      jobs: [job()], dir: path.join(dir, 'jobs'), out: path.join(dir, 'rows.jsonl'), python, launch: virtual(2),
      timeoutS: 1, killMarginS: 0.5, killGraceS: 1, onLine: (l) => lines.push(l),
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(lines.join('\n')).toMatch(/no sign of progress from the executor for 1\.5 s .*stopping it/);
    expect(res.rows.map((r) => [r.direction, r.status])).toEqual([['fwd', 'timeout'], ['bwd', 'timeout']]);
    expect(res.rows[0].message).toMatch(/no sign of progress for 1\.5 s .*attnbench stopped the executor/);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a launch that ends before its first case is one error with its last words, not a row per case', async () => {
    const dir = tmp();
    const count = path.join(dir, 'launches');
    const python = fakePython(dir, `echo x >> ${count}; echo "attnbench-cp: --device cuda but no CUDA device is visible" >&2; exit 2`);
    const out = path.join(dir, 'rows.jsonl');
    const run = runJobs({ jobs: [job(), small('dispatch', 'causal', 2)], dir: path.join(dir, 'jobs'), out, python, launch: virtual(2, 'cuda') });
    await expect(run).rejects.toThrow(AttnbenchError);
    await expect(run).rejects.toThrow(/stopped before its first case \(exit 2\): attnbench-cp: --device cuda but no CUDA device is visible/);
    expect(fs.readFileSync(count, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a python that cannot be started is one line (exit 2), no rows', async () => {
    const dir = tmp();
    const out = path.join(dir, 'rows.jsonl');
    const run = runJobs({ jobs: [job()], dir: path.join(dir, 'jobs'), out, python: path.join(dir, 'no-such-python'), launch: virtual(2) });
    await expect(run).rejects.toMatchObject({ code: 'unavailable', exit: 2, message: expect.stringMatching(/python not found/) });
    expect(fs.existsSync(out)).toBe(false);
  });
});
