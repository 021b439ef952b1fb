import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syntheticKernelSweep, syntheticRow } from '../report/fixtures.js';
import { closeStore, exportRows, ingestJsonl, latestRows, openStore, query, type Store } from './store.js';
import { readResultJsonl } from './parse.js';
import { caseIdOfRow } from '../results/case-id.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-store-'));
  store = await openStore(path.join(dir, 'db', 'results.duckdb'));
});
afterEach(() => {
  closeStore(store);
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeJsonl(name: string, lines: unknown[]): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return f;
}

async function count(): Promise<number> {
  return Number((await query(store, 'SELECT count(*) AS n FROM results'))[0].n);
}

describe('store', () => {
  it('ingests idempotently: the same file twice gives the same count', async () => {
    const rows = syntheticKernelSweep();
    const f = writeJsonl('a.jsonl', rows);
    const first = await ingestJsonl(store, f);
    expect(first).toMatchObject({ inserted: rows.length, duplicates: 0, errors: [], conflicts: [] });
    const second = await ingestJsonl(store, f);
    expect(second).toMatchObject({ inserted: 0, duplicates: rows.length });
    expect(await count()).toBe(rows.length);
  });

  it('counts a line repeated inside one file once', async () => {
    const a = syntheticRow();
    const r = await ingestJsonl(store, writeJsonl('twice.jsonl', [a, a, { ...a, tflops: 1 }]));
    expect(r).toMatchObject({ inserted: 1, duplicates: 1 });
    expect(r.conflicts.map((c) => c.line)).toEqual([3]);
    expect(await count()).toBe(1);
  });

  it('refuses a file with a malformed or wrong-schema line: one line naming file:line, nothing ingested (issue 17)', async () => {
    const good = [syntheticRow({ seqlen: 1024 }), syntheticRow({ seqlen: 2048 })];
    const bad = { ...syntheticRow({ seqlen: 4096 }), status: 'exploded' };
    const f = writeJsonl('b.jsonl', [good[0], '{not json', bad, good[1]]);
    await expect(ingestJsonl(store, f)).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(new RegExp(`^${f}:2: malformed JSON .*\\(and 1 more bad line\\(s\\)\\)$`)) });
    const g = writeJsonl('g.jsonl', [good[0], bad]);
    await expect(ingestJsonl(store, g)).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/:2: not a result row: status/) });
    await expect(ingestJsonl(store, writeJsonl('e.jsonl', []))).rejects.toMatchObject({ exit: 2, message: expect.stringMatching(/no result rows \(empty file\)/) });
    expect(await count()).toBe(0);
  });

  it('skips a torn last line (no newline at the end) with a warning and ingests the rest', async () => {
    const good = syntheticRow({ seqlen: 1024 });
    const f = writeJsonl('t.jsonl', [good]);
    fs.appendFileSync(f, JSON.stringify(syntheticRow({ seqlen: 2048 })).slice(0, 40));
    const warnings: string[] = [];
    const parsed = readResultJsonl(f, (s) => warnings.push(s));
    expect(parsed.rows).toHaveLength(1);
    expect(warnings).toEqual([expect.stringMatching(/:2: malformed JSON.*torn last line/)]);
  });

  it('one case under two id grammars (a committed row, a newer measurement of it): latestRows returns the newest', async () => {
    const line = fs.readFileSync('results/h200/kernels/paper.jsonl', 'utf8').split('\n')[0];
    const old = JSON.parse(line) as ReturnType<typeof syntheticRow>;
    const newer = { ...old, id: caseIdOfRow(old), tflops: 1, env: { ...old.env, date: '2099-01-01T00:00:00Z' } };
    expect(newer.id).not.toBe(old.id);
    await ingestJsonl(store, writeJsonl('old.jsonl', [old]));
    await ingestJsonl(store, writeJsonl('new.jsonl', [newer]));
    expect(await count()).toBe(2);
    expect((await latestRows(store)).map((r) => [r.id, r.tflops])).toEqual([[newer.id, 1]]);
  });

  it('upgrades a layout-1 database in place (case_id computed from the stored rows); a read-only open is told how', async () => {
    const line = fs.readFileSync('results/h200/kernels/paper.jsonl', 'utf8').split('\n')[0];
    const old = JSON.parse(line) as ReturnType<typeof syntheticRow>;
    const rows = [old, ...syntheticKernelSweep().slice(0, 5)];
    await ingestJsonl(store, writeJsonl('v1.jsonl', rows));
    // Make it what a layout-1 file looks like: no case_id column, version 1.
    await store.conn.run('ALTER TABLE results DROP COLUMN case_id');
    await store.conn.run("UPDATE meta SET value = '1' WHERE key = 'version'");
    const file = store.path;
    closeStore(store);
    await expect(openStore(file, { readOnly: true })).rejects.toThrow(/layout version 1: open it once for writing/);
    store = await openStore(file);
    expect((await query(store, "SELECT value FROM meta WHERE key = 'version'"))[0].value).toBe('3');
    const got = await query(store, 'SELECT row, case_id FROM results');
    expect(got).toHaveLength(rows.length);
    for (const g of got) expect(g.case_id).toBe(caseIdOfRow(JSON.parse(String(g.row))));
    expect(got.some((g) => g.case_id !== (JSON.parse(String(g.row)) as { id: string }).id)).toBe(true);
    // The upgraded file behaves like a new one: a newer row of the same case under the new id wins.
    const newer = { ...old, id: caseIdOfRow(old), tflops: 1, env: { ...old.env, date: '2099-01-01T00:00:00Z' } };
    await ingestJsonl(store, writeJsonl('new.jsonl', [newer]));
    const latest = await latestRows(store);
    expect(latest).toHaveLength(rows.length);
    expect(latest.find((r) => r.id === newer.id)?.tflops).toBe(1);
    expect(latest.find((r) => r.id === old.id)).toBeUndefined();
  });

  it('upgrades a layout-2 database in place: CP case ids gain the kernel, so a newer row of the case under its new id wins', async () => {
    const line = fs.readFileSync('results/h200/cp/virtual-p4.jsonl', 'utf8').split('\n')[0];
    const old = JSON.parse(line) as ReturnType<typeof syntheticRow>;
    await ingestJsonl(store, writeJsonl('v2.jsonl', [old, syntheticRow({ seqlen: 1024 })]));
    // What layout 2 stored for it: case_id in the grammar of then (no kernel segment: its id).
    await store.conn.run(`UPDATE results SET case_id = '${old.id}' WHERE id = '${old.id}'`);
    await store.conn.run("UPDATE meta SET value = '2' WHERE key = 'version'");
    const file = store.path;
    closeStore(store);
    await expect(openStore(file, { readOnly: true })).rejects.toThrow(/layout version 2: open it once for writing/);
    store = await openStore(file);
    expect((await query(store, "SELECT value FROM meta WHERE key = 'version'"))[0].value).toBe('3');
    const got = await query(store, 'SELECT row, case_id FROM results');
    for (const g of got) expect(g.case_id).toBe(caseIdOfRow(JSON.parse(String(g.row))));
    expect(got.map((g) => g.case_id)).toContain(`${old.id}|flex`);
    const newer = { ...old, id: caseIdOfRow(old), tflops: 1, env: { ...old.env, date: '2099-01-01T00:00:00Z' } };
    await ingestJsonl(store, writeJsonl('new.jsonl', [newer]));
    const latest = await latestRows(store);
    expect(latest).toHaveLength(2);
    expect(latest.find((r) => r.id === newer.id)?.tflops).toBe(1);
    expect(latest.find((r) => r.id === old.id)).toBeUndefined();
  });

  it('refuses a database of an unknown layout with one clear line', async () => {
    await store.conn.run("UPDATE meta SET value = '99' WHERE key = 'version'");
    const file = store.path;
    closeStore(store);
    await expect(openStore(file)).rejects.toThrow(/layout version 99, this attnbench reads 3/);
    store = await openStore(':memory:');
  });

  it('keeps a newer measurement beside the old one; latestRows returns the newest', async () => {
    const old = syntheticRow({ tflops: 100, date: '2026-01-01T00:00:00Z' });
    const nu = syntheticRow({ tflops: 150, date: '2026-02-01T00:00:00Z' });
    const sim = syntheticRow({ tflops: 90, date: '2026-01-01T00:00:00Z', simulated: true });
    await ingestJsonl(store, writeJsonl('c.jsonl', [old, nu, sim]));
    expect(await count()).toBe(3);
    const latest = await latestRows(store);
    expect(latest).toHaveLength(2);
    expect(latest.find((r) => !r.simulated)?.tflops).toBe(150);
    expect(latest.find((r) => r.simulated)?.tflops).toBe(90);
  });

  it('reports a conflicting re-ingest without overwriting', async () => {
    const a = syntheticRow({ tflops: 100 });
    await ingestJsonl(store, writeJsonl('d1.jsonl', [a]));
    const r = await ingestJsonl(store, writeJsonl('d2.jsonl', [{ ...a, tflops: 5 }]));
    expect(r.inserted).toBe(0);
    expect(r.conflicts).toHaveLength(1);
    expect(r.conflicts[0].line).toBe(1);
    expect((await latestRows(store))[0].tflops).toBe(100);
  });

  it('filters latest rows', async () => {
    await ingestJsonl(store, writeJsonl('e.jsonl', syntheticKernelSweep()));
    const rows = await latestRows(store, { kernel: 'flex', family: ['causal'], direction: 'bwd' });
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.kernel === 'flex' && r.family === 'causal' && r.direction === 'bwd')).toBe(true);
    expect(rows.map((r) => r.seqlen)).toEqual([1024, 2048, 4096]);
  });

  it('exports CSV and Parquet that read back with the same rows', async () => {
    const rows = syntheticKernelSweep();
    await ingestJsonl(store, writeJsonl('f.jsonl', rows));
    const csv = path.join(dir, 'out', 'rows.csv');
    const pq = path.join(dir, 'out', 'rows.parquet');
    const jl = path.join(dir, 'out', 'rows.jsonl');
    expect(await exportRows(store, csv, { filter: { kernel: 'flex' } })).toBe(rows.length / 2);
    expect(await exportRows(store, pq)).toBe(rows.length);
    expect(await exportRows(store, jl)).toBe(rows.length);

    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(rows.length / 2 + 1);
    expect(lines[0].split(',').slice(0, 4)).toEqual(['id', 'env_date', 'simulated', 'suite']);

    const back = await query(store, `SELECT kernel, family, seqlen, direction, tflops FROM read_parquet('${pq}') ORDER BY tflops`);
    const expected = rows
      .map((r) => ({ kernel: r.kernel, family: r.family, seqlen: r.seqlen, direction: r.direction, tflops: r.tflops }))
      .sort((a, b) => a.tflops! - b.tflops!);
    expect(back).toEqual(expected);

    // JSON lines export is re-ingestable into another database.
    const other = await openStore(':memory:');
    try {
      expect((await ingestJsonl(other, jl)).inserted).toBe(rows.length);
    } finally {
      closeStore(other);
    }
  });

  it('refuses a missing database in read-only mode and a bad export name', async () => {
    await expect(openStore(path.join(dir, 'nope.duckdb'), { readOnly: true })).rejects.toThrow(/no results database/);
    await expect(exportRows(store, path.join(dir, 'x.xlsx'))).rejects.toThrow(/\.csv, \.parquet/);
  });
});
