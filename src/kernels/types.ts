// Kernel descriptors: a kernel's id, where it runs, which mask format it takes and what it can do.
// Capabilities are data; sweeps filter by them and record skipped cases with the reason.

// Mask formats are the adapters' (src/mask/adapters/types.ts): kernels name them, masks define them.
import type { MaskFormat } from '../mask/adapters/types.js';
export type { MaskFormat };

/** Kernel executors (where a kernel runs); the CLI value of `kernels --executor` and rows' `executor`. */
export const EXECUTOR_IDS = ['cpu', 'torch', 'jax'] as const;
export type ExecutorId = (typeof EXECUTOR_IDS)[number];

/** Element types a case can run in (rows' `dtype`). */
export const DTYPES = ['bfloat16', 'float16', 'float32'] as const;
export type Dtype = (typeof DTYPES)[number];

export interface KernelCaps {
  readonly backward: boolean;
  readonly gqa: 'native' | 'expand'; // 'expand': K/V heads are repeated before the call (noted in results)
  readonly dtypes: readonly Dtype[];
  /** Block-sparse kernels take per-head masks (block_sparse families). */
  readonly perHeadMask: boolean;
}

export interface KernelDescriptor {
  readonly id: string;
  readonly executor: ExecutorId;
  readonly description: string;
  /** Mask formats in order of preference; the first one the adapter can produce is used. */
  readonly formats: readonly MaskFormat[];
  readonly caps: KernelCaps;
  /** Python import that must succeed for the kernel to be available (optional packages). */
  readonly requires?: string;
}
