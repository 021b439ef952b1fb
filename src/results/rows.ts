// Facts about a result row that more than one part reads (simulator, report).
import type { ResultRow } from './schema.js';

/** Rows measured with every rank of the plan in one process on one GPU (no real network). */
export function isVirtualRanks(r: ResultRow): boolean {
  return r.layout?.virtualRanks !== undefined || /virtual/.test(r.executor) || (r.notes ?? []).some((n) => /^virtual ranks/i.test(n));
}
