import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttnbenchError } from '../../errors.js';
import type { ResultRow } from '../../results/schema.js';
import { cpuEnvironment } from '../../util/env.js';
import { readJsonl } from '../../util/jsonl.js';
import { planCpCases, runCp, type CpCaseGrid } from './run-cp.js';
import { cpCaseId, cpFailedRow } from './rows.js';
import { CpBatchRefused, type CpCaseReport, type CpExecutor, type CpRunRequest } from './types.js';

const env = cpuEnvironment();
const grid: CpCaseGrid = {
  schemes: ['ring_p2p', 'ulysses'],
  worlds: [2],
  families: ['causal'],
  seqlens: [64, 128],
  layout: {},
  shape: { headsQ: 4, headsKv: 2, headDim: 8 },
  seed: 0,
  params: {},
  check: false,
  timeoutMs: 1000,
};
const runner = { id: 'torch', kernel: 'reference', dtype: 'float32', launch: 'virtual2', device: 'cpu' } as const;
/** Rows a fake executor "measures": the failed-row shape, status ok, with a recognisable message. */
const measured = (req: CpRunRequest): ResultRow[] => (['fwd', 'bwd'] as const).map((d) => ({ ...cpFailedRow(runner, req, d, 'error', 'measured', env), status: 'ok' as const }));

function fake(batch: ((reqs: readonly CpRunRequest[], report: CpCaseReport) => Promise<void>) | null, calls: number[][]): CpExecutor {
  const ex: CpExecutor = {
    id: 'torch',
    runner,
    dtype: 'float32',
    dtypeBytes: 4,
    run: async (req) => {
      calls.push([req.plan.seqlen]);
      if (req.plan.seqlen === 128 && req.plan.scheme === 'ulysses') throw new AttnbenchError('timeout', 'too slow');
      return { rows: measured(req), trace: { traceEvents: [] } as never };
    },
    close: async () => {},
  };
  return batch ? { ...ex, runBatch: async (reqs, report) => (calls.push(reqs.map((r) => r.plan.seqlen)), batch(reqs, report)) } : ex;
}

const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'runcp-')), 'rows.jsonl');

