// Values the adversarial sweep (scripts/probe-cli.mjs, sixth session) found accepted: absurd sizes
// (head dims, heads, budgets, loop counts) parsed as fine, hex numbers read as decimal, `--retry ok`,
// and repeated list values (one case id written twice). Each is refused (or deduplicated) where the
// flag is parsed: exit 2, one line, nothing written.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decimalNumber, parseHeads, parseIntList, parseTokenList } from '../util/parse.js';
import { parseBytes } from '../util/budget.js';
import { parseParams } from '../config/kernel-options.js';
import { parseLayout } from '../cp/plan/index.js';
import { main } from './main.js';
import { syntheticRow } from '../report/fixtures.js';
import { captureIo } from './testing.js';

let dir = '';
let out: string[] = [];
let err: string[] = [];
captureIo('attnbench-values-', (io) => ({ dir, out, err } = io));

const KCPU = ['kernels', '--executor', 'cpu', '--family', 'causal', '--seqlen', '256', '--no-progress'];
const CPL = ['cp', 'plan', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '1k'];
const CPR = ['cp', 'run', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '1k'];

describe('absurd values: exit 2 where the flag is parsed', () => {
  it.each([
    [['--mem-budget', '99999999999999999999', ...CPL], /invalid --mem-budget '9+': at most 1024T/],
    [['--mem-budget', '2000T', ...CPL], /at most 1024T/],
    [[...KCPU, '--head-dim', '100000'], /invalid --head-dim '100000': at most 1024/], // ran for minutes (14 GB of tensors)
    [[...CPL, '--head-dim', '1000000000'], /invalid head-dim '1000000000': at most 1024/],
    [[...CPL, '--heads', '100000000:1'], /invalid --heads '100000000:1': at most 1024 query heads/],
    [[...CPR, '--executor', 'torch', '--head-dim', '4096', '--plan-dir', '{dir}/p'], /at most 1024/],
    [[...KCPU, '--samples', '1000000000'], /invalid --samples '1000000000': at most 1000/],
    [['kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--iters', '1000000000', '--plan-dir', '{dir}/p'], /invalid --iters '1000000000': at most 1000000/],
    [['kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--warmup', '1000000000', '--plan-dir', '{dir}/p'], /invalid --warmup '1000000000': at most 1000000/],
    [[...CPR, '--executor', 'torch', '--iters', '1000000000', '--plan-dir', '{dir}/p'], /invalid iters '1000000000': at most 1000000/],
    [['masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', 'w=0x10', '--json'], /w='0x10' must be an integer/],
    [['masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', 'w=0b11', '--json'], /w='0b11' must be an integer/],
    [[...KCPU, '--resume', '--retry', 'ok'], /--retry ok: ok rows are measured/],
    [[...CPR, '--resume', '--retry', 'error,ok'], /--retry error,ok: ok rows are measured/],
  ])('%j', async (argv, match) => {
    const args = argv.map((a) => a.replace('{dir}', dir));
    if (args.includes('kernels') && !args.includes('--plan-dir')) args.push('--out', path.join(dir, 'k.jsonl'));
    if (args.includes('run') && !args.includes('--plan-dir')) args.push('--out', path.join(dir, 'c.jsonl'));
    const code = await main(args);
    const lines = err.join('').split('\n').filter((l) => l.trim() && !l.startsWith('attnbench: warning: '));
    expect(code, lines.join('\n')).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(match);
    expect(out.join('')).toBe('');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('parsers', () => {
  it('decimal numbers only: no hex, octal, binary, blanks or Infinity', () => {
    for (const t of ['0x10', '0o7', '0b1', '', ' ', 'Infinity', '1e309', '1_000', 'NaN']) expect(decimalNumber(t), t).toBeNull();
    expect([decimalNumber('16'), decimalNumber('-0.5'), decimalNumber('1e3'), decimalNumber('.5')]).toEqual([16, -0.5, 1000, 0.5]);
    expect(parseParams('w=0x10')).toEqual({ w: '0x10' });
    expect(parseLayout('ring=0x10')).toEqual({ ring: '0x10' });
  });

  it('a budget no machine has is refused; 1T still fits', () => {
    expect(() => parseBytes('99999999999999999999')).toThrow(/at most 1024T/);
    expect(parseBytes('1T')).toBe(2 ** 40);
    expect(parseBytes('1024T')).toBe(2 ** 50);
  });

  it('heads: at most 1024 query heads, KV heads dividing them', () => {
    expect(parseHeads('1024:8')).toEqual({ headsQ: 1024, headsKv: 8 });
    expect(() => parseHeads('1025:1')).toThrow(/at most 1024/);
    expect(() => parseHeads('64:7')).toThrow(/multiple of KV heads/);
  });

  it('number lists keep each value once (1k and 1024 are one seqlen)', () => {
    expect(parseTokenList('1k,1024,2k,1k')).toEqual([1024, 2048]);
    expect(parseIntList('2,2,4', 'world')).toEqual([2, 4]);
  });
});

describe('a repeated list value runs its case once', () => {
  it('kernels --seqlen 256,256: each case id once in --out', async () => {
    const f = path.join(dir, 'k.jsonl');
    const code = await main([...KCPU.slice(0, -3), '--seqlen', '256,256', '--kernel', 'cpu_tiled', '--direction', 'fwd', '--no-progress', '--out', f]);
    expect(code, err.join('')).toBe(0);
    const ids = fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toHaveLength(1);
  }, 60_000);
});

describe('kernels resumes its own file of both kernel suites', () => {
  it('a block_sparse (suite sparse) row in the --out of kernels is not "another kind" (the calibrate preset writes both)', async () => {
    const f = path.join(dir, 'mixed.jsonl');
    const rows = [syntheticRow({ kernel: 'flex', family: 'block_sparse', suite: 'sparse', maskParams: { block: 64, s: 0.5 } }), syntheticRow({ kernel: 'flex' })];
    fs.writeFileSync(f, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const code = await main([...KCPU, '--kernel', 'cpu_tiled', '--direction', 'fwd', '--resume', '--out', f]);
    expect(code, err.join('')).toBe(0);
    const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
    expect(lines.length).toBe(3);
    expect(lines.slice(0, 2).map((l) => (JSON.parse(l) as { suite: string }).suite)).toEqual(['sparse', 'kernel']);
  }, 60_000);
});

describe('an --out of another command\'s rows is refused before anything runs', () => {
  it.each([
    ['kernels into simulator predictions', { kernel: 'flex', simulated: true }, [...KCPU, '--resume'], /holds rows of another kind \(line 1: a kernel row of executor sim\); this command appends measured kernel rows/],
    ['cp run into kernel rows', { kernel: 'flex' }, [...CPR, '--resume'], /a kernel row of executor torch\); this command appends measured CP rows/],
    ['kernels into CP rows', { kernel: 'flex', scheme: 'ring_p2p', world: 2 }, [...KCPU], /a cp row of executor torch/],
    ['sim run into measured rows', { kernel: 'flex' }, ['sim', 'run', '--gpus', '8', '--family', 'causal', '--scheme', 'ring_p2p'], /this command appends simulator rows/],
  ])('%s', async (_what, spec, argv, match) => {
    const f = path.join(dir, 'old.jsonl');
    fs.writeFileSync(f, `${JSON.stringify(syntheticRow(spec as Parameters<typeof syntheticRow>[0]))}\n`);
    const before = fs.readFileSync(f, 'utf8');
    const code = await main([...argv, '--out', f]);
    const lines = err.join('').split('\n').filter((l) => l.trim() && !l.startsWith('attnbench: warning: '));
    expect(code, lines.join('\n')).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(match);
    expect(fs.readFileSync(f, 'utf8')).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(['old.jsonl']);
  });
});

describe('a plan folder cut short is refused, not read as a smaller plan', () => {
  const plan = async () => {
    const p = path.join(dir, 'plan');
    expect(await main(['kernels', '--executor', 'torch', '--kernel', 'sdpa_math', '--family', 'causal,causal_document', '--seqlen', '1k', '--plan-dir', p])).toBe(0);
    out.length = 0;
    err.length = 0;
    return p;
  };
  const refused = async (argv: string[], match: RegExp) => {
    err.length = 0;
    const code = await main(argv);
    const lines = err.join('').split('\n').filter((l) => l.trim());
    expect(code, lines.join('\n')).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(match);
  };
  const cut = (f: string, keepLines?: number) => {
    const text = fs.readFileSync(f, 'utf8');
    fs.writeFileSync(f, keepLines === undefined ? text.slice(0, Math.floor(text.length / 2)) : `${text.split('\n').slice(0, keepLines).join('\n')}\n`);
  };
  it('sim estimate: cases.jsonl or jobs.jsonl torn mid-line (was: estimated the half that was there, exit 0)', async () => {
    const p = await plan();
    const jobs = fs.readFileSync(path.join(p, 'jobs.jsonl'));
    cut(path.join(p, 'jobs.jsonl'));
    await refused(['sim', 'estimate', '--plan-dir', p], /jobs\.jsonl:\d+: cut short/);
    fs.writeFileSync(path.join(p, 'jobs.jsonl'), jobs);
    cut(path.join(p, 'cases.jsonl'));
    await refused(['sim', 'estimate', '--plan-dir', p], /cases\.jsonl:\d+: cut short/);
  }, 60_000);
  it('sim estimate: jobs.jsonl cut at a line end (the missing jobs were counted as unsupported)', async () => {
    const p = await plan();
    cut(path.join(p, 'jobs.jsonl'), 1);
    await refused(['sim', 'estimate', '--plan-dir', p], /job .* of cases\.jsonl is not in jobs\.jsonl: the plan folder is incomplete/);
  }, 60_000);
  it('kernels --ingest with a torn cases.jsonl', async () => {
    const p = await plan();
    cut(path.join(p, 'cases.jsonl'));
    fs.writeFileSync(path.join(dir, 'r.jsonl'), '');
    await refused(['kernels', '--executor', 'torch', '--kernel', 'sdpa_math', '--family', 'causal,causal_document', '--seqlen', '1k', '--plan-dir', p, '--ingest', path.join(dir, 'r.jsonl'), '--out', path.join(dir, 'k.jsonl')], /cases\.jsonl:\d+: cut short/);
    expect(fs.existsSync(path.join(dir, 'k.jsonl'))).toBe(false);
  }, 60_000);
});
