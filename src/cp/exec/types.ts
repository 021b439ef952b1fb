// The CP executor interface: every backend (cpu worker threads, torch.distributed through
// src/cp/torch) runs a plan on real data and returns result rows (SPEC 6); runCp (./run-cp.ts)
// plans, resumes and writes the rows of every executor.
import { AttnbenchError } from '../../errors.js';
import type { CpExecutorId, Dtype, KernelId } from '../../ids.js';
import type { Mask } from '../../mask/types.js';
import type { Direction, ResultRow } from '../../results/schema.js';
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
  /** The torch executor's part of the case (written into its job manifest by src/cp/torch). */
  readonly torch?: TorchCaseSettings;
}

/**
 * What the torch executor runs a case with, besides its plan and mask: the dtype (part of the case
 * id: it overrides the runner's), the partial-attention kernel ('auto': triton_ranges where it takes
 * the shape, else flex, on GPUs; the reference on CPU tensors: src/kernels/cp-auto.ts), timing and check settings. src/cp/torch/jobs.ts planJob fills it in (after the
 * layout fallback), manifest.ts writes it.
 */
export interface TorchCaseSettings {
  readonly dtype: Dtype;
  /** 'auto' or a kernel id with a partial-attention entry (python kernels/<id>.py, --kernel-module ones). */
  readonly kernel: string;
  /** Gradient buffers (dq, dkv and what travels of them): float32 (default) or the model dtype. */
  readonly gradDtype?: 'float32' | 'model';
  readonly warmup: number;
  readonly iters: number;
  /** Check against the single-device reference when seqlen <= this. */
  readonly checkUpTo: number;
  /** Seed of the random Q, K, V, dO. */
  readonly inputSeed?: number;
  /** Directions measured (default both, from one run of the case). */
  readonly directions?: readonly Direction[];
  readonly gitRev?: string | null;
}

export interface CpRunResult {
  /** One row per direction (fwd, bwd). */
  readonly rows: readonly ResultRow[];
  /** The cpu executor's timeline (the torch ranks write theirs into their trace folder). */
  readonly trace?: ChromeTrace;
}

/** What identifies the executor side of a CP case. */
export interface CpRunner {
  readonly id: CpExecutorId;
  /** null: each case names its kernel (the torch executor: CpRunRequest.torch.kernel; its ids carry
   * it resolved for `device`, src/results/case-id.ts cpKernelOf). */
  readonly kernel: KernelId | 'reference' | null;
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
  /**
   * Optional: the row of a case that failed (status error / timeout), when the executor records more
   * than ./rows.ts cpFailedRow does (torch: the layout's virtualRanks, the case's gitRev). Its id
   * must be cpCaseId(runner, req, direction).
   */
  failedRow?(req: CpRunRequest, direction: Direction, status: 'error' | 'timeout', message: string): ResultRow;
  close(): Promise<void>;
}

/**
 * How a case of a batch ended: its rows, or the error that ended it (timeout: AttnbenchError
 * 'timeout'). `more: true` hands over rows as they are measured (one direction) and leaves the case
 * open: it is reported again, with its last rows or an error.
 */
export type CpCaseOutcome = { readonly rows: readonly ResultRow[]; readonly more?: boolean } | { readonly error: Error };
export type CpCaseReport = (index: number, outcome: CpCaseOutcome) => void;

/**
 * Thrown by runBatch when the batch never reached its first case (no python, no torch, bad job
 * files, a failed rendezvous): runCp writes no rows for the cases left and throws it on, so the run
 * is one error line, not an error row per case.
 */
export class CpBatchRefused extends AttnbenchError {}
