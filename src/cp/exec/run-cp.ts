// runCp: the CP run of every executor behind the CpExecutor interface, as a function (the CLI only parses flags into a
// CpCaseGrid). It plans every case and checks every plan before anything runs (bad input fails
// first), leaves out what --resume finds settled (src/results/resume.ts), runs the rest, appends
// each row as it is measured, and writes error / timeout rows for the cases that fail (the
// executor's failedRow, else cpFailedRow). Executors with runBatch (torch: one job folder, one
// torchrun) get every remaining case in one call and report each case as it ends, rows as they
// arrive; cases they never report get failed rows, unless the batch was refused before its first
// case (CpBatchRefused: one error, no rows). The others run case by case (runCaseByCase).
import path from 'node:path';
import { AttnbenchError } from '../../errors.js';
import type { FamilyId, SchemeId } from '../../ids.js';
import { familyParams, generateMask } from '../../mask/families/index.js';
import { caseIdOfRow } from '../../results/case-id.js';
import { doneCaseIds } from '../../results/resume.js';
import type { Direction, Environment, ResultRow, Status } from '../../results/schema.js';
import { appendJsonl, readJsonl } from '../../util/jsonl.js';
import { formatTokens } from '../../util/parse.js';
import { checkPlan } from '../check.js';
import { planCp, sharedMask } from '../plan/index.js';
import type { CpLayout, CpShape } from '../types.js';
import { cpCaseId, cpDirections, cpFailedRow } from './rows.js';
import { CpBatchRefused, type CpCaseOutcome, type CpCaseReport, type CpExecutor, type CpRunRequest } from './types.js';

/** Every scheme x world x family x seqlen, with one layout, shape and mask setting. */
export interface CpCaseGrid {
  readonly schemes: readonly SchemeId[];
  readonly worlds: readonly number[];
  readonly families: readonly FamilyId[];
  readonly seqlens: readonly number[];
  readonly layout: CpLayout;
  /** Heads and head dim; dtypeBytes comes from the executor. */
  readonly shape: Omit<CpShape, 'dtypeBytes'>;
  readonly seed: number;
  /** Mask parameters; each family takes the ones it declares. */
  readonly params: Readonly<Record<string, number | string>>;
  readonly docLens?: string;
  /** Compare with the single-rank reference. */
  readonly check: boolean;
  readonly timeoutMs: number;
  /** Write a Chrome / Perfetto trace per case into this folder. */
  readonly traceDir?: string;
}

/** Plans and checks every case of the grid (bad input and checker violations throw, nothing runs). */
export function planCpCases(grid: CpCaseGrid, dtypeBytes: number): CpRunRequest[] {
  const shape: CpShape = { ...grid.shape, dtypeBytes };
  const cases: CpRunRequest[] = [];
  for (const family of grid.families)
    for (const seqlen of grid.seqlens) {
      const gm = generateMask(family, seqlen, { seed: grid.seed, params: familyParams(family, grid.params), docLens: grid.docLens });
      const mask = sharedMask(gm);
      for (const world of grid.worlds)
        for (const scheme of grid.schemes) {
          const plan = planCp(scheme, mask, world, grid.layout, shape);
          const v = checkPlan(plan, mask);
          if (v.length) throw new AttnbenchError('internal', `${scheme} plan for ${family} S=${seqlen} P=${world} fails the checker: ${v[0].message}`);
          const tracePath = grid.traceDir ? path.join(grid.traceDir, `${plan.scheme}-${gm.family}-${plan.seqlen}-P${plan.world}.trace.json`) : undefined;
          cases.push({ plan, mask, family: gm.family, maskParams: gm.params, seed: gm.seed, check: grid.check, timeoutMs: grid.timeoutMs, tracePath });
        }
    }
  return cases;
}

