// Device time of a planned kernel sweep (issue 15: the `calibrate` preset must fit two short device
// calls). Per case: the kernel model's time of one call (a calibration's curve, else the roofline)
// times the calls the torch worker makes (first call, warm-up, timed calls, one for peak memory; per
// mask sample), the float32 reference check for S <= checkUpTo, the compile time of a kernel shape
// not compiled before in the run, and a fixed per-case overhead (inputs, masks, transfer).
// The harness constants are measured on the H200 (results/h200/kernels/paper.jsonl, ranges.jsonl:
// compileMs of the rows; wall time of the 72-case call in issue13-logs-call1.txt, 282 s, less its
// kernels and compiles: ~0.95 s per case).
import type { KernelCase } from '../kernels/case.js';

/** What a case costs besides its kernel calls (seconds), from the H200 rows named in the header. */
export const HARNESS = {
  /** Inputs, mask, job transfer, bookkeeping per case. */
  overheadS: 1.0,
  /**
   * First-call compile time of a kernel shape (s, fwd / bwd): flex recompiles for nearly every case
   * (35 of 41 rows per direction over 0.3 s, median 2.2 / 3.8 s); triton_blocksparse and
   * triton_ranges compile once per kernel shape (median 2.1 / 12.7 s and 0.6 / 3.2 s).
   */
  compileS: {
    flex: { fwd: 2.2, bwd: 3.8, perCase: true },
    triton_blocksparse: { fwd: 2.1, bwd: 12.7, perCase: false },
    triton_ranges: { fwd: 0.6, bwd: 3.2, perCase: false },
  } as Readonly<Record<string, { fwd: number; bwd: number; perCase: boolean }>>,
  /** The dense float32 reference (check), per query head and query-key pair (torch_naive 8k: 64 ms / 64 heads). */
  checkSPerHeadPair: 1.5e-11,
};

export interface EstimateInput {
  readonly case: KernelCase;
  /** Mask samples the case runs (random families: > 1). */
  readonly samples: number;
}

export interface CaseEstimate {
  readonly id: string;
  readonly kernelMs: number;
  /** The kernel time came from the roofline (no curve for this kernel / path / direction). */
  readonly roofline: boolean;
  readonly compileS: number;
  readonly checkS: number;
  readonly seconds: number;
}

/** Calls of the kernel per mask sample: first (setup) call, warm-up, timed calls, peak-memory call. */
export function callsPerSample(c: Pick<KernelCase, 'warmup' | 'iters'>): number {
  return 1 + c.warmup + c.iters + 1;
}

/** The shape key under which a Triton kernel is compiled once (kernel, direction, heads, family, params). */
function compileKey(c: KernelCase): string {
  return `${c.kernel}|${c.direction}|${c.headsQ}:${c.headsKv}:${c.headDim}|${c.family}|${JSON.stringify(c.maskParams)}`;
}

/**
 * Seconds per case, in the given (run) order: compile times are charged to the first case of each
 * kernel shape. `kernelMs` gives the model's time of one call.
 */
export function estimateCases(inputs: readonly EstimateInput[], kernelMs: (c: KernelCase) => { ms: number; fallback: boolean }): CaseEstimate[] {
  const compiled = new Set<string>();
  return inputs.map(({ case: c, samples }) => {
    const k = kernelMs(c);
    const comp = HARNESS.compileS[c.kernel];
    let compileS = 0;
    if (comp && (comp.perCase || !compiled.has(compileKey(c)))) compileS = comp[c.direction];
    compiled.add(compileKey(c));
    const s = c.seqlen;
    const checkS = s <= c.checkUpTo ? HARNESS.checkSPerHeadPair * s * s * c.headsQ * c.batch * (c.direction === 'bwd' ? 3 : 1) : 0;
    const seconds = HARNESS.overheadS + compileS + checkS + (samples * callsPerSample(c) * k.ms) / 1000;
    return { id: c.id, kernelMs: k.ms, roofline: k.fallback, compileS, checkS, seconds };
  });
}

/** Where calls of `budgetS` seconds each end, running the cases in order (index of each call's first case). */
export function splitCalls(est: readonly CaseEstimate[], budgetS: number): { first: number; seconds: number }[] {
  const calls: { first: number; seconds: number }[] = [];
  for (const [i, e] of est.entries()) {
    const cur = calls[calls.length - 1];
    if (!cur || (cur.seconds + e.seconds > budgetS && cur.seconds > 0)) calls.push({ first: i, seconds: e.seconds });
    else calls[calls.length - 1] = { first: cur.first, seconds: cur.seconds + e.seconds };
  }
  return calls;
}