describe('runCp', () => {
  const cases = planCpCases(grid, 4);

  it('runs case by case without runBatch, and writes timeout / error rows for the cases that fail', async () => {
    const calls: number[][] = [];
    const out = tmp();
    const r = await runCp(cases, fake(null, calls), { out, resume: false, retry: [], env });
    expect(calls).toHaveLength(4);
    expect(r.failed).toBe(1);
    const rows = readJsonl<ResultRow>(out);
    expect(rows.map((x) => x.status === 'timeout')).toEqual([false, false, false, false, false, false, true, true]);
    expect(rows[6].message).toBe('too slow');
  });

  it('hands a batch executor every remaining case in one call; unreported cases get the error it threw', async () => {
    const calls: number[][] = [];
    const out = tmp();
    const ex = fake(async (reqs, report) => {
      report(1, { rows: measured(reqs[1]) });
      report(0, { error: new AttnbenchError('timeout', 'rank 1 stuck at step 3') });
      throw new AttnbenchError('worker', 'the launcher died');
    }, calls);
    const r = await runCp(cases, ex, { out, resume: false, retry: [], env });
    expect(calls).toEqual([[64, 64, 128, 128]]);
    expect(r.failed).toBe(3);
    const rows = readJsonl<ResultRow>(out);
    expect(rows.map((x) => `${x.status}:${x.message}`)).toEqual([
      'ok:measured', 'ok:measured',
      'timeout:rank 1 stuck at step 3', 'timeout:rank 1 stuck at step 3',
      'error:the launcher died', 'error:the launcher died',
      'error:the launcher died', 'error:the launcher died',
    ]);
    expect(rows[0].id).toBe(cpCaseId(runner, cases[1], 'fwd'));
  });

  it('resumes a batch executor: settled cases are not handed to it, silent ones get a row saying so', async () => {
    const out = tmp();
    for (const req of cases.slice(0, 3)) for (const row of measured(req)) fs.appendFileSync(out, `${JSON.stringify(row)}\n`);
    const calls: number[][] = [];
    const r = await runCp(cases, fake(async () => {}, calls), { out, resume: true, retry: [], env });
    expect(calls).toEqual([[128]]);
    expect(r.skipped).toBe(3);
    expect(r.rows.map((x) => x.message)).toEqual(['the torch executor ended without a result for this case', 'the torch executor ended without a result for this case']);
    const again = await runCp(cases, fake(async () => {}, calls), { out, resume: true, retry: [], env });
    expect(again.skipped).toBe(4);
    expect(calls).toHaveLength(1);
  });

  it('resumes a case with one direction settled (its other row lost to a kill or a torn line): only the missing row is written', async () => {
    const out = tmp();
    const [fwd] = measured(cases[0]);
    fs.appendFileSync(out, `${JSON.stringify({ ...fwd, message: 'first run' })}\n`);
    const calls: number[][] = [];
    const r = await runCp(cases.slice(0, 1), fake(null, calls), { out, resume: true, retry: [], env });
    expect(calls).toEqual([[64]]); // the case runs again (both directions together)
    expect(r.skipped).toBe(0);
    expect(r.rows.map((x) => `${x.direction}:${x.message}`)).toEqual(['bwd:measured']);
    const rows = readJsonl<ResultRow>(out);
    expect(rows.map((x) => `${x.direction}:${x.message}`)).toEqual(['fwd:first run', 'bwd:measured']);
  });

  it('refuses a report out of range or twice', async () => {
    const ex = fake(async (reqs, report) => (report(0, { rows: measured(reqs[0]) }), report(0, { rows: [] })), []);
    await expect(runCp(cases, ex, { out: tmp(), resume: false, retry: [], env })).rejects.toThrow(/reported case 0 of 4 twice/);
  });

  it('streams rows of an open case (more: true); a case left open gets failed rows; non-ok rows count as failed', async () => {
    const out = tmp();
    const ex = fake(async (reqs, report) => {
      const [fwd, bwd] = measured(reqs[0]);
      report(0, { rows: [fwd], more: true });
      expect(readJsonl<ResultRow>(out)).toHaveLength(1); // written as reported, before the case ends
      report(0, { rows: [bwd] });
      report(1, { rows: measured(reqs[1]).map((r) => ({ ...r, status: 'oom' as const })) });
      report(2, { rows: measured(reqs[2]).slice(0, 1), more: true });
    }, []);
    const r = await runCp(cases, ex, { out, resume: false, retry: [], env });
    // case 2 streamed its fwd row, then was left open: only its bwd gets a failed row (one row per id)
    expect(r.rows.map((x) => `${x.direction}:${x.status}`)).toEqual(['fwd:ok', 'bwd:ok', 'fwd:oom', 'bwd:oom', 'fwd:ok', 'bwd:error', 'fwd:error', 'bwd:error']);
    const ids = readJsonl<ResultRow>(out).map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(r.failed).toBe(3);
  });

  it('a batch refused before its first case: its error, and no rows for the cases left', async () => {
    const out = tmp();
    const ex = fake(async () => {
      throw new CpBatchRefused('unavailable', 'python not found', 2);
    }, []);
    await expect(runCp(cases, ex, { out, resume: false, retry: [], env })).rejects.toThrow(CpBatchRefused);
    expect(fs.existsSync(out)).toBe(false);
  });

  it("an executor's own failed rows (failedRow) replace cpFailedRow's", async () => {
    const out = tmp();
    const base = fake(async () => {}, []);
    const ex: CpExecutor = { ...base, failedRow: (req, d, status, message) => ({ ...cpFailedRow(runner, req, d, status, message, env), notes: ['own'] }) };
    const r = await runCp(cases.slice(0, 1), ex, { out, resume: false, retry: [], env });
    expect(r.rows.map((x) => x.notes)).toEqual([['own'], ['own']]);
  });
});
