// Per-rank timelines as Chrome / Perfetto trace JSON: one process per rank (pid = rank), thread 0
// for compute (and waiting), thread 1 for communication in flight; 'X' spans in microseconds.
import type { Span } from './rank.js';

export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly ts?: number;
  readonly dur?: number;
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface ChromeTrace {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: 'ms';
  readonly metadata: Readonly<Record<string, unknown>>;
}

export function chromeTrace(spans: readonly (readonly Span[])[], metadata: Readonly<Record<string, unknown>>): ChromeTrace {
  const ev: TraceEvent[] = [];
  spans.forEach((list, rank) => {
    ev.push({ name: 'process_name', ph: 'M', pid: rank, tid: 0, args: { name: `rank ${rank}` } });
    ev.push({ name: 'thread_name', ph: 'M', pid: rank, tid: 0, args: { name: 'compute' } });
    ev.push({ name: 'thread_name', ph: 'M', pid: rank, tid: 1, args: { name: 'communication' } });
    for (const s of list) {
      ev.push({
        name: s.name,
        cat: s.cat,
        ph: 'X',
        pid: rank,
        tid: s.cat === 'comm' ? 1 : 0,
        ts: Math.round(s.t0 * 1000),
        dur: Math.max(0, Math.round((s.t1 - s.t0) * 1000)),
        args: { phase: s.phase, step: s.step },
      });
    }
  });
  return { traceEvents: ev, displayTimeUnit: 'ms', metadata };
}
