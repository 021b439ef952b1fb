// Kernel cases and the executor interface that every backend (cpu, torch worker, jax)
// implements. A sweep is expanded into cases (pure), each case is run by an executor, and each
// result row is appended to JSONL as soon as it exists.
import type { Dtype, ExecutorId, FamilyId, KernelId } from '../ids.js';
import type { GeneratedMask } from '../mask/types.js';
import type { Direction, Environment, ResultRow, Suite } from '../results/schema.js';

export interface KernelCase {
  /** Stable id of the case (same inputs -> same id); used by --resume. */
  readonly id: string;
  readonly suite: Extract<Suite, 'kernel' | 'sparse'>;
  readonly kernel: KernelId;
  readonly family: FamilyId;
  readonly maskParams: Readonly<Record<string, number | string>>;
  readonly seed: number;
  readonly seqlen: number;
  readonly batch: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly direction: Direction;
  /** Timing policy (SPEC 6): warm-up calls, timed calls, L2 flush. */
  readonly warmup: number;
  readonly iters: number;
  /** Compare against the float32 reference when seqlen <= this. */
  readonly checkUpTo: number;
}

/** What an executor returns for one case: the row minus what the runner fills in. */
export type CaseOutcome = Pick<
  ResultRow,
  'status' | 'message' | 'times' | 'memory' | 'error' | 'notes'
>;

export interface KernelExecutor {
  readonly id: ExecutorId;
  environment(): Promise<Environment>;
  /** Kernel ids this executor can run now (others are reported `unavailable`). */
  available(): Promise<ReadonlySet<string>>;
  run(c: KernelCase, mask: GeneratedMask): Promise<CaseOutcome>;
  close(): Promise<void>;
}
