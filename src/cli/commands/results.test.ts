// The results and report commands, driven through commander as the CLI would (without bin.ts).
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { syntheticKernelSweep, syntheticRow } from '../../report/fixtures.js';
import { AttnbenchError } from '../../errors.js';
import * as report from './report.js';
import * as results from './results.js';
import { captureIo } from '../testing.js';

let dir: string;
let out: string[];
let err: string[];
captureIo('attnbench-cli-', (io) => ({ dir, out, err } = io));

async function cli(...args: string[]): Promise<void> {
  const program = new Command('attnbench').exitOverride();
  results.register(program);
  report.register(program);
  await program.parseAsync(args, { from: 'user' });
}

function jsonl(name: string, lines: unknown[]): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return f;
}

describe('attnbench results', () => {
  it('ingests idempotently, names bad lines, then prints tables in every format', async () => {
    const db = path.join(dir, 'r.duckdb');
    const bad = jsonl('bad.jsonl', [...syntheticKernelSweep(['flex'], ['causal'], [1024], ['fwd']), '{oops', '{}']);
    await expect(cli('results', '--db', db, '--ingest', bad)).rejects.toMatchObject({ exit: 2, message: `${bad}:2: malformed JSON (Expected property name or '}' in JSON at position 1) (and 1 more bad line(s))` });
    const f = jsonl('a.jsonl', syntheticKernelSweep(['flex', 'sdpa_flash'], ['causal'], [1024, 2048], ['fwd']));
    await cli('results', '--db', db, '--ingest', f);
    expect(err.join('')).toContain(`${f}: 4 new, 0 already stored, 0 conflicting`);
    expect(out).toEqual([]); // --ingest alone prints no table
    await cli('results', '--db', db, '--ingest', f);
    expect(err.join('')).toContain(`${f}: 0 new, 4 already stored`);

    out.length = 0;
    await cli('results', '--db', db, '--pivot', '--format', 'md');
    expect(out.join('')).toContain('| kernel | 1k | 2k |\n| --- | --- | --- |\n| sdpa_flash | 110 | 130 |\n| flex | 100 | 120 |');

    out.length = 0;
    await cli('results', '--db', db, '--kernel', 'flex', '--format', 'csv');
    const csv = out.join('').trim().split('\n');
    expect(csv[0]).toBe('suite,kernel/scheme,family,dir,S,P,status,median ms,TFLOP/s,peak GiB,max err,sim');
    expect(csv.slice(1).map((l) => l.split(',')[8])).toEqual(['100', '120']);

    out.length = 0;
    await cli('results', '--db', db, '--sql', 'SELECT kernel, max(tflops) AS best FROM results GROUP BY kernel ORDER BY kernel', '--format', 'json');
    expect(JSON.parse(out.join(''))).toEqual([
      { kernel: 'flex', best: 120 },
      { kernel: 'sdpa_flash', best: 130 },
    ]);

    out.length = 0;
    await cli('results', '--db', db, '--direction', 'fwd');
    expect(out.join('')).toMatch(/┌.*\n.*suite.*kernel\/scheme/);
  });

  it('a --db that exists but is no DuckDB database is refused, not opened as an empty in-memory one (a rows JSONL / CSV / JSON as --db: ingest said "N row(s)", exit 0, and kept nothing)', async () => {
    const rows = jsonl('rows.jsonl', syntheticKernelSweep(['flex'], ['causal'], [1024], ['fwd']));
    const before = fs.readFileSync(rows, 'utf8');
    const csv = path.join(dir, 'x.csv');
    fs.writeFileSync(csv, 'a,b\n1,2\n');
    const empty = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(empty, '');
    for (const db of [rows, csv, empty]) {
      await expect(cli('results', '--db', db, '--ingest', rows)).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/is not a DuckDB database/) });
      await expect(cli('results', '--db', db)).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/is not a DuckDB database/) });
      await expect(cli('report', '--db', db, '--out', path.join(dir, 'rep'))).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/is not a DuckDB database/) });
    }
    expect(fs.readFileSync(rows, 'utf8')).toBe(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['empty.jsonl', 'rows.jsonl', 'x.csv']);
    // a database of ours opens whatever its name
    const db = path.join(dir, 'r.jsonl.db');
    await cli('results', '--db', db, '--ingest', rows);
    expect(err.join('')).toContain(`${db}: 1 row(s)`);
  });

  it('exports CSV and Parquet', async () => {
    const db = path.join(dir, 'r.duckdb');
    await cli('results', '--db', db, '--ingest', jsonl('a.jsonl', syntheticKernelSweep()));
    await cli('results', '--db', db, '--family', 'causal', '--export', path.join(dir, 'x.csv'));
    expect(err.join('')).toContain(`12 row(s) -> ${path.join(dir, 'x.csv')}`);
    await cli('results', '--db', db, '--export', path.join(dir, 'x.parquet'));
    expect(fs.readFileSync(path.join(dir, 'x.parquet')).subarray(0, 4).toString()).toBe('PAR1');
  });

  it('refuses bad values with usage errors', async () => {
    const db = path.join(dir, 'r.duckdb');
    await cli('results', '--db', db, '--ingest', jsonl('a.jsonl', [syntheticRow()]));
    await expect(cli('results', '--db', db, '--suite', 'bogus')).rejects.toMatchObject({ code: 'usage', exit: 2 });
    await expect(cli('results', '--db', db, '--format', 'xml')).rejects.toThrow(/--format/);
    await expect(cli('results', '--db', path.join(dir, 'none.duckdb'))).rejects.toBeInstanceOf(AttnbenchError);
    await expect(cli('results', '--db', db, '--sql', 'SELEKT 1')).rejects.toThrow(/SQL failed/);
    // A query that cannot run is refused before --ingest writes anything (the database is not even created).
    const fresh = path.join(dir, 'fresh.duckdb');
    await expect(cli('results', '--db', fresh, '--ingest', jsonl('b.jsonl', [syntheticRow()]), '--sql', 'SELECT no_such_column FROM results'))
      .rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/^SQL failed: .*no_such_column/) });
    expect(fs.existsSync(fresh)).toBe(false);
    // Several statements: checked for syntax only, then run as before.
    await cli('results', '--db', db, '--sql', 'CREATE TEMP TABLE t AS SELECT kernel FROM results; SELECT count(*) AS n FROM t', '--format', 'json');
    expect(JSON.parse(out.at(-1)!)).toEqual([{ n: 1 }]);
  });

  it('--sql is read-only: statements that write files or change the database are refused before anything runs', async () => {
    const db = path.join(dir, 'r.duckdb');
    const rows = jsonl('a.jsonl', [syntheticRow()]);
    await cli('results', '--db', db, '--ingest', rows);
    const target = (name: string) => path.join(dir, name);
    const writers: [string, string][] = [
      [`COPY (SELECT 1) TO '${target('copy.csv')}'`, 'copy.csv'],
      [`EXPORT DATABASE '${target('exported')}'`, 'exported'],
      [`ATTACH '${target('attached.duckdb')}'`, 'attached.duckdb'],
      [`SELECT 1; COPY results TO '${target('second.csv')}'`, 'second.csv'],
      [`PRAGMA enable_profiling; SET profiling_output = '${target('profile.txt')}'; SELECT 1`, 'profile.txt'],
      [`SELECT * FROM read_csv('${target('a.jsonl')}')`, ''],
      ['INSTALL httpfs', ''],
      ['LOAD httpfs', ''],
      ['CHECKPOINT', ''],
      ['CREATE TABLE kept AS SELECT 1 AS x', ''],
      ['CREATE MACRO m(x) AS x', ''],
    ];
    for (const [sql, file] of writers) {
      await expect(cli('results', '--db', db, '--sql', sql), sql).rejects.toMatchObject({ exit: 2 });
      if (file) expect(fs.existsSync(target(file)), `${sql} wrote ${file}`).toBe(false);
    }
    // With --ingest the database is writable: a query that would delete rows is refused before the ingest.
    for (const sql of ['DELETE FROM results', 'DROP TABLE results', 'UPDATE results SET kernel = NULL', 'INSERT INTO meta VALUES (1, 2)']) {
      await expect(cli('results', '--db', db, '--ingest', rows, '--sql', sql), sql).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/^--sql runs read-only queries/) });
    }
    await expect(cli('results', '--db', db, '--sql', 'SELECT 1; SELECT 2', '--export', target('two.csv'))).rejects.toThrow(/one SELECT statement/);
    await expect(cli('results', '--db', db, '--sql', `SELECT 1) TO '${target('inj.csv')}' (FORMAT csv); COPY (SELECT 1`, '--export', target('x.csv'))).rejects.toMatchObject({ exit: 2 });
    expect(fs.existsSync(target('inj.csv'))).toBe(false);
    out.length = 0;
    await cli('results', '--db', db, '--sql', 'SELECT count(*) AS n FROM results', '--format', 'json');
    expect(JSON.parse(out.at(-1)!)).toEqual([{ n: 1 }]);
    // Queries still run: temp objects, EXPLAIN, an export of one SELECT.
    out.length = 0;
    await cli('results', '--db', db, '--ingest', rows, '--sql', 'CREATE TEMP MACRO twice(x) AS 2 * x; SELECT twice(count(*)) AS n FROM results', '--format', 'json');
    expect(JSON.parse(out.at(-1)!)).toEqual([{ n: 2 }]);
    await cli('results', '--db', db, '--sql', 'EXPLAIN SELECT * FROM results');
    await cli('results', '--db', db, '--sql', 'SELECT kernel FROM results', '--export', target('one.csv'));
    expect(fs.readFileSync(target('one.csv'), 'utf8').split('\n')[0]).toBe('kernel');
    // a trailing ';' or comment is still one SELECT (COPY's parenthesis used to be swallowed: exit 2 after --ingest)
    await cli('results', '--db', db, '--sql', 'SELECT kernel FROM results; ', '--export', target('semi.csv'));
    await cli('results', '--db', db, '--sql', 'SELECT kernel FROM results -- the kernels', '--export', target('comment.csv'));
    expect(fs.readFileSync(target('comment.csv'), 'utf8')).toBe(fs.readFileSync(target('one.csv'), 'utf8'));
  });
});

describe('attnbench report', () => {
  it('writes the report from JSONL files', async () => {
    const f = jsonl('a.jsonl', syntheticKernelSweep());
    const outDir = path.join(dir, 'rep');
    await cli('report', '--in', f, '--out', outDir, '--title', 'CLI report');
    expect(out.join('')).toContain('24 row(s); plots: kernels-tflops, kernels-memory, support-matrix');
    expect(fs.readFileSync(path.join(outDir, 'report.md'), 'utf8')).toMatch(/^# CLI report/);
    expect(fs.existsSync(path.join(outDir, 'kernels-tflops.png'))).toBe(true);
    await expect(cli('report', '--in', f, '--db', 'x.duckdb', '--out', outDir)).rejects.toThrow(/either --db or --in/);
  });
});
