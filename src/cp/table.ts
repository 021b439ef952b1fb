// Terminal tables for CP plans and runs (pure formatting).
import Table from 'cli-table3';
import type { ResultRow } from '../results/schema.js';
import { formatTokens } from '../util/parse.js';
import { summarizeStats } from './stats.js';
import type { Plan, PlanStats } from './types.js';

export function fmtBytes(b: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = b;
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x >= 100 || i === 0 ? x.toFixed(0) : x.toFixed(1)} ${u[i]}`;
}

export function fmtFlops(f: number): string {
  const u = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  let x = f;
  while (x >= 1000 && i < u.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x >= 100 || i === 0 ? x.toFixed(0) : x.toFixed(2)}${u[i]}`;
}

const tokensOf = (p: Plan, r: number) => p.ranks[r].owned.reduce((a, x) => a + x.end - x.start, 0);

/** Per-rank table (first and last ranks when there are many) and a summary line. */
export function planStatsTable(plan: Plan, s: PlanStats, maxRows = 16): string {
  const t = new Table({
    head: ['rank', 'tokens', 'FLOPs fwd', 'FLOPs bwd', 'sent fwd', 'recv fwd', 'sent bwd', 'recv bwd', 'steps f/b', 'peak buffers'],
    style: { head: [], border: [] },
  });
  const P = plan.world;
  const show = P <= maxRows ? [...Array(P).keys()] : [...[...Array(maxRows / 2).keys()], ...[...Array(maxRows / 2).keys()].map((i) => P - maxRows / 2 + i)];
  show.forEach((r, n) => {
    if (n > 0 && r !== show[n - 1] + 1) t.push(['...', '', '', '', '', '', '', '', '', '']);
    t.push([
      r,
      tokensOf(plan, r),
      fmtFlops(s.flopsFwd[r]),
      fmtFlops(s.flopsBwd[r]),
      fmtBytes(s.bytesSentFwd[r]),
      fmtBytes(s.bytesRecvFwd[r]),
      fmtBytes(s.bytesSentBwd[r]),
      fmtBytes(s.bytesRecvBwd[r]),
      `${s.stepsFwd[r]}/${s.stepsBwd[r]}`,
      fmtBytes(s.peakBufferBytes[r]),
    ]);
  });
  const m = summarizeStats(s);
  const layout = Object.entries(plan.layout)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [
    `${plan.scheme} P=${P} S=${formatTokens(plan.seqlen)} heads ${plan.shape.headsQ}:${plan.shape.headsKv} D=${plan.shape.headDim}${layout ? ` layout ${layout}` : ''}`,
    t.toString(),
    `imbalance ${m.imbalance.toFixed(4)} | FLOPs fwd ${fmtFlops(m.flopsFwd)} bwd ${fmtFlops(m.flopsBwd)} | bytes fwd ${fmtBytes(m.bytesFwd)} bwd ${fmtBytes(m.bytesBwd)} | max steps ${m.maxStepsFwd}/${m.maxStepsBwd} | max peak ${fmtBytes(m.maxPeakBufferBytes)}`,
  ].join('\n');
}

/** One line per result row of `cp run`. */
export function cpRunTable(rows: readonly ResultRow[]): string {
  const t = new Table({
    head: ['scheme', 'family', 'S', 'P', 'dir', 'status', 'slowest ms', 'mean ms', 'TFLOP/s/rank', 'max abs err'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    const ms = r.ranks?.map((x) => x.ms) ?? [];
    const err = r.error
      ? Math.max(...Object.values(r.error).flatMap((v) => (typeof v === 'object' && v && 'maxAbs' in v ? [v.maxAbs as number] : [])))
      : NaN;
    t.push([
      r.scheme ?? '',
      r.family,
      formatTokens(r.seqlen),
      r.world,
      r.direction,
      r.status === 'ok' && r.error?.exceedsTolerance ? 'ok (error!)' : r.status,
      ms.length ? Math.max(...ms).toFixed(1) : '',
      ms.length ? (ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(1) : '',
      r.tflops == null ? '' : r.tflops.toExponential(2),
      Number.isNaN(err) ? '' : err.toExponential(1),
    ]);
  }
  return t.toString();
}
