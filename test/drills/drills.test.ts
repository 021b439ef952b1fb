// Drills (issue 17) against the built CLI (`node dist/cli/bin.js`, rebuilt here when src/ is newer):
// the bad-input table of bad-inputs.ts, run in parallel in a small pool, each with a timeout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRow } from '../../src/report/fixtures.js';
import { BAD_INPUTS, type Drill } from './bad-inputs.js';
import { cli, ensureBuilt, pool, POOL, type Outcome } from './harness.js';

function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

function snapshot(dir: string): string {
  return listTree(dir)
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${f}:${st.isDirectory() ? 'd' : st.size}:${st.mtimeMs}`;
    })
    .join('\n');
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-drills-'));
const fixtures = path.join(work, 'fixtures');
const FIX: Record<string, string> = {};

function writeFixtures(): void {
  fs.mkdirSync(fixtures);
  const put = (name: string, file: string, content: string | Buffer) => {
    const p = path.join(fixtures, file);
    fs.writeFileSync(p, content);
    FIX[name] = p;
  };
  put('garbage', 'garbage.jsonl', 'hello world\nthis is not json\n');
  put('empty', 'empty.jsonl', '');
  put('schema', 'schema.jsonl', '{"a":1}\n');
  put('binary', 'binary.jsonl', Buffer.from([0, 1, 2, 255, 254, 10, 0, 159, 146, 150, 10]));
  put('torn', 'torn.jsonl', '{"schema":1,"id":"kernel/cut');
  put('file', 'plain.txt', 'x\n');
  put('badjson', 'bad.json', '{"gpus": ');
  put('histogram-bad', 'hist.json', '{"[0,32)": -1, "oops": 2}');
  put('rows', 'rows.jsonl', `${JSON.stringify(syntheticRow({ kernel: 'flex' }))}\n`);
  put('arrrow', 'arr.jsonl', '[1,2,3]\n');
  FIX.fifo = path.join(fixtures, 'fifo');
  execFileSync('mkfifo', [FIX.fifo]);
  FIX.dir = path.join(fixtures, 'a-folder');
  fs.mkdirSync(FIX.dir);
  FIX.missing = path.join(fixtures, 'missing.jsonl');
  // attnbench run folders with something in the way of a stage: a folder for sim.jsonl, a file for logs/.
  FIX['run-sim-dir'] = path.join(fixtures, 'run-sim-dir');
  fs.mkdirSync(path.join(FIX['run-sim-dir'], 'sim.jsonl'), { recursive: true });
  FIX['run-logs-file'] = path.join(fixtures, 'run-logs-file');
  fs.mkdirSync(FIX['run-logs-file']);
  fs.writeFileSync(path.join(FIX['run-logs-file'], 'logs'), 'x\n');
}

function expand(args: readonly string[], caseDir: string): string[] {
  return args.map((a) => a.replace(/\{([a-z-]+)\}/g, (_, k: string) => (k === 'out' ? path.join(caseDir, 'out') : (FIX[k] ?? `{${k}}`))));
}

interface Result extends Outcome {
  readonly drill: Drill;
  readonly written: string[];
}

let results: Result[] = [];
let before = '';

beforeAll(async () => {
  ensureBuilt();
  writeFixtures();
  before = snapshot(fixtures);
  results = await pool(BAD_INPUTS, POOL, async (drill, i) => {
    const caseDir = path.join(work, `case-${i}`);
    fs.mkdirSync(caseDir);
    const o = await cli(expand(drill.args, caseDir), caseDir);
    return { ...o, drill, written: listTree(caseDir) };
  });
}, 600_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe(`bad inputs: ${BAD_INPUTS.length} cases over every subcommand`, () => {
  it('at least 150 cases, covering every subcommand', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(150);
    const first = new Set(BAD_INPUTS.map((b) => (b.args[0] === 'cp' || b.args[0] === 'sim' ? `${b.args[0]} ${b.args[1]}` : b.args.find((a) => !a.startsWith('-') && !/^\d|^lots$/.test(a)))));
    for (const c of ['run', 'masks', 'kernels', 'cp plan', 'cp run', 'cp sbatch', 'sim calibrate', 'sim validate', 'sim run', 'sim plots', 'results', 'report', 'dashboard', 'doctor'])
      expect(first.has(c), c).toBe(true);
  });

  it.each(BAD_INPUTS.map((d, i) => [i, d.args.join(' ')] as const))('#%i %s: exit 2, one line, nothing written, no hang', (i) => {
    const r = results[i];
    const where = `${r.drill.args.join(' ')}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 500)}`;
    expect(r.signal, `killed (hang?) after ${r.ms} ms: ${where}`).toBeNull();
    expect(r.code, where).toBe(2);
    // One line; documented warnings (`attnbench: warning: ...`, e.g. a preset's skipped cases) may precede it.
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('attnbench: warning: '));
    expect(lines, where).toHaveLength(1);
    expect(lines[0], where).toMatch(/^(attnbench: (usage|bad_input|unavailable): |error: )/);
    expect(lines[0], where).toMatch(new RegExp(r.drill.match));
    expect(r.stdout, where).toBe('');
    expect(r.written, where).toEqual([]);
  });

  it('the fixtures are as they were (nothing written into the inputs)', () => {
    expect(snapshot(fixtures)).toBe(before);
  });
});
