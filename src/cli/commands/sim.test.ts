// The sim command, driven through commander as the CLI would (without bin.ts).
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ResultRowSchema } from '../../results/schema.js';
import { attentionFlops } from '../../results/flops.js';
import { syntheticRow } from '../../report/fixtures.js';
import { rowMask } from '../../sim/sources.js';
import { syntheticKernelRows } from '../../sim/testing.js';
import { AttnbenchError } from '../../errors.js';
import * as sim from './sim.js';
import { captureIo } from '../testing.js';

let dir: string;
let out: string[];
let err: string[];
captureIo('attnbench-sim-', (io) => ({ dir, out, err } = io));

async function cli(...args: string[]): Promise<void> {
  const program = new Command('attnbench').exitOverride();
  sim.register(program);
  await program.parseAsync(args, { from: 'user' });
}

async function badInput(args: string[], message: RegExp): Promise<void> {
  const p = cli(...args);
  await expect(p).rejects.toBeInstanceOf(AttnbenchError);
  await p.catch((e: AttnbenchError) => {
    expect(e.exit).toBe(2);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  });
}

function rowsFile(): string {
  const f = path.join(dir, 'kernels.jsonl');
  const rows = syntheticKernelRows(rowMask, { families: ['full', 'causal', 'causal_document'], seqlens: [1024, 2048, 4096, 8192, 12288, 16384, 24576, 32768] });
  fs.writeFileSync(f, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return f;
}

describe('attnbench sim', () => {
  it('calibrate fits curves, holds out rows, writes the calibration; validate reports the errors', async () => {
    const rows = rowsFile();
    const cal = path.join(dir, 'calibration.json');
    await cli('sim', 'calibrate', '--in', rows, '--out', cal);
    const json = JSON.parse(fs.readFileSync(cal, 'utf8'));
    expect(json.curves.map((c: { kernel: string; direction: string }) => `${c.kernel}/${c.direction}`)).toEqual(['fa2/bwd', 'fa2/fwd']);
    expect(json.holdoutMedianAbsPct).toBeLessThan(10);
    expect(out.join('')).toMatch(/held-out median \|error\|: \d+\.\d%/);
    // every curve with an assumption (launch-constant cap, one block cost, ...) says so below the table
    expect((out.join('').match(/^assumed: h100\+h200 fa2 /gm) ?? []).length).toBe(json.curves.filter((c: { assumed: string[] }) => c.assumed.length).length);

    out.length = 0;
    await cli('sim', 'validate', '--in', rows, '--calibration', cal);
    const text = out.join('');
    expect(text).toMatch(/kernels, held out: n=\d+ median \|err\| \d+\.\d%/);
    expect(text).toMatch(/total: n=48 /);

    const predicted = path.join(dir, 'predicted.jsonl');
    await cli('sim', 'validate', '--in', rows, '--calibration', cal, '--out', predicted);
    const pr = fs.readFileSync(predicted, 'utf8').trim().split('\n').map((l) => ResultRowSchema.parse(JSON.parse(l)));
    expect(pr.length).toBe(48);
    expect(pr.every((r) => r.simulated && r.executor === 'sim' && r.id.startsWith('sim:') && r.kernel === 'fa2')).toBe(true);
    for (const r of pr) expect(r.tflops! * r.times!.medianMs * 1e9).toBeCloseTo(r.flops, -3);

    // A CP row measured on 4 virtual ranks: its prediction's TFLOP/s is per GPU, like the measured row's.
    const cpRows = path.join(dir, 'cp.jsonl');
    const base = JSON.parse(fs.readFileSync(rows, 'utf8').split('\n')[0]);
    // FLOPs consistent with the row's area (predictions derive them by the one rule, results/flops.ts).
    const flops = attentionFlops(base.area, base.headsQ, base.headDim, 'fwd');
    const cpRow = {
      ...base, id: 'cp:ring_p2p:test|fwd|torch|virtual4|cuda', suite: 'cp', scheme: 'ring_p2p', kernel: 'flex', family: 'causal', maskParams: {},
      seqlen: 8192, world: 4, direction: 'fwd', layout: { sharding: 'zigzag', virtualRanks: 4 }, flops,
      times: { medianMs: 10, p20Ms: 10, p80Ms: 10, samples: 5 }, tflops: 110, ranks: null, notes: ['virtual ranks: 4 ranks on one device'],
    };
    fs.writeFileSync(cpRows, `${JSON.stringify(cpRow)}\n`);
    const cpPredicted = path.join(dir, 'cp-predicted.jsonl');
    await cli('sim', 'validate', '--in', cpRows, '--calibration', cal, '--out', cpPredicted);
    const [cp] = fs.readFileSync(cpPredicted, 'utf8').trim().split('\n').map((l) => ResultRowSchema.parse(JSON.parse(l)));
    expect(cp.suite).toBe('cp');
    expect(cp.flops).toBe(flops);
    expect(cp.tflops! * cp.times!.medianMs * 1e9 * 4).toBeCloseTo(flops, -3);

    out.length = 0;
    await cli('sim', 'validate', '--in', rows, '--calibration', cal, '--json');
    const lines = out.join('').split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBe(48);
    expect(JSON.parse(lines[0])).toMatchObject({ kind: 'kernel', kernel: 'fa2', gpu: 'h100' });
  });

  it('calibrate reads the results database with --db', async () => {
    const { closeStore, ingestJsonl, openStore } = await import('../../store/store.js');
    const db = path.join(dir, 'r.duckdb');
    const store = await openStore(db);
    await ingestJsonl(store, rowsFile());
    closeStore(store);
    const cal = path.join(dir, 'cal-db.json');
    await cli('sim', 'calibrate', '--db', db, '--out', cal);
    expect(JSON.parse(fs.readFileSync(cal, 'utf8')).rows).toBe(48);
  });

  it('calibrate refuses input without GPU kernel rows, and an empty file (issue 17)', async () => {
    const f = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(f, '');
    await badInput(['sim', 'calibrate', '--in', f, '--out', path.join(dir, 'c.json')], /empty\.jsonl: no result rows \(empty file\)/);
    const cpOnly = path.join(dir, 'cp-only.jsonl');
    fs.writeFileSync(cpOnly, `${JSON.stringify(syntheticRow({ scheme: 'ring_p2p', kernel: null, world: 2 }))}\n`);
    await badInput(['sim', 'calibrate', '--in', cpOnly, '--out', path.join(dir, 'c.json')], /no measured kernel rows/);
  });

  it('run projects the paper-cp preset into simulated rows and traces', async () => {
    const outFile = path.join(dir, 'sim.jsonl');
    const traces = path.join(dir, 'traces');
    const plots = path.join(dir, 'plots');
    await cli('sim', 'run', '--gpus', '8,16', '--seqlen', '32k', '--family', 'causal,causal_document', '--scheme', 'ring_p2p,usp', '--direction', 'fwd', '--out', outFile, '--trace', traces, '--plots', plots);
    expect(fs.readdirSync(plots).filter((f) => f.endsWith('.png')).sort()).toEqual([
      'sim-cp-efficiency-vs-gpus.png',
      'sim-cp-efficiency-vs-seqlen.png',
      'sim-cp-tflops-vs-gpus.png',
      'sim-cp-tflops-vs-seqlen.png',
    ]);
    const rows = fs
      .readFileSync(outFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => ResultRowSchema.parse(JSON.parse(l)));
    expect(rows.length).toBe(2 * 2 * 2);
    expect(rows.every((r) => r.simulated && r.executor === 'sim' && r.suite === 'cp' && r.seqlen === 32768 && r.status === 'ok')).toBe(true);
    expect(out.join('')).toMatch(/8 simulated row\(s\)/);
    const trace = JSON.parse(fs.readFileSync(path.join(traces, 'ring_p2p-causal-S32k-P8-fwd.trace.json'), 'utf8'));
    expect(trace.traceEvents.some((e: { ph: string; tid: number }) => e.ph === 'X' && e.tid === 1)).toBe(true);

    // a second run replaces rows with the same id instead of appending duplicates
    await cli('sim', 'run', '--gpus', '8', '--seqlen', '32k', '--family', 'causal', '--scheme', 'ring_p2p', '--direction', 'fwd', '--out', outFile);
    expect(fs.readFileSync(outFile, 'utf8').trim().split('\n').length).toBe(8);
  });

  it('rejects bad cluster configs and topologies with one line, exit 2', async () => {
    const cfg = (o: unknown) => {
      const f = path.join(dir, `cfg-${Math.random().toString(36).slice(2)}.json`);
      fs.writeFileSync(f, JSON.stringify(o));
      return f;
    };
    const run = ['sim', 'run', '--gpus', '16', '--seqlen', '32k', '--family', 'causal', '--scheme', 'ring_p2p', '--out', path.join(dir, 'x.jsonl')];
    await badInput([...run, '--config', cfg({ ib: { bandwidthGBps: 0 } })], /ib\.bandwidthGBps: bandwidthGBps must be > 0/);
    await badInput([...run, '--config', cfg({ nvlink: { bandwidthGBps: -1 } })], /must be > 0/);
    await badInput([...run, '--config', cfg({ nodes: 1 })], /holds 8 ranks, the plan needs 16/);
    await badInput([...run, '--gpu', 'b300'], /GPU type 'b300' has no kernel calibration and no roofline/);
    await badInput([...run, '--config', path.join(dir, 'missing.json')], /cannot read cluster config/);
    await badInput(['sim', 'run', '--preset', 'nope'], /unknown preset 'nope'/);
  });

  it('estimate times a planned sweep case by case and splits it into calls of --budget-s', async () => {
    const { register: registerKernels } = await import('./kernels.js');
    const planDir = path.join(dir, 'plan');
    const program = new Command('attnbench').exitOverride();
    registerKernels(program);
    await program.parseAsync(['kernels', '--executor', 'torch', '--kernel', 'flex,sdpa_cudnn', '--family', 'causal', '--seqlen', '1k,4k', '--plan-dir', planDir], { from: 'user' });
    const cal = path.join(dir, 'cal.json');
    await cli('sim', 'calibrate', '--in', rowsFile(), '--out', cal); // curves of fa2 only
    out.length = 0;
    await cli('sim', 'estimate', '--plan-dir', planDir, '--gpu', 'h200', '--calibration', cal, '--budget-s', '3');
    const text = out.join('');
    expect(text).toMatch(/^8 case\(s\) from .* \(0 refused at planning, not counted\)/);
    // no curve for flex or sdpa_cudnn: every case timed by the roofline, flex charged its compile
    expect(text).toMatch(/total \d+ s .*; 8 case\(s\) timed by the roofline/);
    expect(text).toMatch(/flex +causal +1k 64:8 +fwd .*\(roofline\) \+2.2 s compile/);
    expect((text.match(/^call \d+ of 3 s/gm) ?? []).length).toBeGreaterThan(1);
    await badInput(['sim', 'estimate', '--plan-dir', path.join(dir, 'nope')], /cases.jsonl not found: plan the sweep first/);
    // a garbage plan file is one clear line, not a JSON parser's stack trace
    const garbage = path.join(dir, 'garbage');
    fs.mkdirSync(garbage, { recursive: true });
    fs.writeFileSync(path.join(garbage, 'cases.jsonl'), 'not json\n{}\n');
    fs.writeFileSync(path.join(garbage, 'jobs.jsonl'), '');
    await badInput(['sim', 'estimate', '--plan-dir', garbage], /cases.jsonl:1: malformed JSON line/);
  });
});
