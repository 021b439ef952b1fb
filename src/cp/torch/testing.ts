// Test helpers (imported by *.test.ts only): measurement records as the python executor writes
// them, and a fake launcher that plays the executor from a job folder's index.
import fs from 'node:fs';
import path from 'node:path';
import { cpKernelOf } from '../../results/case-id.js';
import { caseId, readManifest, type CpJob } from './manifest.js';
import type { CpMeasurement } from './rows.js';

/** A measurement record as python/attnbench_worker/cp/record.py writes it (CPU tensors: the case's kernel, 'auto' = the reference). */
export function record(job: CpJob, direction: 'fwd' | 'bwd', tag: string, status: CpMeasurement['status'] = 'ok', message: string | null = null): CpMeasurement {
  const ok = status === 'ok';
  const kernel = cpKernelOf(job.meta.kernel, 'cpu', { ...job.plan.shape, dtype: job.meta.dtype });
  return {
    record: 'cp.measurement',
    version: 1,
    case: caseId(job.plan, job.meta),
    direction,
    mode: tag.startsWith('virtual') ? 'virtual' : 'dist',
    tag,
    device: 'cpu',
    kernel,
    dtype: job.meta.dtype,
    status,
    message,
    ranks: ok ? Array.from({ length: job.plan.world }, (_, r) => ({ medianMs: 2 + r, p20Ms: 1.5 + r, p80Ms: 2.5 + r, samples: 2 })) : null,
    compileMs: ok ? 30 : null,
    memory: null,
    error: null,
    notes: ok ? [`partial kernel: ${kernel}`] : [],
    env: { host: 'h', gpu: null, driver: null, cuda: null, libs: { torch: '2' }, gitRev: null, date: '2026-12-04T00:00:00Z' },
  };
}

/** A fake launcher: writes ok measurements for the manifests of its index, dying on the case named.
 * `dieOn`: the case whose launch dies; `how`: 'silent' (a rank's fault line, no rows, exit 3) or
 * 'after-rows' (like the python executor in dist mode: rank 0 writes the failed case's rows,
 * then the ranks exit and torchrun reports 1). */
export function fakeLauncher(jobs: readonly CpJob[], dieOn: string | null, calls: string[][], how: 'silent' | 'after-rows' = 'silent') {
  return async (argv: readonly string[]): Promise<number> => {
    calls.push([...argv]);
    const index = argv[argv.indexOf('run') + 1];
    const out = argv[argv.indexOf('--out') + 1];
    const names: string[] = JSON.parse(fs.readFileSync(index, 'utf8')).manifests;
    for (const name of names) {
      const m = readManifest(path.join(path.dirname(index), name));
      const found = jobs.find((j) => caseId(j.plan, j.meta) === m.case.id)!;
      const job = { ...found, meta: { ...found.meta, kernel: m.case.kernel } }; // the job folder's kernel runs
      if (m.case.id === dieOn) {
        const message = 'rank 1 fwd step 3 (attn): RuntimeError: boom';
        fs.appendFileSync(`${out}.faults.jsonl`, `${JSON.stringify({ rank: 1, case: m.case.id, status: 'error', message })}\n`);
        if (how === 'silent') return 3;
        for (const d of ['fwd', 'bwd'] as const) fs.appendFileSync(out, `${JSON.stringify(record(job, d, 'dist-gloo', 'error', `rank 1: ${message}`))}\n`);
        return 1;
      }
      for (const d of ['fwd', 'bwd'] as const) fs.appendFileSync(out, `${JSON.stringify(record(job, d, 'dist-gloo'))}\n`);
    }
    return 0;
  };
}

