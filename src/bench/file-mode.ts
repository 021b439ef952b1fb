// File mode of a kernel sweep, for GPU nodes without Node: plan the jobs folder here
// (src/worker/files.ts), run `python -m attnbench_worker run <dir>/jobs.jsonl --out results.jsonl`
// there, then ingest its results here into ordinary result rows (same ids, same schema).
import type { ExecutorId } from '../ids.js';
import { AttnbenchError } from '../errors.js';
import type { Environment, ResultRow } from '../results/schema.js';
import { readPlannedCases, readWorkerResults, type WorkerResultRecord } from '../worker/files.js';
import { caseFlops, makeRow, combineSamples, type MaskSource } from './runner.js';
import { summarize, tflops } from './stats.js';
import type { CaseOutcome } from '../kernels/case.js';

const NO_ENV: Environment = { host: 'unknown', gpu: null, driver: null, cuda: null, libs: {}, gitRev: null, date: new Date(0).toISOString() };

/**
 * Result rows for every planned case that has a result (or was unsupported at planning).
 * A case whose samples are not all back yet is left out, so a later ingest can complete it.
 */
export function ingestWorkerResults(casesFile: string, resultsFile: string, masks: MaskSource, executor: ExecutorId = 'torch'): ResultRow[] {
  const planned = readPlannedCases(casesFile);
  if (!planned.length) throw new AttnbenchError('bad_input', `${casesFile}: no planned cases`, 2);
  const byJob = new Map<string, WorkerResultRecord>(readWorkerResults(resultsFile).map((r) => [r.jobId, r]));
  const env = [...byJob.values()].find((r) => r.env)?.env ?? NO_ENV;
  const byCase = new Map<string, typeof planned>();
  for (const p of planned) byCase.set(p.case.id, [...(byCase.get(p.case.id) ?? []), p]);
  const rows: ResultRow[] = [];
  for (const samples of byCase.values()) {
    samples.sort((a, b) => a.sample - b.sample);
    const c = samples[0].case;
    const g = masks.generate(c, 0);
    const area = masks.meanArea(g);
    if (samples[0].unsupported !== undefined) {
      rows.push(makeRow(c, executor, env, area, { status: 'unsupported', message: samples[0].unsupported, times: null, memory: null, error: null }));
      continue;
    }
    const outcomes: CaseOutcome[] = [];
    const perSample: number[] = [];
    for (const s of samples) {
      const r = byJob.get(s.jobId);
      if (!r) break;
      outcomes.push(r.outcome);
      if (r.outcome.status !== 'ok') break;
      if (r.outcome.times) perSample.push(tflops(caseFlops(c, masks.meanArea(masks.generate(c, s.sample))), r.outcome.times.medianMs));
    }
    const complete = outcomes.length === samples.length || outcomes.some((o) => o.status !== 'ok');
    if (!complete) continue;
    const rowEnv = byJob.get(samples[0].jobId)?.env ?? env;
    const row = makeRow(c, executor, rowEnv, area, combineSamples(outcomes));
    rows.push(row.status === 'ok' && perSample.length > 1 ? { ...row, tflops: summarize(perSample).medianMs } : row);
  }
  return rows;
}
