// Writes CP job folders without launching anything (for machines without node: the GPU device,
// cluster login nodes). `npx tsx src/cp/torch/make-jobs.ts --dir cp-jobs/p4 --worlds 4 ...`
// One folder per world size: <dir>/p<P>/{index.json, manifests, arrays.bin}.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gitRev } from '../../util/env.js';
import { SCHEME_IDS } from '../types.js';
import { planJob, type CpCaseSpec } from './jobs.js';
import { writeJobFiles, type CpDtype, type CpJob, type CpKernel } from './manifest.js';
import { PAPER_CP_FAMILIES } from './preset.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: 'cp-jobs' },
    worlds: { type: 'string', default: '2,4' },
    'tokens-per-rank': { type: 'string', default: '1024' },
    schemes: { type: 'string', default: SCHEME_IDS.join(',') },
    families: { type: 'string', default: PAPER_CP_FAMILIES.join(',') },
    layouts: { type: 'string', default: '' }, // scheme:k=v;k=v|scheme:...  (extra cases)
    heads: { type: 'string', default: '64:8' },
    'head-dim': { type: 'string', default: '128' },
    dtype: { type: 'string', default: 'bfloat16' },
    kernel: { type: 'string', default: 'auto' },
    warmup: { type: 'string', default: '5' },
    iters: { type: 'string', default: '20' },
    'check-up-to': { type: 'string', default: '65536' },
    'no-block-tables': { type: 'boolean', default: false },
  },
});

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const [hq, hkv] = values.heads!.split(':').map(Number);
const extra = new Map<string, Record<string, number | string>[]>();
for (const part of values.layouts!.split('|').filter(Boolean)) {
  const [scheme, kv] = part.split(':');
  const l: Record<string, number | string> = {};
  for (const t of kv.split(';').filter(Boolean)) {
    const [k, v] = t.split('=');
    l[k] = Number.isFinite(Number(v)) ? Number(v) : v;
  }
  extra.set(scheme, [...(extra.get(scheme) ?? []), l]);
}

for (const world of list(values.worlds!).map(Number)) {
  const jobs: CpJob[] = [];
  // Family-major: consecutive cases share the mask and inputs, so the executor reuses the reference.
  for (const family of list(values.families!))
    for (const scheme of list(values.schemes!)) {
      for (const layout of [undefined, ...(extra.get(scheme) ?? [])]) {
        const spec: CpCaseSpec = {
          scheme,
          family,
          world,
          layout,
          seqlen: Number(values['tokens-per-rank']) * world,
          headsQ: hq,
          headsKv: hkv,
          headDim: Number(values['head-dim']),
          dtype: values.dtype as CpDtype,
          kernel: values.kernel as CpKernel,
          warmup: Number(values.warmup),
          iters: Number(values.iters),
          checkUpTo: Number(values['check-up-to']),
          gitRev: gitRev(),
        };
        try {
          jobs.push(planJob(spec));
        } catch (e) {
          process.stderr.write(`skip ${scheme} ${JSON.stringify(layout ?? {})} ${family} P=${world}: ${(e as Error).message}\n`);
        }
      }
  }
  const dir = path.join(values.dir!, `p${world}`);
  const w = writeJobFiles(jobs, dir, { blockTables: !values['no-block-tables'] });
  process.stdout.write(`${dir}: ${jobs.length} cases, ${(w.bytes / 1024).toFixed(0)} KiB\n`);
}
