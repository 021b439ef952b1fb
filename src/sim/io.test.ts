import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticRow } from '../report/fixtures.js';
import { loadCalibration, loadRows, parseSource, rowsAppender, writeJson, writeRowsMerged } from './io.js';

describe('loadRows', () => {
  it('keeps one row per machine and id, the last one read (a resumed run measures a cut-short case again)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const a = syntheticRow({ kernel: 'flex', tflops: 100 });
    const b = syntheticRow({ kernel: 'flex', direction: 'bwd', tflops: 50 });
    const again = { ...a, tflops: 120 };
    const otherGpu = { ...a, tflops: 90, env: { ...a.env, gpu: 'Other GPU' } };
    const f = path.join(dir, 'r.jsonl');
    fs.writeFileSync(f, [a, b, again, otherGpu].map((r) => JSON.stringify(r)).join('\n') + '\n{"schema":1,"id":"torn');
    const warnings: string[] = [];
    const rows = await loadRows([f], undefined, (s) => warnings.push(s));
    expect(rows.map((r) => [r.direction, r.tflops])).toEqual([['fwd', 120], ['bwd', 50], ['fwd', 90]]);
    expect(warnings).toHaveLength(1);
  });

  it('FILE#k=v reads only the rows of FILE with those values (a CP call measured two kernels)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const flex = syntheticRow({ kernel: 'flex', tflops: 100 });
    const flexBwd = { ...flex, id: `${flex.id}|bwd`, direction: 'bwd' as const };
    const ours = { ...syntheticRow({ kernel: 'triton_ranges', tflops: 300 }), id: `${flex.id}|triton_ranges` };
    const f = path.join(dir, 'cp.jsonl');
    fs.writeFileSync(f, [flex, flexBwd, ours].map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(parseSource(`${f}#kernel=flex,direction=bwd`)).toEqual({
      file: f,
      select: [
        { key: 'kernel', op: '=', value: 'flex' },
        { key: 'direction', op: '=', value: 'bwd' },
      ],
    });
    expect(parseSource(f)).toEqual({ file: f, select: [] });
    expect(() => parseSource(`${f}#gpu=h100`)).toThrow(/keys kernel, direction, family, scheme, path/);
    expect(() => parseSource(`${f}#kernel=`)).toThrow(/key=value or key!=value/);
    const read = async (spec: string) => (await loadRows([spec], undefined, () => {})).map((r) => `${r.kernel} ${r.direction}`);
    expect(await read(`${f}#kernel=triton_ranges`)).toEqual(['triton_ranges fwd']);
    expect(await read(`${f}#kernel=flex,direction=bwd`)).toEqual(['flex bwd']);
    expect(await read(f)).toEqual(['flex fwd', 'flex bwd', 'triton_ranges fwd']);
    // a selection that matches no row of a non-empty file is a typo: one clear line, not an empty source
    await expect(read(`${f}#kernel=sdpa_cudnn`)).rejects.toThrow(/no row of .*cp\.jsonl has kernel sdpa_cudnn/);
    // k!=v leaves those rows out; conditions on one key add up
    expect(await read(`${f}#kernel!=flex`)).toEqual(['triton_ranges fwd']);
    expect(await read(`${f}#direction!=bwd,kernel!=triton_ranges`)).toEqual(['flex fwd']);
    await expect(read(`${f}#kernel!=flex,kernel!=triton_ranges`)).rejects.toThrow(/has kernel not flex and kernel not triton_ranges/);
  });

  it('FILE#path!=P leaves out one input path: nested rows of the old timing beside their re-measure', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const base = syntheticRow({ kernel: 'sdpa_efficient', tflops: 50 });
    const old = { ...base, id: `${base.id}|old`, notes: ['nested (jagged) tensors: one call over the documents'] };
    const gpu = { ...base, id: `${base.id}|gpu`, notes: [...old.notes, 'spans are GPU time (host cover on)'] };
    const dense = { ...base, id: `${base.id}|dense`, notes: ['dense boolean attn_mask'] };
    const f = path.join(dir, 'paper.jsonl');
    fs.writeFileSync(f, [old, gpu, dense].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const ids = async (spec: string) => (await loadRows([spec], undefined, () => {})).map((r) => r.id.split('|')[1]);
    expect(await ids(`${f}#path!=sdpa_efficient@varlen`)).toEqual(['gpu', 'dense']);
    expect(await ids(`${f}#path=sdpa_efficient@varlen-gpu`)).toEqual(['gpu']);
    expect(await ids(`${f}#path=sdpa_efficient@dense,kernel=sdpa_efficient`)).toEqual(['dense']);
    await expect(ids(`${f}#path!=sdpa_efficent@varlen`)).rejects.toThrow(/no row of .*paper\.jsonl has path sdpa_efficent@varlen to leave out/);
  });
});

