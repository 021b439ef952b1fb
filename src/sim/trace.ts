// Chrome / Perfetto traces of simulated timelines: the event type, lanes and the JSON wrapper.
/**
 * One Chrome trace event (ph 'X': a complete event with ts/dur in microseconds; 'M': metadata),
 * laid out like the CP executor's traces: pid = rank, tid 0 = compute, tid >= 1 = communication;
 * `cat` names the lane for readers that do not look at thread names.
 */
export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'M';
  readonly cat?: 'compute' | 'comm';
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  readonly args?: Readonly<Record<string, string | number>>;
}

export const TID_COMPUTE = 0;
/** Communication channel c of a rank is drawn on thread TID_COMM + c (0: the default group). */
export const TID_COMM = 1;

/** Names of compute steps in traces (compile.ts records their index per compute step). */
export const COMPUTE_NAMES = ['attn', 'attn_bwd', 'merge', 'accumulate', 'copy'] as const;

/** Process and thread names of one rank (compute lane, then one lane per communication channel). */
export function rankLanes(trace: TraceEvent[], rank: number, chanNames: readonly string[]): void {
  trace.push({ name: 'process_name', ph: 'M', pid: rank, tid: 0, ts: 0, args: { name: `rank ${rank}` } });
  trace.push({ name: 'thread_name', ph: 'M', pid: rank, tid: TID_COMPUTE, ts: 0, args: { name: 'compute' } });
  chanNames.forEach((name, ch) => trace.push({ name: 'thread_name', ph: 'M', pid: rank, tid: TID_COMM + ch, ts: 0, args: { name } }));
}

/** Chrome / Perfetto trace JSON of a simulated timeline. */
export function chromeTrace(result: { readonly trace: readonly TraceEvent[] | null; readonly direction: string }, meta: Readonly<Record<string, string | number>> = {}): { traceEvents: readonly TraceEvent[]; displayTimeUnit: 'ms'; metadata: Record<string, string | number> } {
  if (!result.trace) throw new Error('simulation ran without trace: true');
  return { traceEvents: result.trace, displayTimeUnit: 'ms', metadata: { simulated: 'true', direction: result.direction, ...meta } };
}
