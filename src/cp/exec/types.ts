// The CP executor interface: every backend (cpu worker threads now, torch.distributed later) runs
// a plan on real data and returns result rows (SPEC 6) and a per-rank timeline.
import type { CpExecutorId, Dtype, KernelId } from '../../ids.js';
import type { Mask } from '../../mask/types.js';
import type { ResultRow } from '../../results/schema.js';
import type { Plan } from '../types.js';
import type { ChromeTrace } from './trace.js';

export interface CpRunRequest {
  readonly plan: Plan;
  readonly mask: Mask;
  readonly family: string;
  readonly maskParams: Readonly<Record<string, number | string>>;
  readonly seed: number;
  /** Compare with the single-rank float64 reference (small sizes). */
  readonly check: boolean;
  /** Stop the run (and its ranks) after this long. */
  readonly timeoutMs?: number;
  /** Write the Chrome / Perfetto trace JSON of the run here. */
  readonly tracePath?: string;
}

export interface CpRunResult {
  /** One row per direction (fwd, bwd). */
  readonly rows: readonly ResultRow[];
  readonly trace: ChromeTrace;
}

/** What identifies the executor side of a CP case. */
export interface CpRunner {
  readonly id: CpExecutorId;
  readonly kernel: KernelId | 'reference';
  readonly dtype: Dtype;
  /** How the ranks run (`threads`, `virtual<P>`, `dist-<backend>`) and on what (`cpu`, `cuda`). */
  readonly launch: string;
  readonly device: string;
}

export interface CpExecutor {
  readonly id: CpExecutorId;
  /** Executor, kernel, dtype and launch: the executor's part of each case id (./rows.ts). */
  readonly runner: CpRunner;
  /** Element size of the data it runs (the plan's shape.dtypeBytes should match). */
  readonly dtype: Dtype;
  readonly dtypeBytes: number;
  run(req: CpRunRequest): Promise<CpRunResult>;
  /**
   * Optional: runs several cases in one launch (one job folder, one torchrun) and reports each
   * case's outcome by its index in `reqs` as it ends. Cases it never reports get failed rows from
   * runCp (the error it threw, or that it ended without a result). Without it, runCp runs the cases
   * one by one through run() (runCaseByCase).
   */
  runBatch?(reqs: readonly CpRunRequest[], report: CpCaseReport): Promise<void>;
  close(): Promise<void>;
}

/** How a case of a batch ended: its rows, or the error that ended it (timeout: AttnbenchError 'timeout'). */
export type CpCaseOutcome = { readonly rows: readonly ResultRow[] } | { readonly error: Error };
export type CpCaseReport = (index: number, outcome: CpCaseOutcome) => void;
