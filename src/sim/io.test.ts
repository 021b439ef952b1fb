import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticRow } from '../report/fixtures.js';
import { loadRows } from './io.js';

describe('loadRows', () => {
  it('keeps one row per machine and id, the last one read (a resumed run measures a cut-short case again)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-io-'));
    const a = syntheticRow({ kernel: 'flex', tflops: 100 });
    const b = syntheticRow({ kernel: 'flex', direction: 'bwd', tflops: 50 });
    const again = { ...a, tflops: 120 };
    const otherGpu = { ...a, tflops: 90, env: { ...a.env, gpu: 'Other GPU' } };
    const f = path.join(dir, 'r.jsonl');
    fs.writeFileSync(f, [a, b, again, otherGpu].map((r) => JSON.stringify(r)).join('\n') + '\nnot json\n');
    const warnings: string[] = [];
    const rows = await loadRows([f], undefined, (s) => warnings.push(s));
    expect(rows.map((r) => [r.direction, r.tflops])).toEqual([['fwd', 120], ['bwd', 50], ['fwd', 90]]);
    expect(warnings).toHaveLength(1);
  });
});
