// kill -9 drills (issue 17) on the CPU paths: a run killed once its first rows are on disk, then
// run again with --resume (sim run: again, its rows replace by id), ends with the same case ids as
// a run never killed, no row lost or duplicated. One drill also tears the last line (a write cut
// mid-row) before resuming.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, ensureBuilt, pool } from './harness.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-kill-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface KillDrill {
  readonly name: string;
  /** Arguments with {out} for the result file (or folder, for `run`). */
  readonly args: readonly string[];
  /** The result files to compare, relative to {out}'s folder. */
  readonly files: readonly string[];
  readonly resume: readonly string[];
  readonly tear?: boolean;
}

const KERNELS = ['kernels', '--executor', 'cpu', '--family', 'causal,causal_document,sliding_window_causal', '--seqlen', '512,1024,2048', '--param', 'w=256', '--heads', '2:1', '--head-dim', '32', '--warmup', '0', '--iters', '2', '--no-progress', '--out', '{out}/k.jsonl'];
export const KILL_DRILLS: readonly KillDrill[] = [
  { name: 'kernels', args: KERNELS, files: ['k.jsonl'], resume: ['--resume'] },
  { name: 'kernels, torn last line', args: KERNELS, files: ['k.jsonl'], resume: ['--resume'], tear: true },
  {
    name: 'cp run',
    args: ['cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p,ulysses,dispatch', '--world', '2', '--family', 'causal,causal_document', '--seqlen', '1k', '--out', '{out}/c.jsonl'],
    files: ['c.jsonl'],
    resume: ['--resume'],
  },
  {
    name: 'sim run',
    args: ['sim', 'run', '--gpus', '8,16,32', '--family', 'causal,causal_document', '--scheme', 'ring_p2p,usp,dispatch', '--out', '{out}/s.jsonl'],
    files: ['s.jsonl'],
    resume: [],
  },
  { name: 'attnbench run', args: ['run', '--quick', '--executor', 'cpu', '--out', '{out}/run'], files: ['run/kernels.jsonl', 'run/cp.jsonl', 'run/sim.jsonl'], resume: [] },
];

const sub = (args: readonly string[], dir: string) => args.map((a) => a.replace('{out}', dir));

function rowsOf(file: string): { id: string; status: string; direction?: string }[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { id: string; status: string });
}

function lines(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length;
  } catch {
    return 0;
  }
}

/** Starts the command, kills it (-9) once a result file holds a row; resolves whether it was still running. */
function killAfterFirstRow(args: readonly string[], cwd: string, watch: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: 'ignore' });
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    const t0 = Date.now();
    const tick = setInterval(() => {
      const have = watch.some((f) => lines(f) > 0);
      if (exited || have || Date.now() - t0 > 120_000) {
        clearInterval(tick);
        const alive = !exited;
        if (alive) child.kill('SIGKILL');
        child.once('exit', () => resolve(alive));
        if (!alive) resolve(false);
      }
    }, 20);
  });
}

interface DrillResult {
  readonly killedMidRun: boolean;
  readonly resumeCode: number | null;
  readonly clean: Map<string, { id: string; status: string }[]>;
  readonly resumed: Map<string, { id: string; status: string }[]>;
  readonly torn: boolean;
}

let results: DrillResult[] = [];

beforeAll(async () => {
  ensureBuilt();
  results = await pool(KILL_DRILLS, 2, async (d, i) => {
    const cleanDir = path.join(work, `clean-${i}`);
    const killDir = path.join(work, `kill-${i}`);
    fs.mkdirSync(cleanDir);
    fs.mkdirSync(killDir);
    await cli(sub(d.args, cleanDir), cleanDir, 240);
    const files = d.files.map((f) => path.join(killDir, f));
    // attnbench run: the kernels stage's file appears first; kill once any row is down
    const killedMidRun = await killAfterFirstRow(sub(d.args, killDir), killDir, files);
    if (d.tear) fs.appendFileSync(files[0], '{"schema":1,"id":"kernel/torn-by-the-dril');
    const r = await cli([...sub(d.args, killDir), ...d.resume], killDir, 240);
    return {
      killedMidRun,
      resumeCode: r.code,
      torn: d.tear ? /moved to .*\.torn/.test(r.stderr) : false,
      clean: new Map(d.files.map((f) => [f, rowsOf(path.join(cleanDir, f))])),
      resumed: new Map(d.files.map((f) => [f, rowsOf(path.join(killDir, f))])),
    };
  });
}, 900_000);

describe('kill -9 then resume: the same case ids, no row lost or duplicated', () => {
  it.each(KILL_DRILLS.map((d, i) => [i, d.name] as const))('#%i %s', (i) => {
    const r = results[i];
    expect(r.killedMidRun, 'the run was killed while it was still running').toBe(true);
    expect(r.resumeCode).toBe(0);
    for (const [file, clean] of r.clean) {
      const got = r.resumed.get(file)!;
      const okIds = (rows: { id: string; status: string }[]) => rows.filter((x) => x.status === 'ok').map((x) => x.id).sort();
      expect(clean.length, `${file}: the clean run wrote rows`).toBeGreaterThan(0);
      // every case measured once: ok ids equal the clean run's, none twice
      expect(okIds(got), file).toEqual(okIds(clean));
      expect(new Set(okIds(got)).size, `${file}: duplicated ok rows`).toBe(okIds(got).length);
    }
    if (KILL_DRILLS[i].tear) expect(r.torn, 'the torn fragment was set aside with a warning').toBe(true);
  });
});
