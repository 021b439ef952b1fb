// The flattened columns of the results table: one list that drives the DDL, the insert and the
// CSV/Parquet export, so a column is added in exactly one place. The full row is kept beside them
// as JSON (`row`), so nothing the schema carries is lost by flattening.
import { caseIdOfRow } from '../results/case-id.js';
import type { ResultRow } from '../results/schema.js';

export type SqlType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'JSON';

export interface Column {
  readonly name: string;
  readonly type: SqlType;
  readonly get: (r: ResultRow) => string | number | boolean | null;
}

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/** Sorted-key JSON: equal objects give equal text (used for keys and hashes). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

export const COLUMNS: readonly Column[] = [
  { name: 'id', type: 'VARCHAR', get: (r) => r.id },
  { name: 'env_date', type: 'VARCHAR', get: (r) => r.env.date },
  { name: 'simulated', type: 'BOOLEAN', get: (r) => r.simulated },
  { name: 'suite', type: 'VARCHAR', get: (r) => r.suite },
  { name: 'executor', type: 'VARCHAR', get: (r) => r.executor },
  { name: 'kernel', type: 'VARCHAR', get: (r) => r.kernel },
  { name: 'scheme', type: 'VARCHAR', get: (r) => r.scheme },
  { name: 'family', type: 'VARCHAR', get: (r) => r.family },
  { name: 'mask_params', type: 'JSON', get: (r) => canonicalJson(r.maskParams) },
  { name: 'seed', type: 'BIGINT', get: (r) => r.seed },
  { name: 'seqlen', type: 'BIGINT', get: (r) => r.seqlen },
  { name: 'batch', type: 'INTEGER', get: (r) => r.batch },
  { name: 'heads_q', type: 'INTEGER', get: (r) => r.headsQ },
  { name: 'heads_kv', type: 'INTEGER', get: (r) => r.headsKv },
  { name: 'head_dim', type: 'INTEGER', get: (r) => r.headDim },
  { name: 'dtype', type: 'VARCHAR', get: (r) => r.dtype },
  { name: 'direction', type: 'VARCHAR', get: (r) => r.direction },
  { name: 'world', type: 'INTEGER', get: (r) => r.world },
  { name: 'layout', type: 'JSON', get: (r) => (r.layout ? canonicalJson(r.layout) : null) },
  { name: 'status', type: 'VARCHAR', get: (r) => r.status },
  { name: 'message', type: 'VARCHAR', get: (r) => r.message },
  { name: 'area', type: 'DOUBLE', get: (r) => r.area },
  { name: 'flops', type: 'DOUBLE', get: (r) => r.flops },
  { name: 'median_ms', type: 'DOUBLE', get: (r) => r.times?.medianMs ?? null },
  { name: 'p20_ms', type: 'DOUBLE', get: (r) => r.times?.p20Ms ?? null },
  { name: 'p80_ms', type: 'DOUBLE', get: (r) => r.times?.p80Ms ?? null },
  { name: 'compile_ms', type: 'DOUBLE', get: (r) => r.times?.compileMs ?? null },
  { name: 'tflops', type: 'DOUBLE', get: (r) => r.tflops },
  { name: 'tflops_mean_rank', type: 'DOUBLE', get: (r) => r.tflopsMeanRank ?? null },
  { name: 'peak_delta_bytes', type: 'DOUBLE', get: (r) => r.memory?.peakDeltaBytes ?? null },
  { name: 'peak_total_bytes', type: 'DOUBLE', get: (r) => r.memory?.peakTotalBytes ?? null },
  { name: 'err_out_max_abs', type: 'DOUBLE', get: (r) => r.error?.out?.maxAbs ?? null },
  { name: 'err_max_abs', type: 'DOUBLE', get: (r) => maxAbsError(r) },
  { name: 'exceeds_tolerance', type: 'BOOLEAN', get: (r) => r.error?.exceedsTolerance ?? null },
  { name: 'notes', type: 'JSON', get: (r) => json(r.notes) },
  { name: 'gpu', type: 'VARCHAR', get: (r) => r.env.gpu },
  { name: 'host', type: 'VARCHAR', get: (r) => r.env.host },
  { name: 'git_rev', type: 'VARCHAR', get: (r) => r.env.gitRev },
  // The case in the one id grammar (src/results/case-id.ts): rows written under an older grammar
  // share it with new rows of the same case, so the newest of them wins (latestSql).
  { name: 'case_id', type: 'VARCHAR', get: (r) => caseIdOfRow(r) },
];

/** Largest max-abs error over every tensor compared (out, lse, dq, dk, dv); null when unchecked. */
export function maxAbsError(r: ResultRow): number | null {
  const e = r.error;
  if (!e) return null;
  const xs = [e.out, e.lse, e.dq, e.dk, e.dv].filter((m) => m !== undefined).map((m) => m!.maxAbs);
  return xs.length ? Math.max(...xs) : null;
}

/** Primary key: one stored row per (case id, run date, measured/simulated). See store.ts. */
export const KEY_COLUMNS = ['id', 'env_date', 'simulated'] as const;
