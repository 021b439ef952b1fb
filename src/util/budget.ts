// Resource guards (issue 17): refuse, before allocating, work whose estimated memory (or, on the
// CPU executors, time) exceeds a budget, with the estimate in the one-line message. Budgets:
//   memory: ATTNBENCH_MEM_BUDGET (or --mem-budget) like 8G, 512M, 2T or bytes; default 60% of the
//           machine's memory (os.totalmem()). Plans (JS objects) must also fit this process's JS
//           heap (v8 heap_size_limit; raise it with NODE_OPTIONS=--max-old-space-size=MB).
//   time:   ATTNBENCH_TIME_BUDGET (or --time-budget) in seconds, default 3600: a CPU sweep whose
//           FLOPs at CPU_FLOPS_PER_S would take longer is refused instead of starting silently.
// The estimates are coarse on purpose (measured coefficients, rounded up): they stop 10x mistakes
// (world = 100000, 2M tokens on CPU ranks, the GPU paper preset on the CPU), not 10% ones.
import os from 'node:os';
import v8 from 'node:v8';
import { badInput } from '../errors.js';
import { decimalNumber } from './parse.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
export const MAX_BUDGET_BYTES = 2 ** 50;

/** Bytes from "8G", "512M", "1.5g", "1000000" (binary units; a trailing B is allowed). */
export function parseBytes(text: string, what = 'memory budget'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?\s*$/.exec(text);
  const v = m ? Number(m[1]) * UNITS[m[2].toLowerCase()] : NaN;
  if (!m || !(v > 0)) throw badInput(`invalid ${what} '${text}': expected a size like 8G, 512M or a number of bytes`);
  // 1e20 bytes used to pass: a budget no machine has turns every guard off silently.
  if (v > MAX_BUDGET_BYTES) throw badInput(`invalid ${what} '${text}': at most 1024T (no machine has more memory)`);
  return Math.floor(v);
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 40) return `${(n / 2 ** 40).toFixed(1)} TiB`;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.max(1, Math.round(n / 2 ** 20))} MiB`;
}

function formatSeconds(s: number): string {
  if (s >= 86400) return `${(s / 86400).toFixed(1)} days`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${Math.round(s / 60)} min`;
  return `${Math.round(s)} s`;
}

export function memoryBudget(): { bytes: number; source: string } {
  const env = process.env.ATTNBENCH_MEM_BUDGET;
  if (env !== undefined && env !== '') return { bytes: parseBytes(env, 'ATTNBENCH_MEM_BUDGET'), source: 'ATTNBENCH_MEM_BUDGET / --mem-budget' };
  return { bytes: Math.floor(0.6 * os.totalmem()), source: `60% of this machine's ${formatBytes(os.totalmem())}` };
}

export function timeBudgetS(): { seconds: number; source: string } {
  const env = process.env.ATTNBENCH_TIME_BUDGET;
  if (env !== undefined && env !== '') {
    const v = decimalNumber(env); // not Number(): '1e999' (Infinity) turned the guard off, '0x10' was 16
    if (v === null || !(v > 0)) throw badInput(`invalid ATTNBENCH_TIME_BUDGET / --time-budget '${env}': expected seconds > 0`);
    return { seconds: v, source: 'ATTNBENCH_TIME_BUDGET / --time-budget' };
  }
  return { seconds: 3600, source: 'default' };
}

/** Refuses `what` when `bytes` exceeds the memory budget (and, for JS objects, the heap). */
export function guardMemory(what: string, bytes: number, opts: { heap?: boolean; heapBytes?: number } = {}): void {
  const b = memoryBudget();
  if (bytes > b.bytes)
    throw badInput(
      `${what} needs an estimated ${formatBytes(bytes)} of memory, over the budget of ${formatBytes(b.bytes)} (${b.source}): make it smaller, or raise the budget with --mem-budget SIZE or ATTNBENCH_MEM_BUDGET`,
    );
  const heap = opts.heapBytes ?? v8.getHeapStatistics().heap_size_limit;
  if (opts.heap && bytes > 0.8 * heap)
    throw badInput(
      `${what} needs an estimated ${formatBytes(bytes)} of JS heap, more than this process's ${formatBytes(heap)}: run with NODE_OPTIONS=--max-old-space-size=${Math.ceil((bytes * 1.5) / 2 ** 20)}`,
    );
}

/** A nominal rate of the CPU kernels on one core (measured: 10-30 GFLOP/s for cpu_tiled). */
export const CPU_FLOPS_PER_S = 20e9;

export function guardCpuTime(what: string, flops: number): void {
  const t = timeBudgetS();
  const est = flops / CPU_FLOPS_PER_S;
  if (est > t.seconds)
    throw badInput(
      `${what}: about ${flops.toExponential(1)} FLOP, an estimated ${formatSeconds(est)} at ${CPU_FLOPS_PER_S / 1e9} GFLOP/s, over the time budget of ${formatSeconds(t.seconds)} (${t.source}): pick fewer or smaller cases, or raise it with --time-budget SECONDS or ATTNBENCH_TIME_BUDGET`,
    );
}

/**
 * JS heap of one plan: per-rank step lists grow as P^2 for the ring schemes (every rank meets every
 * other). Bytes per P^2, measured on full / causal / causal_document at P = 64-512 (usp on full: 4.6 kB x P^2 at 512)
 * and rounded up.
 */
const PLAN_BYTES_PER_P2: Readonly<Record<string, number>> = {
  ring_p2p: 2100,
  ring_allgather: 450,
  ulysses: 450,
  usp: 5000,
  loongtrain: 5000,
  dispatch: 2600,
};

export function planBytes(scheme: string, world: number): number {
  return (PLAN_BYTES_PER_P2[scheme] ?? 5000) * world * world + 1e6;
}

/** `heapBytes`: the heap the plan will be built in, when not this process's (a re-run with a larger heap). */
export function guardPlan(scheme: string, world: number, heapBytes?: number): void {
  guardMemory(`a ${scheme} plan of ${world} ranks`, planBytes(scheme, world), { heap: true, heapBytes });
}

/**
 * `cp run --executor cpu`: float32 inputs (q, k, v, dout), their per-rank copies, the ranks' own
 * buffers and messages, the assembled outputs and the float64 reference: about 56 bytes per
 * element of q + k + v + dout (measured 54 at S = 32k, 4 ranks, 8:4 heads, d 32).
 */
export function cpuCpBytes(seqlen: number, headsQ: number, headsKv: number, headDim: number, reference: boolean): number {
  const elems = 2 * (headsQ + headsKv) * seqlen * headDim;
  return elems * (reference ? 56 : 32) + 1e8;
}

/** CPU kernel case: q, k, v, o, do, dq, dk, dv in float32, and a float64 reference when checked. */
export function cpuKernelBytes(seqlen: number, headsQ: number, headsKv: number, headDim: number, checked: boolean): number {
  const elems = 4 * (headsQ + headsKv) * seqlen * headDim;
  return elems * (checked ? 12 : 4) + 5e7;
}
