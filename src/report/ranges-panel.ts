// Report panel of issue 13: our triton_ranges against the best other kernel of the same case, as a
// ratio of TFLOP/s, per family, S, heads and direction; and against flex, the kernel it replaces.
// Only measured `ok` rows within tolerance count; the latest row of each kernel per case is used
// (a case: family, parameters, shape and direction, whichever suite measured it).
// "same run" says whether ours and the best other were measured on one host within 6 hours (the
// issue's targets are ratios from one device call).
import type { ResultRow } from '../results/schema.js';
import type { TableModel } from './tables.js';

export const RANGES_KERNEL = 'triton_ranges';
const SAME_RUN_MS = 6 * 3600 * 1000;

/** A mask's parameters in name order, `k=v` joined by `sep` (one case, one spelling, whatever order a row lists them in). */
export function paramsLabel(params: ResultRow['maskParams'], sep: string): string {
  return Object.entries(params)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(sep);
}

// The case without its suite: the sparse preset's block_sparse cases and the same cases named by
// flags (suite 'kernel') are one measurement definition, so the latest row of each kernel wins.
function caseKey(r: ResultRow): string {
  return [r.family, paramsLabel(r.maskParams, ','), r.seqlen, r.batch, r.headsQ, r.headsKv, r.headDim, r.dtype, r.direction].join('|');
}

const usable = (r: ResultRow) => !r.simulated && r.status === 'ok' && r.tflops !== null && r.kernel !== null && !r.error?.exceedsTolerance && (r.suite === 'kernel' || r.suite === 'sparse');

export function sameRun(a: ResultRow, b: ResultRow): boolean {
  return a.env.host === b.env.host && Math.abs(Date.parse(a.env.date) - Date.parse(b.env.date)) <= SAME_RUN_MS;
}

export interface RangesRatio {
  readonly key: string;
  readonly ours: ResultRow;
  readonly best: ResultRow | null;
  readonly flex: ResultRow | null;
}

/** Per case that triton_ranges ran: its row, the fastest other kernel's and flex's. */
export function rangesRatios(rows: readonly ResultRow[]): RangesRatio[] {
  const latest = new Map<string, Map<string, ResultRow>>();
  for (const r of rows) {
    if (!usable(r)) continue;
    const k = caseKey(r);
    const m = latest.get(k) ?? latest.set(k, new Map()).get(k)!;
    const prev = m.get(r.kernel!);
    if (!prev || prev.env.date <= r.env.date) m.set(r.kernel!, r);
  }
  const out: RangesRatio[] = [];
  for (const [key, m] of latest) {
    const ours = m.get(RANGES_KERNEL);
    if (!ours) continue;
    let best: ResultRow | null = null;
    for (const [id, r] of m) if (id !== RANGES_KERNEL && (!best || r.tflops! > best.tflops!)) best = r;
    out.push({ key, ours, best, flex: m.get('flex') ?? null });
  }
  return out.sort((a, b) => a.ours.family.localeCompare(b.ours.family) || a.ours.seqlen - b.ours.seqlen || a.key.localeCompare(b.key));
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

/**
 * A flex row that evaluated its partial blocks with our slice predicate (rows before 2026-12-06): a
 * slower mask_mod than per-row key ranges (flex's document backward 1.7-2.5x slower on an H100), so a
 * ratio against it flatters ours. Marked in the table, not dropped.
 */
export function flexSlowForm(r: ResultRow): boolean {
  return r.kernel === 'flex' && (r.notes ?? []).some((n) => n.includes('slice mask_mod') || n.includes('mask_mod over the slice predicate'));
}

export function rangesTable(rows: readonly ResultRow[]): TableModel {
  const ratios = rangesRatios(rows);
  return {
    title: 'triton_ranges vs the best other kernel (TFLOP/s ratio, > 1: ours is faster)',
    head: ['family', 'params', 'S', 'heads', 'direction', 'ours', 'best other', 'ours / best', 'ours / flex', 'same run'],
    rows: ratios.map(({ ours, best, flex }) => [
      ours.family,
      paramsLabel(ours.maskParams, ' ') || '-',
      String(ours.seqlen),
      `${ours.headsQ}:${ours.headsKv} d${ours.headDim}`,
      ours.direction,
      fmt(ours.tflops!),
      best ? `${best.kernel} ${fmt(best.tflops!)}` : '-',
      best ? (ours.tflops! / best.tflops!).toFixed(2) : '-',
      flex ? (ours.tflops! / flex.tflops!).toFixed(2) + (flexSlowForm(flex) ? ' *' : '') : '-',
      best ? (sameRun(ours, best) ? 'yes' : 'no') : '-',
    ]),
    note:
      'Rows over tolerance, simulated rows and failed cases do not count. Where a ratio is below 1, ours loses. ' +
      '*: that flex row evaluated its partial blocks with the slice predicate, a mask_mod slower than the per-row key ranges flex takes since 2026-12-06 (its document backward 1.7-2.5x slower on an H100), so the ratio overstates ours.',
  };
}
