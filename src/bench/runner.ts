// Runs kernel cases through an executor: resume, progress, one JSONL row per case as measured.
// A failing case becomes a row (error / unsupported / oom ...) and the sweep goes on.
import type { ExecutorId } from '../ids.js';
import { SingleBar } from 'cli-progress';
import { AttnbenchError } from '../errors.js';
import type { GeneratedMask } from '../mask/types.js';
import type { Environment, ResultRow, Status } from '../results/schema.js';
import { buildRow } from '../results/build.js';
import { attentionFlops } from '../results/flops.js';
import { doneCaseIds } from '../results/resume.js';
import { appendJsonl, readJsonl } from '../util/jsonl.js';
import { summarize, tflops } from './stats.js';
import type { CaseOutcome, KernelCase, KernelExecutor } from '../kernels/case.js';

export interface MaskSource {
  /** Build the mask of a case for one sample (seed offset); may throw a bad-input error. */
  generate(c: KernelCase, sample: number): GeneratedMask;
  meanArea(g: GeneratedMask): number;
  /** How many mask samples a family needs (1 for deterministic families). */
  samples(family: string): number;
}

export interface RunOptions {
  readonly out: string;
  readonly resume: boolean;
  readonly progress: boolean;
  /** With resume: statuses whose cases run again (e.g. error, timeout). */
  readonly retry?: readonly Status[];
  readonly onRow?: (row: ResultRow) => void;
}

/** SPEC 6 FLOPs of one call of a kernel case over a mask with `area` unmasked pairs per head. */
export const caseFlops = (c: KernelCase, area: number): number => attentionFlops(area, c.headsQ, c.headDim, c.direction) * c.batch;

/** Ids of the cases settled in a results file: the one resume rule (src/results/resume.ts). */
export function measuredIds(file: string, retry: readonly Status[] = []): Set<string> {
  return doneCaseIds(readJsonl(file), retry);
}

/** The row of a kernel case: the one builder (src/results/build.ts) with the case's fields. */
export function makeRow(c: KernelCase, executor: ExecutorId, env: Environment, area: number, o: CaseOutcome): ResultRow {
  return buildRow({ ...c, executor, scheme: null, world: 1, layout: null }, area, o, env, null, c.id);
}

/** Combine per-sample outcomes: median over samples' medians, with the spread (SPEC 6). */
export function combineSamples(outcomes: readonly CaseOutcome[]): CaseOutcome {
  const bad = outcomes.find((o) => o.status !== 'ok');
  if (bad || outcomes.length === 1) return bad ?? outcomes[0];
  const meds = outcomes.map((o) => o.times!.medianMs);
  const s = summarize(meds);
  const first = outcomes[0];
  const worstErr = outcomes.reduce<CaseOutcome['error']>((w, o) => {
    if (!o.error) return w;
    if (!w) return o.error;
    return (o.error.out?.maxAbs ?? 0) > (w.out?.maxAbs ?? 0) ? o.error : w;
  }, null);
  return {
    ...first,
    times: {
      medianMs: s.medianMs,
      p20Ms: quantileOf(outcomes.map((o) => o.times!.p20Ms)),
      p80Ms: quantileOf(outcomes.map((o) => o.times!.p80Ms)),
      samples: outcomes.reduce((a, o) => a + (o.times?.samples ?? 0), 0),
      compileMs: first.times?.compileMs ?? null,
      sampleMinMs: Math.min(...meds),
      sampleMaxMs: Math.max(...meds),
    },
    error: worstErr,
    notes: [...(first.notes ?? []), `median over ${outcomes.length} mask samples`],
  };
}

function quantileOf(xs: number[]): number {
  return summarize(xs).medianMs;
}

export async function runCases(
  cases: readonly KernelCase[],
  executor: KernelExecutor,
  masks: MaskSource,
  opts: RunOptions,
): Promise<ResultRow[]> {
  const done = opts.resume ? measuredIds(opts.out, opts.retry) : new Set<string>();
  const todo = cases.filter((c) => !done.has(c.id));
  const env = await executor.environment();
  const available = await executor.available();
  const rows: ResultRow[] = [];
  const bar = opts.progress && process.stderr.isTTY
    ? new SingleBar({ format: ' {bar} {value}/{total} | ETA {eta_formatted} | {case}', stream: process.stderr, hideCursor: true })
    : null;
  bar?.start(todo.length, 0, { case: '' });
  if (opts.resume && done.size > 0) process.stderr.write(`resume: ${cases.length - todo.length} of ${cases.length} cases already in ${opts.out}\n`);
  // Without a terminal (a batch job's log) each case gets one line instead of a bar.
  const log = opts.progress && !bar ? (s: string) => process.stderr.write(s) : null;
  try {
    for (const [i, c] of todo.entries()) {
      bar?.update({ case: c.id });
      const t0 = performance.now();
      const row = await runOne(c, executor, available, masks, env);
      appendJsonl(opts.out, row);
      rows.push(row);
      opts.onRow?.(row);
      bar?.increment();
      log?.(`[${i + 1}/${todo.length}] ${c.id} ${row.status}${row.tflops !== null ? ` ${row.tflops.toFixed(1)} TFLOP/s` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)${row.status === 'ok' ? '' : ` ${(row.message ?? '').slice(0, 120)}`}\n`);
    }
  } finally {
    bar?.stop();
  }
  return rows;
}

async function runOne(
  c: KernelCase,
  executor: KernelExecutor,
  available: ReadonlySet<string>,
  masks: MaskSource,
  env: Environment,
): Promise<ResultRow> {
  let g: GeneratedMask;
  try {
    g = masks.generate(c, 0);
  } catch (e) {
    // A family parameter that does not fit this size (window >= S, ...) is a result, not a crash.
    const msg = e instanceof Error ? e.message : String(e);
    return makeRow(c, executor.id, env, 0, { status: 'unsupported', message: msg, times: null, memory: null, error: null });
  }
  const area = masks.meanArea(g);
  if (!available.has(c.kernel)) {
    return makeRow(c, executor.id, env, area, {
      status: 'unavailable',
      message: `kernel ${c.kernel} is not available on executor ${executor.id}`,
      times: null,
      memory: null,
      error: null,
    });
  }
  const outcomes: CaseOutcome[] = [];
  const sampleTflops: number[] = [];
  const n = masks.samples(c.family);
  for (let s = 0; s < n; s++) {
    const gs = s === 0 ? g : masks.generate(c, s);
    let o: CaseOutcome;
    try {
      o = await executor.run(c, gs);
    } catch (e) {
      if (e instanceof AttnbenchError && e.code === 'unavailable') throw e;
      o = { status: 'error', message: (e as Error).message ?? String(e), times: null, memory: null, error: null };
    }
    outcomes.push(o);
    if (o.status !== 'ok') break;
    if (o.times) sampleTflops.push(tflops(caseFlops(c, masks.meanArea(gs)), o.times.medianMs));
  }
  const row = makeRow(c, executor.id, env, area, combineSamples(outcomes));
  // Random masks: each sample has its own work; report the median of per-sample throughputs.
  return row.status === 'ok' && sampleTflops.length > 1 ? { ...row, tflops: summarize(sampleTflops).medianMs } : row;
}
