// kill -9 drills (issue 17) on the CPU paths: a run killed once its first rows are on disk, then
// run again with --resume (sim run: again, its rows replace by id), ends with the same rows as a
// run never killed: every case id once (whatever its status), no garbage line, the same values
// except timings and the run's environment. Some drills also tear the file before resuming: a
// fragment of a next row appended (`tear`), or the last row of a given kind cut in the middle
// (`cut`: its case must run again, and only its missing row be written).
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
  /** Cut the last row of this file whose id contains `id` in the middle (and drop what follows). */
  readonly cut?: { readonly file: string; readonly id: string };
  /** Kill once this file holds this many rows (default: once any file holds one). */
  readonly killAt?: { readonly file: string; readonly rows: number };
}

const KERNELS = ['kernels', '--executor', 'cpu', '--family', 'causal,causal_document,sliding_window_causal', '--seqlen', '512,1024,2048', '--param', 'w=256', '--heads', '2:1', '--head-dim', '32', '--warmup', '0', '--iters', '2', '--no-progress', '--out', '{out}/k.jsonl'];
const CP = ['cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p,ulysses,dispatch', '--world', '2', '--family', 'causal,causal_document', '--seqlen', '1k', '--out', '{out}/c.jsonl'];
const SIM = ['sim', 'run', '--gpus', '8,16,32', '--family', 'causal,causal_document', '--scheme', 'ring_p2p,usp,dispatch', '--out', '{out}/s.jsonl'];
export const KILL_DRILLS: readonly KillDrill[] = [
  { name: 'kernels', args: KERNELS, files: ['k.jsonl'], resume: ['--resume'] },
  { name: 'kernels, torn last line', args: KERNELS, files: ['k.jsonl'], resume: ['--resume'], tear: true },
  { name: 'cp run', args: CP, files: ['c.jsonl'], resume: ['--resume'] },
  { name: 'sim run', args: SIM, files: ['s.jsonl'], resume: [] },
  { name: 'attnbench run', args: ['run', '--quick', '--executor', 'cpu', '--out', '{out}/run'], files: ['run/kernels.jsonl', 'run/cp.jsonl', 'run/sim.jsonl'], resume: [] },
  // A CP case runs fwd and bwd together: with its bwd row cut, resuming used to write its fwd row a second time.
  {
    name: 'cp run, a bwd row cut mid-record',
    args: CP,
    files: ['c.jsonl'],
    resume: ['--resume'],
    killAt: { file: 'c.jsonl', rows: 2 },
    cut: { file: 'c.jsonl', id: '|bwd|' },
  },
  { name: 'kernels, last row cut mid-record', args: KERNELS, files: ['k.jsonl'], resume: ['--resume'], killAt: { file: 'k.jsonl', rows: 2 }, cut: { file: 'k.jsonl', id: '' } },
  // sim run writes its file at the end: a cut last line used to be kept as a garbage line in the middle of the new file.
  { name: 'sim run, last line cut', args: SIM, files: ['s.jsonl'], resume: [], cut: { file: 's.jsonl', id: '' } },
  {
    name: 'attnbench run, a cp.jsonl bwd row cut',
    args: ['run', '--quick', '--executor', 'cpu', '--out', '{out}/run'],
    files: ['run/kernels.jsonl', 'run/cp.jsonl', 'run/sim.jsonl'],
    resume: [],
    killAt: { file: 'run/cp.jsonl', rows: 2 },
    cut: { file: 'run/cp.jsonl', id: '|bwd|' },
  },
];

const sub = (args: readonly string[], dir: string) => args.map((a) => a.replace('{out}', dir));

type Row = { id: string; status: string } & Record<string, unknown>;

/** The rows of a file; a line that is not JSON reads as a row with status 'garbage'. */
function rowsOf(file: string): Row[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Row;
      } catch {
        return { id: `garbage: ${l.slice(0, 60)}`, status: 'garbage' };
      }
    });
}

