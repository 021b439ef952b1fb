import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultRow } from '../results/schema.js';
import { readTrace, writeReport } from './build.js';
import { syntheticKernelSweep, syntheticRow } from './fixtures.js';
import { pngSize } from './render.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-report-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function rows(): ResultRow[] {
  return [
    ...syntheticKernelSweep(['sdpa_flash', 'flex'], ['causal', 'causal_document'], [1024, 2048, 4096]),
    syntheticRow({ kernel: 'torch_naive', family: 'causal', seqlen: 4096, status: 'oom' }),
    syntheticRow({ kernel: 'fa3', family: 'causal', seqlen: 1024, tflops: 400, exceedsTolerance: true }),
    syntheticRow({ kernel: 'fa2', family: 'causal', seqlen: 1024, status: 'error', message: 'CUDA error: boom' }),
  ];
}

describe('writeReport', () => {
  it('writes report.md, report.html and a PNG + SVG per plot under fixed names', async () => {
    const out = path.join(dir, 'report');
    const trace = path.join(dir, 'ring.trace.json');
    fs.writeFileSync(trace, JSON.stringify({ traceEvents: [{ name: 'attn', ph: 'X', ts: 0, dur: 10, pid: 0, tid: 'compute' }] }));
    const r = await writeReport(rows(), out, { title: 'Test report', sources: ['synthetic.jsonl'] }, [readTrace(trace)]);
    expect(r.plots).toEqual(['kernels-tflops', 'kernels-memory', 'support-matrix']);
    for (const f of ['report.md', 'report.html', 'kernels-tflops.png', 'kernels-tflops.svg', 'kernels-tflops.vl.json', 'support-matrix.png', 'timeline-ring.png'])
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    expect(fs.existsSync(path.join(out, 'cp-scaling.png'))).toBe(false);

    const svg = fs.readFileSync(path.join(out, 'kernels-tflops.svg'), 'utf8');
    const [, w, h] = /<svg[^>]*width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    expect(pngSize(fs.readFileSync(path.join(out, 'kernels-tflops.png')))).toEqual({ width: 2 * w, height: 2 * h });

    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/^# Test report/);
    expect(md).toContain('![Kernel throughput](kernels-tflops.png)');
    expect(md).toContain('![timeline: ring](timeline-ring.png)');
    // The pivot of causal fwd: kernels in SPEC order, statuses in cells, the over-tolerance mark.
    expect(md).toContain('**causal · fwd (TFLOP/s)**');
    expect(md).toContain('| kernel | 1k | 2k | 4k |');
    expect(md).toContain('| torch_naive |  |  | oom |');
    expect(md).toContain('| fa3 | 400! |  |  |');
    expect(md).toContain('| fa2 | error |  |  |');
    expect(md).toContain('1 result(s) exceed the numerical tolerance.');
    expect(md).toContain('CUDA error: boom');

    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html.match(/<figure id="fig-[^"]+"><svg/g)).toHaveLength(4); // 3 plots + 1 timeline, inline
    expect(html).toContain('<td class="bad">400!</td>');
    expect(html).toContain('<td class="st-oom">oom</td>');
  });

  it('removes the files of a plot that no longer has rows', async () => {
    const cp = [2, 4].map((world) => syntheticRow({ scheme: 'ring_p2p', world, seqlen: 8192 * world }));
    await writeReport([...rows(), ...cp], dir, { title: 't', sources: [] });
    expect(fs.existsSync(path.join(dir, 'cp-scaling.png'))).toBe(true);
    await writeReport(rows(), dir, { title: 't', sources: [] });
    expect(fs.existsSync(path.join(dir, 'cp-scaling.png'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'cp-scaling.svg'))).toBe(false);
  });

  it('writes the same files for the same rows (deterministic)', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await writeReport(rows(), a, { title: 't', sources: ['x'] });
    await writeReport([...rows()].reverse(), b, { title: 't', sources: ['x'] });
    for (const f of ['report.md', 'report.html', 'support-matrix.svg'])
      expect(fs.readFileSync(path.join(b, f), 'utf8'), f).toBe(fs.readFileSync(path.join(a, f), 'utf8'));
  });
});
