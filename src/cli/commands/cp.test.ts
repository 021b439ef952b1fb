// attnbench cp, driven through main() as bin.ts does: output, exit codes, files written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResultRowSchema } from '../../results/schema.js';
import { readJsonl } from '../../util/jsonl.js';
import { main } from '../main.js';

let dir: string;
let out: string[];
let err: string[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-cp-'));
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('attnbench cp plan', () => {
  it('prints per-rank statistics as JSON', async () => {
    const code = await main(['cp', 'plan', '--scheme', 'ring_p2p', '--world', '8', '--family', 'causal_document', '--seqlen', '64k', '--json', '--check']);
    expect(code).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(j.scheme).toBe('ring_p2p');
    expect(j.stats.flopsFwd).toHaveLength(8);
    expect(j.summary.imbalance).toBeGreaterThanOrEqual(1);
    expect(j.violations).toEqual([]);
  });

  it('prints a table', async () => {
    expect(await main(['cp', 'plan', '--scheme', 'usp', '--world', '16', '--layout', 'ulysses=4', '--family', 'causal', '--seqlen', '32k'])).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/usp P=16 S=32k heads 64:8 D=128 layout ulysses=4,ring=4/);
    expect(text).toMatch(/imbalance 1\.\d{4}/);
  });

  it.each([
    [['--scheme', 'ring_p2p', '--world', '7', '--seqlen', '64k'], /not divisible by 2\*world = 14/],
    [['--scheme', 'ulysses', '--world', '16', '--seqlen', '64k'], /ulysses degree 16 exceeds the 8 KV heads/],
    [['--scheme', 'usp', '--world', '8', '--layout', 'ulysses=2,ring=2', '--seqlen', '64k'], /do not multiply to world 8/],
    [['--scheme', 'loongtrain', '--world', '8', '--layout', 'hp=1,window=3', '--seqlen', '64k'], /window 3 does not divide/],
    [['--scheme', 'nope', '--world', '8', '--seqlen', '64k'], /unknown CP scheme 'nope'/],
    [['--scheme', 'dispatch', '--world', '8', '--layout', 'bogus=1', '--seqlen', '64k'], /unknown layout key 'bogus'/],
    [['--scheme', 'ring_p2p', '--world', '8', '--seqlen', '64k', '--family', 'block_sparse'], /differ per head/],
  ])('bad input %j: one line, exit 2', async (args, message) => {
    const family = args.includes('--family') ? [] : ['--family', 'causal'];
    expect(await main(['cp', 'plan', ...args, ...family])).toBe(2);
    const text = err.join('');
    expect(text).toMatch(message);
    expect(text.trim().split('\n')).toHaveLength(1);
  });
});

describe('attnbench cp run', () => {
  it('runs on worker threads, appends result rows and writes traces', async () => {
    const file = path.join(dir, 'cp.jsonl');
    const traces = path.join(dir, 'traces');
    const code = await main([
      'cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p,dispatch', '--world', '4', '--family', 'causal',
      '--seqlen', '256', '--heads', '4:2', '--head-dim', '16', '--out', file, '--trace', traces,
    ]);
    expect(code).toBe(0);
    const rows = readJsonl(file).map((r) => ResultRowSchema.parse(r));
    expect(rows.map((r) => `${r.scheme}/${r.direction}`)).toEqual(['ring_p2p/fwd', 'ring_p2p/bwd', 'dispatch/fwd', 'dispatch/bwd']);
    for (const r of rows) {
      expect(r.suite).toBe('cp');
      expect(r.status).toBe('ok');
      expect(r.world).toBe(4);
      expect(r.error?.exceedsTolerance).toBe(false);
      expect(r.ranks).toHaveLength(4);
    }
    const trace = JSON.parse(fs.readFileSync(path.join(traces, 'ring_p2p-causal-256-P4.trace.json'), 'utf8'));
    const pids = new Set(trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X').map((e: { pid: number }) => e.pid));
    expect([...pids].sort()).toEqual([0, 1, 2, 3]);
    expect(out.join('')).toMatch(/4 row\(s\)/);
  });

  it('reports the torch executor as unavailable', async () => {
    expect(await main(['cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '256'])).toBe(1);
    expect(err.join('')).toMatch(/unavailable: executor torch/);
  });
});
