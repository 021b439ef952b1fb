// Terminal tables of result rows: (kernel or scheme, family, direction) x seqlen -> TFLOP/s or status.
import Table from 'cli-table3';
import type { ResultRow } from '../results/schema.js';
import { formatTokens } from '../util/parse.js';

export function cell(r: ResultRow | undefined): string {
  if (!r) return '';
  if (r.status !== 'ok') return r.status;
  const t = r.tflops ?? 0;
  const v = t >= 100 ? t.toFixed(0) : t >= 1 ? t.toFixed(1) : t >= 0.01 ? t.toFixed(3) : t.toExponential(1);
  return r.error?.exceedsTolerance ? `${v}!` : v;
}

/** Rows grouped by (name, family, direction), one column per seqlen. `!` marks an error over tolerance. */
export function throughputTable(rows: readonly ResultRow[], unit = 'TFLOP/s'): string {
  const seqlens = [...new Set(rows.map((r) => r.seqlen))].sort((a, b) => a - b);
  const key = (r: ResultRow) => `${r.kernel ?? ''}${r.scheme ? `${r.kernel ? '+' : ''}${r.scheme}` : ''}\u0000${r.family}\u0000${r.direction}\u0000${r.world}`;
  const groups = new Map<string, Map<number, ResultRow>>();
  for (const r of rows) {
    const k = key(r);
    if (!groups.has(k)) groups.set(k, new Map());
    groups.get(k)!.set(r.seqlen, r);
  }
  const withWorld = rows.some((r) => r.world > 1);
  const head = ['kernel/scheme', 'family', 'dir', ...(withWorld ? ['P'] : []), ...seqlens.map(formatTokens)];
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const [k, bySeq] of groups) {
    const [name, family, dir, world] = k.split('\u0000');
    t.push([name, family, dir, ...(withWorld ? [world] : []), ...seqlens.map((s) => cell(bySeq.get(s)))]);
  }
  return `${t.toString()}\n(${unit}${rows.some((r) => r.error?.exceedsTolerance) ? '; ! = error above tolerance' : ''})`;
}
