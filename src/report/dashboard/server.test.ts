import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../../results/schema.js';
import { closeStore, ingestJsonl, openStore } from '../../store/store.js';
import { syntheticKernelSweep, syntheticRow } from '../fixtures.js';
import { startDashboard, type Dashboard } from './server.js';

let dir: string;
let db: string;
let dash: Dashboard;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-dash-'));
  db = path.join(dir, 'results.duckdb');
  const rows = [...syntheticKernelSweep(['sdpa_flash', 'flex'], ['causal', 'full']), syntheticRow({ kernel: 'fa3', status: 'unavailable' })];
  const jsonl = path.join(dir, 'rows.jsonl');
  fs.writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n'));
  const store = await openStore(db);
  await ingestJsonl(store, jsonl);
  closeStore(store);
  dash = await startDashboard({ dbPath: db, port: 0 });
});
afterAll(async () => {
  await dash?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('listens on 127.0.0.1 and serves the page with its filters and plot list', async () => {
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(dash.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<h1>attnbench dashboard</h1>');
    for (const f of ['f-suite', 'f-family', 'f-kernel', 'f-scheme', 'f-direction']) expect(html).toContain(`id="${f}"`);
    expect(html).toContain('<option value="support-matrix">');
    expect(html).not.toMatch(/<script src=|https?:\/\/(?!127)/); // nothing from the network
    // The page script at least parses.
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1];
    expect(() => new Function(script)).not.toThrow();
  });

  it('answers /api/rows with the filtered newest rows', async () => {
    const all = (await (await fetch(`${dash.url}api/rows`)).json()) as ResultRow[];
    expect(all).toHaveLength(25);
    const some = (await (await fetch(`${dash.url}api/rows?kernel=flex&family=causal&direction=bwd`)).json()) as ResultRow[];
    expect(some.map((r) => [r.kernel, r.family, r.direction, r.seqlen])).toEqual([
      ['flex', 'causal', 'bwd', 1024],
      ['flex', 'causal', 'bwd', 2048],
      ['flex', 'causal', 'bwd', 4096],
    ]);
    const bad = await fetch(`${dash.url}api/rows?direction=sideways`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/unknown direction 'sideways'/);
  });

  it('lists facets and serves plots as SVG rendered on the server', async () => {
    const facets = (await (await fetch(`${dash.url}api/facets`)).json()) as Record<string, string[]>;
    expect(facets.kernel).toEqual(['fa3', 'flex', 'sdpa_flash']);
    expect(facets.plots).toContain('kernels-tflops');
    const res = await fetch(`${dash.url}api/plot?kind=kernels-tflops&family=causal`);
    expect(res.headers.get('content-type')).toMatch(/image\/svg\+xml/);
    const svg = await res.text();
    expect(svg.split('aria-roledescription="point"').length - 1).toBe(12);
    expect(svg).toContain('>causal · fwd</text>');
    expect(svg).not.toContain('>full · fwd</text>');
    const empty = await (await fetch(`${dash.url}api/plot?kind=cp-scaling`)).text();
    expect(empty).toContain('class="empty"');
    expect((await fetch(`${dash.url}api/plot?kind=nope`)).status).toBe(404);
    expect((await fetch(`${dash.url}favicon.ico`)).status).toBe(404);
    const pivots = (await (await fetch(`${dash.url}api/pivots?family=full&direction=fwd`)).json()) as { title: string; rows: string[][] }[];
    expect(pivots.map((p) => p.title)).toEqual(['full · fwd (TFLOP/s)']);
    expect(pivots[0].rows.map((r) => r[0])).toEqual(['sdpa_flash', 'flex']);
  });

  it('lets the database be written while it runs, and shows the new rows', async () => {
    const jsonl = path.join(dir, 'more.jsonl');
    fs.writeFileSync(jsonl, JSON.stringify(syntheticRow({ kernel: 'flex', family: 'sliding_window' })));
    const store = await openStore(db);
    expect((await ingestJsonl(store, jsonl)).inserted).toBe(1);
    closeStore(store);
    const rows = (await (await fetch(`${dash.url}api/rows?family=sliding_window`)).json()) as ResultRow[];
    expect(rows.map((r) => r.kernel)).toEqual(['flex']);
  });
});
