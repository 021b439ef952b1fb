// CP timelines (pure): a Chrome/Perfetto trace ({traceEvents: [{name, ph: 'X', ts, dur, pid, tid}]},
// times in microseconds, pid = rank, tid = compute | comm) drawn as an SVG: one lane per rank,
// split into a compute row and a communication row so overlap is visible.
//
//   rank 0 | [attn ][attn   ][merge]      compute
//          |    [send/recv ]   [a2a]      comm
//   rank 1 | ...
import { z } from 'zod';
import { escapeHtml } from './tables.js';

// Metadata events (ph 'M': process and thread names) carry no timestamp; complete events must.
const TraceEventSchema = z.object({
  name: z.string(),
  ph: z.string(),
  ts: z.number().optional(),
  dur: z.number().optional(),
  pid: z.union([z.number(), z.string()]),
  tid: z.union([z.number(), z.string()]).optional(), // absent on process metadata
  cat: z.string().optional(),
  args: z.record(z.string(), z.unknown()).optional(),
});
export type TraceEvent = z.infer<typeof TraceEventSchema>;

/** Both forms Chrome accepts: an object with traceEvents, or a bare array of events. */
const TraceSchema = z.union([
  z.object({ traceEvents: z.array(TraceEventSchema) }).passthrough(),
  z.array(TraceEventSchema).transform((traceEvents) => ({ traceEvents })),
]);
export type Trace = { readonly traceEvents: readonly TraceEvent[] };

export function parseTrace(value: unknown, what = 'trace'): Trace {
  const r = TraceSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${what}: not a Chrome trace: ${i.path.join('.') || 'root'}: ${i.message}`);
  }
  return r.data;
}

export type Lane = 'compute' | 'comm';

/** Communication when the thread or category says so (comm, nccl, send, recv, collectives). */
export function laneOf(e: TraceEvent): Lane {
  const text = `${String(e.tid ?? '')} ${e.cat ?? ''}`;
  return /comm|nccl|send|recv|all_?to_?all|all_?gather|reduce|p2p/i.test(text) ? 'comm' : 'compute';
}

export const LANE_COLORS: Readonly<Record<Lane, string>> = { compute: '#4c78a8', comm: '#f58518' };

export interface TimelineOptions {
  readonly title?: string;
  /** Width of the drawing area in px (without the rank labels). */
  readonly width?: number;
  readonly rowHeight?: number;
}

/** Round tick step for a span: 1, 2 or 5 times a power of ten, about `n` ticks. */
export function tickStep(span: number, n = 8): number {
  if (span <= 0) return 1;
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

const fmt = (x: number) => String(Number(x.toPrecision(6)));

/** SVG picture of the complete ('X') events of a trace. */
export function timelineSvg(trace: Trace, opts: TimelineOptions = {}): string {
  const events = trace.traceEvents.filter((e): e is TraceEvent & { ts: number; dur: number } => e.ph === 'X' && e.dur !== undefined && e.ts !== undefined);
  const ranks = [...new Set(events.map((e) => e.pid))].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
  const width = opts.width ?? 900;
  const rowH = opts.rowHeight ?? 14;
  const laneGap = 8;
  const left = 70;
  const top = opts.title ? 44 : 20;
  const laneH = 2 * rowH;
  const t0 = events.length ? Math.min(...events.map((e) => e.ts)) : 0;
  const t1 = events.length ? Math.max(...events.map((e) => e.ts + e.dur!)) : 1;
  const spanUs = Math.max(t1 - t0, 1e-9);
  const x = (us: number) => left + ((us - t0) / spanUs) * width;
  const axisY = top + ranks.length * (laneH + laneGap);
  const height = axisY + 56;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" viewBox="0 0 ${left + width + 20} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  );
  if (opts.title) out.push(`<text x="10" y="22" font-size="14" font-weight="bold">${escapeHtml(opts.title)}</text>`);
  ranks.forEach((rank, i) => {
    const y = top + i * (laneH + laneGap);
    out.push(`<g class="lane" data-rank="${escapeHtml(String(rank))}">`);
    out.push(`<rect x="${left}" y="${y}" width="${width}" height="${laneH}" fill="#f7f7f7"/>`);
    out.push(`<text class="lane-label" x="${left - 8}" y="${y + laneH / 2 + 4}" text-anchor="end">rank ${escapeHtml(String(rank))}</text>`);
    for (const e of events.filter((ev) => ev.pid === rank)) {
      const lane = laneOf(e);
      const ey = y + (lane === 'compute' ? 0 : rowH) + 1;
      const w = Math.max(((e.dur ?? 0) / spanUs) * width, 0.5);
      const tip = `${e.name} (${lane}) ${fmt((e.ts - t0) / 1000)} ms + ${fmt(e.dur! / 1000)} ms`;
      out.push(
        `<rect class="ev ev-${lane}" x="${fmt(x(e.ts))}" y="${ey}" width="${fmt(w)}" height="${rowH - 2}" fill="${LANE_COLORS[lane]}" stroke="white" stroke-width="0.5"><title>${escapeHtml(tip)}</title></rect>`,
      );
    }
    out.push('</g>');
  });
  // Time axis in milliseconds from the first event.
  const stepUs = tickStep(spanUs / 1000) * 1000;
  out.push(`<line x1="${left}" y1="${axisY}" x2="${left + width}" y2="${axisY}" stroke="#333"/>`);
  for (let t = 0; t <= spanUs + 1e-9; t += stepUs) {
    const tx = fmt(x(t0 + t));
    out.push(`<line x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 4}" stroke="#333"/>`);
    out.push(`<text class="tick" x="${tx}" y="${axisY + 16}" text-anchor="middle">${fmt(t / 1000)}</text>`);
  }
  out.push(`<text x="${left + width / 2}" y="${axisY + 32}" text-anchor="middle">time (ms)</text>`);
  // Legend.
  (['compute', 'comm'] as const).forEach((lane, i) => {
    const lx = left + i * 130;
    out.push(`<rect x="${lx}" y="${axisY + 40}" width="12" height="10" fill="${LANE_COLORS[lane]}"/>`);
    out.push(`<text x="${lx + 16}" y="${axisY + 49}">${lane === 'comm' ? 'communication' : 'compute'}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
