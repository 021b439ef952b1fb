// The one resume rule, for `kernels`, `cp run` and `attnbench run`: a case is done when the LAST row
// of its id in --out has a status not listed in --retry (default: none, so every case with a row is
// done; `--retry error,timeout` runs those again). Ids are recomputed from each row's fields
// (caseIdOfRow), so rows written under an older id grammar count too. Pure: the caller reads the file.
import { caseIdOfRow } from './case-id.js';
import { badInput } from '../errors.js';
import { parseIdList } from '../ids.js';
import { ResultRowSchema, STATUSES, type ResultRow, type Status } from './schema.js';

/** --retry: statuses whose cases --resume runs again (unknown ones, and ok, a measurement rather than a failure: exit 2). */
export function parseRetry(text: string): Status[] {
  const s = parseIdList(STATUSES, text, '--retry');
  if (s.includes('ok')) throw badInput(`--retry ${text}: ok rows are measured, not failed; to measure them again write to a new --out`);
  return s;
}

/** Ids of the cases `rows` (in file order) settle: their last row's status is not in `retry`. */
export function doneCaseIds(rows: readonly unknown[], retry: readonly Status[] = []): Set<string> {
  const last = new Map<string, Status>();
  for (const raw of rows) {
    const p = ResultRowSchema.safeParse(raw);
    if (!p.success) continue; // not a row of ours: the strict readers report it; here it settles nothing
    const r: ResultRow = p.data;
    last.set(caseIdOfRow(r), r.status);
    last.set(r.id, r.status);
  }
  return new Set([...last].filter(([, s]) => !retry.includes(s)).map(([id]) => id));
}
