// Host time left in the timed region of host paths (issue 15): what the rows say it is.
//
// The kernel suite times each call with CUDA events around the Python call. Where the call does
// host work before its kernel can start (nested tensors: three jagged views, the nested dispatch,
// expanded GQA K/V), the GPU waits inside the events and the row measures host time plus kernel
// time. A curve of such a path (kernel-model.ts) carries that host time as its launch constant c0,
// one number for every configuration (or as a floor, t = max(floor, ...)). Whether one number can
// hold it is a property of the rows: on a host-bound row (the in-sample curve's kernel part, its
// time less c0 and without a floor, is under a quarter of the measured time) the measured time is
// host time give or take that part, whether host and kernel add up or overlap. When the host-bound
// rows of one path spread by more than the targets allow around their middle, no launch constant
// or floor - and no feature of the configuration that does not follow them - brings them within.
import { hostPath, type KernelObservation } from './calibrate.js';
import { curveMs, type Calibration } from './kernel-model.js';

/** Rows whose curve's kernel part is below this share of the measured time are host-bound. */
export const HOST_BOUND_SHARE = 0.25;

export interface HostTime {
  readonly kernel: string;
  readonly direction: string;
  /** The host-bound rows, by S, with the curve's kernel part (ms). */
  readonly rows: readonly { readonly obs: KernelObservation; readonly kernelMs: number }[];
}

/**
 * Host-bound rows of host paths (kernel ids with '@': nested tensors, dense masks) on one GPU
 * type, per (kernel, direction), judged by the in-sample calibration `cal`.
 */
export function hostBoundRows(cal: Calibration, obs: readonly KernelObservation[], gpu: string): HostTime[] {
  const out = new Map<string, { obs: KernelObservation; kernelMs: number }[]>();
  for (const o of obs) {
    if (o.gpu !== gpu || !hostPath(o.kernel)) continue;
    const c = cal.curves.find((x) => x.kernel === o.kernel && x.direction === o.call.direction && x.dtype === o.call.dtype && x.gpu.split('+').includes(gpu));
    if (!c) continue;
    // The kernel part alone: without the launch constant and without a host floor (max form).
    const kernelPart = curveMs({ ...c, hostFloorMs: undefined }, o.call) - c.c0Ms;
    if (!(kernelPart < HOST_BOUND_SHARE * o.ms)) continue;
    const key = `${o.kernel}|${o.call.direction}`;
    out.set(key, [...(out.get(key) ?? []), { obs: o, kernelMs: kernelPart }]);
  }
  return [...out]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, rows]) => ({ kernel: k.split('|')[0], direction: k.split('|')[1], rows: [...rows].sort((a, b) => a.obs.seqlen - b.obs.seqlen) }));
}

/**
 * The best one constant can do on these times: the one at their geometric middle, off by
 * middle / min - 1 on the fastest row (= 1 - middle / max on the slowest, relative to its own) in %.
 */
export function constantBound(ms: readonly number[]): { middleMs: number; worstPct: number } {
  const lo = Math.min(...ms);
  const hi = Math.max(...ms);
  const mid = Math.sqrt(lo * hi);
  return { middleMs: mid, worstPct: Math.max(mid / lo - 1, 1 - mid / hi) * 100 };
}

/** Report lines (`sim validate`): per host path with at least 3 such rows. */
export function hostTimeLines(cal: Calibration, obs: readonly KernelObservation[], gpu: string): string[] {
  const ht = hostBoundRows(cal, obs, gpu).filter((h) => h.rows.length >= 3);
  if (!ht.length) return [];
  const f = (x: number) => x.toPrecision(3);
  const lines = [
    `  host-bound rows of host paths (the in-sample curve's kernel part < ${HOST_BOUND_SHARE * 100}% of the time): measured ms by S heads (kernel part):`,
  ];
  for (const h of ht) {
    const b = constantBound(h.rows.map((r) => r.obs.ms));
    const list = h.rows.map((r) => `${r.obs.seqlen % 1024 === 0 ? `${r.obs.seqlen / 1024}k` : r.obs.seqlen} ${r.obs.headsQ}:${r.obs.headsKv} ${f(r.obs.ms)} (${f(r.kernelMs)})`).join(', ');
    lines.push(`    ${h.kernel} ${h.direction}: ${list}; one constant is off by >= ${b.worstPct.toFixed(0)}% on one of them (best ${f(b.middleMs)} ms)`);
  }
  return lines;
}