export interface RunCpOptions {
  /** Result rows (JSONL), appended as measured. */
  readonly out: string;
  readonly resume: boolean;
  /** With resume: statuses whose cases run again. */
  readonly retry: readonly Status[];
  /** Environment of the rows of failed cases. */
  readonly env: Environment;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface RunCpResult {
  readonly rows: readonly ResultRow[];
  readonly cases: number;
  /** Cases --resume left out. */
  readonly skipped: number;
  /** Cases that did not end ok: an error from the executor, or a row whose status is not ok. */
  readonly failed: number;
}

export async function runCp(cases: readonly CpRunRequest[], executor: CpExecutor, o: RunCpOptions): Promise<RunCpResult> {
  const log = o.log ?? (() => {});
  const settled = o.resume ? doneCaseIds(readJsonl(o.out), o.retry) : null;
  const todo = settled ? cases.filter((req) => !cpDirections(req).every((d) => settled.has(cpCaseId(executor.runner, req, d)))) : cases;
  const rows: ResultRow[] = [];
  // Each case id gets one row: a case runs both directions together, so a case resumed for its one
  // unsettled direction would write the settled one again, and a case that fails after streaming
  // its fwd row would add a failed fwd row; such rows are dropped (emit returns false).
  const written = new Set<string>(settled ?? []);
  const emit = (row: ResultRow): boolean => {
    const id = caseIdOfRow(row);
    if (written.has(row.id) || written.has(id)) return false;
    written.add(row.id).add(id);
    appendJsonl(o.out, row);
    rows.push(row);
    return true;
  };
  const failedCases = new Set<number>();
  const label = (req: CpRunRequest) => `${req.plan.scheme} ${req.family} S=${formatTokens(req.plan.seqlen)} P=${req.plan.world}`;
  const failedRow = (req: CpRunRequest, d: Direction, status: 'error' | 'timeout', message: string) =>
    executor.failedRow ? executor.failedRow(req, d, status, message) : cpFailedRow(executor.runner, req, d, status, message, o.env);
  const fail = (n: number, e: Error) => {
    const req = todo[n];
    failedCases.add(n);
    log(`${label(req)}: ${e.message}`);
    const status = e instanceof AttnbenchError && e.code === 'timeout' ? 'timeout' : 'error';
    for (const direction of cpDirections(req)) emit(failedRow(req, direction, status, e.message));
  };
  const reported = new Set<number>();
  const report: CpCaseReport = (n, outcome) => {
    if (!Number.isInteger(n) || n < 0 || n >= todo.length || reported.has(n)) throw new AttnbenchError('internal', `the ${executor.id} executor reported case ${n} of ${todo.length} twice or out of range`);
    if ('error' in outcome) return (reported.add(n), fail(n, outcome.error));
    if (!outcome.more) reported.add(n);
    for (const row of outcome.rows) if (emit(row) && row.status !== 'ok') failedCases.add(n);
  };
  if (executor.runBatch && todo.length) {
    log(`running ${todo.length} case(s) in one batch on the ${executor.id} executor ...`);
    let ended: Error | null = null;
    try {
      await executor.runBatch(todo, report);
    } catch (e) {
      if (e instanceof CpBatchRefused || (e instanceof AttnbenchError && e.code === 'internal')) throw e;
      ended = e as Error;
    }
    todo.forEach((req, n) => {
      if (!reported.has(n)) report(n, { error: ended ?? new AttnbenchError('worker', `the ${executor.id} executor ended without a result for this case`) });
    });
  } else await runCaseByCase(executor, todo, report, (req) => log(`running ${label(req)} ...`));
  return { rows, cases: cases.length, skipped: cases.length - todo.length, failed: failedCases.size };
}

/** The default batch: each case through executor.run, one after another. */
export async function runCaseByCase(executor: CpExecutor, reqs: readonly CpRunRequest[], report: CpCaseReport, starting?: (req: CpRunRequest) => void): Promise<void> {
  for (const [n, req] of reqs.entries()) {
    starting?.(req);
    let outcome: CpCaseOutcome;
    try {
      outcome = { rows: (await executor.run(req)).rows };
    } catch (e) {
      outcome = { error: e as Error };
    }
    report(n, outcome);
  }
}

/** The closing line of a CP run: rows written, or that --resume found everything there. */
export function cpRunSummary(r: RunCpResult, out: string): string {
  return `${r.rows.length} row(s) -> ${out}${r.cases - r.skipped ? '' : `: all ${r.cases} case(s) already in it (--resume)`}`;
}