/** A row without what differs between two runs of the same case: timings, memory, the run's environment. */
function measuredValues(r: Row): string {
  const { times: _t, tflops: _f, tflopsMeanRank: _m, memory: _mem, env: _e, ranks, ...rest } = r;
  return JSON.stringify({ ...rest, ranks: (ranks as { ms?: number }[] | undefined)?.map(({ ms: _ms, ...k }) => k) });
}

/** Cuts the last line of `file` whose id contains `id` in the middle; what followed it goes too (a write cut short). */
function cutRow(file: string, id: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const starts = [...text.matchAll(/^/gm)].map((m) => m.index!).filter((i) => i < text.length);
  const at = starts.findLast((i) => text.slice(i, text.indexOf('\n', i)).includes(`"id":"`) && (JSON.parse(text.slice(i, text.indexOf('\n', i))) as Row).id.includes(id));
  if (at === undefined) throw new Error(`${file}: no row with '${id}' to cut`);
  fs.truncateSync(file, at + Math.floor((text.indexOf('\n', at) - at) / 2));
}

function lines(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length;
  } catch {
    return 0;
  }
}

/** Starts the command, kills it (-9) once a watched file holds `rows` rows; resolves whether it was still running. */
function killAfterRows(args: readonly string[], cwd: string, watch: readonly string[], rows: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: 'ignore' });
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    const t0 = Date.now();
    const tick = setInterval(() => {
      const have = watch.some((f) => lines(f) >= rows);
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
  readonly clean: Map<string, Row[]>;
  readonly resumed: Map<string, Row[]>;
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
    // attnbench run: the kernels stage's file appears first; kill once any row is down (or killAt's rows)
    const watch = d.killAt ? [path.join(killDir, d.killAt.file)] : files;
    const killedMidRun = await killAfterRows(sub(d.args, killDir), killDir, watch, d.killAt?.rows ?? 1);
    if (d.tear) fs.appendFileSync(files[0], '{"schema":1,"id":"kernel/torn-by-the-dril');
    if (d.cut) cutRow(path.join(killDir, d.cut.file), d.cut.id);
    const r = await cli([...sub(d.args, killDir), ...d.resume], killDir, 240);
    return {
      killedMidRun,
      resumeCode: r.code,
      // the fragment is kept in <file>.torn; the warning is on stderr (attnbench run: in its stage's log)
      torn: d.tear ? /moved to .*\.torn/.test(r.stderr) : d.cut ? fs.existsSync(`${path.join(killDir, d.cut.file)}.torn`) : false,
      clean: new Map(d.files.map((f) => [f, rowsOf(path.join(cleanDir, f))])),
      resumed: new Map(d.files.map((f) => [f, rowsOf(path.join(killDir, f))])),
    };
  });
}, 900_000);

describe('kill -9 then resume: the same rows, each case once, no garbage', () => {
  it.each(KILL_DRILLS.map((d, i) => [i, d.name] as const))('#%i %s', (i) => {
    const r = results[i];
    expect(r.killedMidRun, 'the run was killed while it was still running').toBe(true);
    expect(r.resumeCode).toBe(0);
    for (const [file, clean] of r.clean) {
      const got = r.resumed.get(file)!;
      const ids = (rows: Row[]) => rows.map((x) => x.id).sort();
      expect(clean.length, `${file}: the clean run wrote rows`).toBeGreaterThan(0);
      expect(got.filter((x) => x.status === 'garbage').map((x) => x.id), `${file}: lines that are not JSON`).toEqual([]);
      // every case once, whatever its status, and the same cases as the clean run
      expect(ids(got), file).toEqual(ids(clean));
      expect(new Set(ids(got)).size, `${file}: duplicated rows`).toBe(got.length);
      const cleanById = new Map(clean.map((x) => [x.id, measuredValues(x)]));
      for (const x of got) expect(measuredValues(x), `${file}: ${x.id}`).toBe(cleanById.get(x.id));
    }
    if (KILL_DRILLS[i].tear || KILL_DRILLS[i].cut) expect(r.torn, 'the torn fragment was set aside (<file>.torn)').toBe(true);
  });
});