describe('writing simulated rows', () => {
  it('replaces old rows only when the new ones are complete, and keeps lines it cannot parse', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const f = path.join(dir, 'sim.jsonl');
    const a = syntheticRow({ kernel: 'flex', tflops: 100 });
    const b = syntheticRow({ kernel: 'flex', direction: 'bwd', tflops: 50 });
    const before = `${JSON.stringify(a)}\n{"torn": \n${JSON.stringify(b)}\n`;
    fs.writeFileSync(f, before);
    const sink = rowsAppender(f);
    sink.append([{ ...a, tflops: 200 }]);
    // mid-sweep: the old file is untouched, the new row waits in <file>.partial
    expect(fs.readFileSync(f, 'utf8')).toBe(before);
    expect(fs.readFileSync(sink.partialPath, 'utf8')).toContain('"tflops":200');
    const r = sink.finish();
    expect(r).toEqual({ replaced: 1, kept: 1, unparsable: 1 });
    expect(fs.existsSync(sink.partialPath)).toBe(false);
    const lines = fs.readFileSync(f, 'utf8').trim().split('\n');
    expect(lines).toEqual(['{"torn": ', JSON.stringify(b), JSON.stringify({ ...a, tflops: 200 })]);
    expect(writeRowsMerged(f, [{ ...b, tflops: 1 }])).toEqual({ replaced: 1, kept: 1, unparsable: 1 });
    expect(fs.readdirSync(dir)).toEqual(['sim.jsonl']);
  });

  it('a torn last line (cut mid-write) goes to <file>.torn, not into the middle of the merged file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const f = path.join(dir, 'sim.jsonl');
    const a = syntheticRow({ kernel: 'flex', tflops: 100 });
    const b = syntheticRow({ kernel: 'flex', direction: 'bwd', tflops: 50 });
    const lineB = JSON.stringify(b);
    fs.writeFileSync(f, `${JSON.stringify(a)}\n${lineB.slice(0, 40)}`);
    const r = writeRowsMerged(f, [{ ...a, tflops: 1 }, { ...b, tflops: 2 }]);
    expect(r).toEqual({ replaced: 1, kept: 0, unparsable: 0 });
    const lines = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { tflops: number }).tflops)).toEqual([1, 2]);
    expect(fs.readFileSync(`${f}.torn`, 'utf8')).toBe(`${lineB.slice(0, 40)}\n`);
  });
});

describe('loadCalibration', () => {
  it("keeps a curve's optional terms (host floor, key-tile bound): they change its predictions", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const f = path.join(dir, 'cal.json');
    const curve = {
      gpu: 'h100+h200', kernel: 'flex', direction: 'bwd', dtype: 'bfloat16', slots: 132, c0Ms: 0, msPerProgram: 0, msPerTflopFull: 2.4,
      msPerTflopPartial: 7, msPerTflopEmpty: 0, hostFloorMs: 5, keyTileBound: true, assumed: [], fitRows: 6, fitMedianAbsPct: 1, holdoutRows: 0,
      holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
    };
    writeJson(f, { version: 2, blockSize: 128, model: 'm', holdout: 'h', curves: [curve], uncalibrated: [], holdoutMedianAbsPct: null, fitMedianAbsPct: null, rows: 6 });
    const { calibration } = loadCalibration(f);
    expect(calibration!.curves[0].hostFloorMs).toBe(5);
    expect(calibration!.curves[0].keyTileBound).toBe(true);
  });
});
