// File mode, the TypeScript half: plan jobs into a folder (jobs.jsonl + arrays.bin + cases.jsonl)
// that travels to a GPU node without Node, where `python -m attnbench_worker run` executes it;
// then read the results back. Array paths are relative, so the folder can be moved.
import fs from 'node:fs';
import path from 'node:path';
import type { CaseOutcome, KernelCase } from '../kernels/case.js';
import { getKernel } from '../kernels/registry.js';
import type { KernelDescriptor } from '../kernels/types.js';
import type { GeneratedMask } from '../mask/types.js';
import type { Environment } from '../results/schema.js';
import { readJsonl } from '../util/jsonl.js';
import { ArrayFile } from './arrays.js';
import { buildJob, type JobOptions } from './jobs.js';
import { environmentOf, outcomeOf } from './outcome.js';
import { ResultLineSchema } from './protocol.js';

/** The part of the sweep's mask source that planning needs (src/bench/runner.ts MaskSource). */
export interface MaskProvider {
  generate(c: KernelCase, sample: number): GeneratedMask;
  samples(family: string): number;
}

/** One line of cases.jsonl: which case and mask sample a job id stands for. */
export interface PlannedCase {
  readonly jobId: string;
  readonly sample: number;
  readonly case: KernelCase;
  /** Set when the kernel cannot express the mask: no job was written. */
  readonly unsupported?: string;
}

export interface PlannedJobs {
  readonly jobsFile: string;
  readonly casesFile: string;
  readonly arraysFile: string;
  readonly jobs: number;
  readonly unsupported: number;
}

export function jobIdOf(c: KernelCase, sample: number): string {
  return sample === 0 ? c.id : `${c.id}#s${sample}`;
}

export function planJobsFile(
  cases: readonly KernelCase[],
  dir: string,
  masks: MaskProvider,
  o: Pick<JobOptions, 'timeoutS' | 'allowShort'> & { readonly kernels?: readonly KernelDescriptor[] } = {},
): PlannedJobs {
  fs.mkdirSync(dir, { recursive: true });
  const jobsFile = path.join(dir, 'jobs.jsonl');
  const casesFile = path.join(dir, 'cases.jsonl');
  const arraysFile = path.join(dir, 'arrays.bin');
  for (const f of [jobsFile, casesFile, arraysFile]) fs.rmSync(f, { force: true });
  const arrays = new ArrayFile(arraysFile, dir);
  const jobsOut = fs.openSync(jobsFile, 'w');
  const casesOut = fs.openSync(casesFile, 'w');
  let jobs = 0;
  let unsupported = 0;
  try {
    for (const c of cases) {
      const d = o.kernels?.find((k) => k.id === c.kernel) ?? getKernel(c.kernel);
      const first = masks.generate(c, 0);
      const n = masks.samples(c.family);
      for (let s = 0; s < n; s++) {
        const mask = s === 0 ? first : masks.generate(c, s);
        const jobId = jobIdOf(c, s);
        const plan = buildJob(c, mask, d, arrays, { id: jobId, timeoutS: o.timeoutS, allowShort: o.allowShort });
        const line: PlannedCase = plan.kind === 'job' ? { jobId, sample: s, case: c } : { jobId, sample: s, case: c, unsupported: plan.reason };
        fs.writeSync(casesOut, `${JSON.stringify(line)}\n`);
        if (plan.kind === 'job') {
          fs.writeSync(jobsOut, `${JSON.stringify(plan.job)}\n`);
          jobs++;
        } else {
          unsupported++;
          break; // the other samples of the family would say the same
        }
      }
    }
  } finally {
    arrays.close();
    fs.closeSync(jobsOut);
    fs.closeSync(casesOut);
  }
  return { jobsFile, casesFile, arraysFile, jobs, unsupported };
}

export interface WorkerResultRecord {
  readonly jobId: string;
  /** The case id (job id without its #s<n> sample suffix). */
  readonly caseId: string;
  readonly sample: number;
  readonly kernel: string;
  readonly outcome: CaseOutcome;
  readonly env: Environment | null;
}

/** Reads a file-mode results file; a torn last line (a run killed mid-write) is skipped. */
export function readWorkerResults(file: string): WorkerResultRecord[] {
  return readJsonl<unknown>(file).map((raw, n) => {
    const p = ResultLineSchema.safeParse(raw);
    if (!p.success) throw new Error(`${file}:${n + 1}: not a worker result (${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message})`);
    const r = p.data;
    const m = /^(.*)#s(\d+)$/.exec(r.id);
    return {
      jobId: r.id,
      caseId: m ? m[1] : r.id,
      sample: m ? Number(m[2]) : 0,
      kernel: r.kernel,
      outcome: outcomeOf(r),
      env: r.env ? environmentOf(r.env) : null,
    };
  });
}

/** cases.jsonl of a planned folder. */
export function readPlannedCases(file: string): PlannedCase[] {
  return readJsonl<PlannedCase>(file, { whole: true }); // written at once: a torn one is half a plan
}
