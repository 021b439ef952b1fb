// The TypeScript <-> python contract, checked: the shared tables file is what src/contract/tables.ts
// generates and python reads the same values; job files written by the real TypeScript writers
// (kernel jobs: buildJob; CP job folders: writeJobFiles) pass python's validators, arrays included,
// and a file python must refuse is refused. Regenerated here on every run: no stale fixtures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelCase } from '../kernels/case.js';
import { planJob } from '../cp/torch/jobs.js';
import { writeJobFiles } from '../cp/torch/manifest.js';
import { PARTIAL_ARRAYS } from '../cp/torch/partial-arrays.js';
import { SCHEME_IDS } from '../cp/types.js';
import { KERNELS } from '../kernels/registry.js';
import { generateMask } from '../mask/families/index.js';
import { ArrayFile } from '../worker/arrays.js';
import { pythonDir } from '../worker/client.js';
import { buildJob } from '../worker/jobs.js';
import { MASK_FORMATS, sharedTables, TABLES_FILE, tablesText } from './tables.js';

const root = path.resolve(pythonDir(), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-contract-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function python(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('python3', args, { env: { ...process.env, PYTHONPATH: pythonDir() }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Summary {
  readonly ok: boolean;
  readonly items: readonly { readonly ok: boolean; readonly id?: string; readonly error?: string; readonly arrays?: number }[];
}
function validate(...files: string[]): { code: number | null; summary: Summary } {
  const r = python(['-m', 'attnbench_worker', 'validate', ...files]);
  if (!r.stdout.trim()) throw new Error(`python validate printed nothing: ${r.stderr}`);
  return { code: r.code, summary: JSON.parse(r.stdout) as Summary };
}

describe('shared tables', () => {
  it(`${TABLES_FILE} is what src/contract/tables.ts generates (else run npx tsx src/contract/write-tables.ts)`, () => {
    expect(fs.readFileSync(path.join(root, TABLES_FILE), 'utf8')).toBe(tablesText());
  });

  it('python reads the same values', () => {
    const r = python([
      '-c',
      'import json; from attnbench_worker import tables as t, protocol as p, stats as s; from attnbench_worker.cp import manifest as m\n' +
        'print(json.dumps({"statuses": p.STATUSES, "dtypes": p.DTYPES, "formats": p.FORMATS, "kinds": t.SLICE_KINDS, "steps": t.STEP_KINDS,' +
        ' "tol": t.TOLERANCE, "grads": s.GRADIENTS, "cp": [m.JOB_FORMAT, m.JOB_VERSION, m.INDEX_FORMAT], "kernels": t.KERNELS}))',
    ]);
    expect(r.stderr).toBe('');
    const py = JSON.parse(r.stdout);
    const t = sharedTables();
    expect(py).toEqual({
      statuses: t.statuses,
      dtypes: t.dtypes,
      formats: t.maskFormats,
      kinds: t.sliceKinds,
      steps: t.stepKinds,
      tol: t.tolerances,
      grads: t.gradients,
      cp: [t.cpJob.format, t.cpJob.version, t.cpJob.indexFormat],
      kernels: Object.fromEntries(KERNELS.map((k) => [k.id, k.executor])),
    });
  });
});

const kcase = (kernel: KernelCase['kernel'], family: KernelCase['family'], seqlen: number, headsKv = 2): KernelCase => ({
  id: `${kernel}/${family}/${seqlen}`,
  suite: 'kernel',
  kernel,
  family,
  maskParams: {},
  seed: 0,
  seqlen,
  batch: 1,
  headsQ: 4,
  headsKv,
  headDim: 64, // a head_dim every kernel takes (triton_ranges refuses others at planning)
  dtype: 'bfloat16',
  direction: 'bwd',
  warmup: 5,
  iters: 20,
  checkUpTo: 1 << 20,
});

describe('round trip: TypeScript writes, python validates', () => {
  it('kernel jobs of every python kernel, in every mask format the adapters produce', () => {
    const dir = path.join(tmp, 'jobs');
    fs.mkdirSync(dir, { recursive: true });
    const arrays = new ArrayFile(path.join(dir, 'arrays.bin'), dir);
    const lines: string[] = [];
    const formats = new Set<string>();
    for (const d of KERNELS.filter((k) => k.executor !== 'cpu'))
      for (const family of ['causal', 'causal_document', 'sliding_window', 'block_sparse'] as const) {
        const c = kcase(d.id, family, 2048);
        const plan = buildJob(c, generateMask(family, 2048, { seed: 0 }), d, arrays, { id: c.id });
        if (plan.kind !== 'job') continue;
        formats.add(plan.job.mask.format);
        lines.push(JSON.stringify(plan.job));
      }
    arrays.close();
    const file = path.join(dir, 'jobs.jsonl');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    // Every format a python kernel takes was written at least once (and each is in the shared table).
    const taken = new Set(KERNELS.filter((k) => k.executor !== 'cpu').flatMap((k) => k.formats));
    expect([...formats].sort()).toEqual([...taken].sort());
    expect([...taken].every((f) => (MASK_FORMATS as readonly string[]).includes(f))).toBe(true);
    const { code, summary } = validate(file);
    expect(summary.items.filter((x) => !x.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(summary.items).toHaveLength(lines.length);
    expect(summary.items.every((x) => (x.arrays ?? 0) >= 3)).toBe(true); // the slices at least, read back

    // A job python must refuse: a dtype outside the shared table.
    const bad = path.join(dir, 'bad.jsonl');
    const job = JSON.parse(lines[0]);
    job.shape.dtype = 'float8';
    fs.writeFileSync(bad, `${JSON.stringify(job)}\n`);
    const b = validate(bad);
    expect(b.code).toBe(2);
    expect(b.summary.items[0].error).toContain('job.shape.dtype must be one of bfloat16, float16, float32');
  });

  it('CP job folders of every scheme, with the step arguments of every hooked kernel', () => {
    const jobs = SCHEME_IDS.flatMap((scheme) =>
      ['causal_document', 'full'].map((family) =>
        planJob({ scheme, family, world: 4, seqlen: 256, headsQ: 4, headsKv: 2, headDim: 8, dtype: 'bfloat16', kernel: 'auto' }),
      ),
    );
    const dir = path.join(tmp, 'cp');
    const w = writeJobFiles(jobs, dir, { arrayKernels: Object.keys(PARTIAL_ARRAYS) });
    const { code, summary } = validate(w.index);
    expect(summary.items.filter((x) => !x.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(summary.items.map((x) => x.id)).toEqual(w.ids);

    // A manifest python must refuse: a step kind outside the shared table.
    const m = JSON.parse(fs.readFileSync(w.manifests[0], 'utf8'));
    m.ranks[0].forward.push({ kind: 'teleport' });
    fs.writeFileSync(w.manifests[0], JSON.stringify(m));
    const b = validate(w.manifests[0]);
    expect(b.code).toBe(2);
    expect(b.summary.items[0].error).toContain('unknown step kind');
  });
});
