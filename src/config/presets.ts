// Named kernel sweeps as typed functions (SPEC sections 5, 6). A preset returns whole sweeps;
// flags override fields. Executor-specific kernel lists come from the kernel registry.
import type { KernelSweep } from '../bench/sweep.js';
import type { ExecutorId, FamilyId, KernelId } from '../ids.js';
import { allKernels } from '../kernels/registry.js';

export interface KernelPreset {
  readonly description: string;
  /** Mask samples for families with random parts (SPEC 6: median over samples). */
  readonly samples: number;
  readonly sweeps: (executor: ExecutorId) => KernelSweep[];
}

/** The paper's 12 dense kernel families (the `_long` variants belong to the CP study). */
export const PAPER_FAMILIES = [
  'full',
  'causal',
  'full_document',
  'causal_document',
  'sliding_window',
  'sliding_window_causal',
  'global_sliding_window',
  'prefix_lm_causal',
  'prefix_lm_document',
  'share_question',
  'causal_blockwise',
  'block_causal_document',
] as const;

export const PAPER_SEQLENS = [1, 2, 4, 8, 16, 24, 32, 40, 48].map((k) => k * 1024);

function kernelsOf(executor: ExecutorId, filter: (perHead: boolean) => boolean = () => true): KernelId[] {
  return allKernels().filter((k) => k.executor === executor && filter(k.caps.perHeadMask)).map((k) => k.id as KernelId);
}

const gpuBase = {
  suite: 'kernel',
  directions: ['fwd', 'bwd'],
  headsQ: 64,
  headsKv: 8,
  headDim: 128,
  dtype: 'bfloat16',
  seed: 0,
  warmup: 5,
  iters: 20,
  checkUpTo: 8192,
} as const;

/** Block-sparse suite: kept fraction x block size x S, flex and our Triton kernel. */
function sparseSuite(executor: ExecutorId): KernelSweep {
  return {
    ...gpuBase,
    suite: 'sparse',
    kernels: kernelsOf(executor, (perHead) => perHead),
    families: ['block_sparse'],
    seqlens: [16 * 1024, 48 * 1024],
    paramGrid: { s: [0.1, 0.2, 0.5, 0.8, 1.0], block: [64, 128] },
  };
}

export const KERNEL_PRESETS: Readonly<Record<string, KernelPreset>> = {
  cpu: {
    description: 'CPU executor: tiled float32 kernel on a few families, S 1k-4k, 2:1 heads, head_dim 64',
    samples: 1,
    sweeps: () => [
      {
        ...gpuBase,
        kernels: ['cpu_tiled'],
        families: ['causal', 'causal_document', 'sliding_window_causal', 'full_document'],
        seqlens: [1024, 2048, 4096],
        headsQ: 2,
        headsKv: 1,
        headDim: 64,
        dtype: 'float32',
        warmup: 1,
        iters: 3,
        checkUpTo: 2048,
      },
    ],
  },
  'gpu-quick': {
    description: 'GPU smoke sweep: every kernel on causal and causal_document at 4k and 32k',
    samples: 1,
    sweeps: (executor) => [{ ...gpuBase, kernels: kernelsOf(executor), families: ['causal', 'causal_document'], seqlens: [4096, 32768] }],
  },
  paper: {
    description: 'the paper kernel study: 12 dense families x every kernel x S 1k-48k x fwd/bwd at 64:8, d128, bf16 + sparse suite',
    samples: 3,
    sweeps: (executor) => [
      { ...gpuBase, kernels: kernelsOf(executor), families: [...PAPER_FAMILIES], seqlens: PAPER_SEQLENS },
      sparseSuite(executor),
    ],
  },
  calibrate: {
    description: 'simulator calibration (issue 15), in priority order: heads 16:2 / 4:4 / 4:1 beside 64:8, S 1k-1M, plain / varlen / dense-mask paths, block-sparse at 4:4; flex, sdpa_cudnn / flash / efficient, triton_ranges, triton_blocksparse; torch: 208 cases (206 planned), ~14 min on the H200 (attnbench sim estimate)',
    samples: 1,
    sweeps: calibrateSweeps,
  },
  sparse: {
    description: 'block-sparse suite only: kept fraction {0.1..1} x block {64,128} x S {16k,48k}',
    samples: 1,
    sweeps: (executor) => [sparseSuite(executor)],
  },
};

/**
 * Kernels the calibrate preset measures, in the order they run within a shape: the ones the
 * simulator projects with and the ones measured on the H200 so far (flex first: the projections use it).
 */
export const CALIBRATE_KERNELS = ['flex', 'sdpa_cudnn', 'sdpa_flash', 'triton_ranges', 'sdpa_efficient', 'triton_blocksparse'] as const;

/**
 * Simulator calibration (issue 15): shapes that separate the kernel model's terms (waves, per-launch
 * and per-tile costs): heads 16:2, 4:4, 4:1 beside the paper's 64:8, S from 1k to 1M, every input
 * path (plain, varlen documents, dense boolean masks), block-sparse at 4:4. The sweeps run in
 * priority order (the CLI appends each row as measured and resumes with --resume), so a device call
 * cut short still leaves the most informative rows: (1) small and mid S at the new heads on every
 * path, (2) block-sparse at 4:4, (3) long documents (64k-1M), (4) last, the one long causal shape.
 * Device time: `attnbench sim estimate` on the plan (README simulator section).
 */
function calibrateSweeps(executor: ExecutorId): KernelSweep[] {
  const have = new Set(kernelsOf(executor));
  const kernels = CALIBRATE_KERNELS.filter((k) => have.has(k)) as KernelId[];
  const perHead = new Set(kernelsOf(executor, (p) => p));
  const k = (s: number) => s * 1024;
  const at = (headsQ: number, headsKv: number, families: FamilyId[], seqlens: number[]): KernelSweep => ({ ...gpuBase, kernels, headsQ, headsKv, families, seqlens });
  return [
    // (1) small and mid S at the new heads: plain (causal), varlen (documents), dense-mask paths
    at(16, 2, ['causal', 'causal_document'], [k(1), k(16)]),
    at(4, 4, ['causal', 'causal_document'], [k(4)]),
    at(4, 1, ['causal_document'], [k(16)]),
    at(16, 2, ['sliding_window_causal'], [k(16)]),
    // (2) block-sparse at 4:4 (per-head masks: flex and the Triton kernels)
    { ...sparseSuite(executor), kernels: kernels.filter((x) => perHead.has(x)), headsQ: 4, headsKv: 4, seqlens: [k(16)], paramGrid: { s: [0.2, 0.5], block: [64, 128] } },
    // (3) long documents at every heads configuration, and 16:2 causal beyond the paper's 48k
    at(64, 8, ['causal_document'], [k(64)]),
    at(4, 1, ['causal_document'], [k(1024)]),
    at(4, 4, ['causal_document'], [k(256)]),
    at(16, 2, ['causal_document'], [k(128)]),
    at(16, 2, ['causal'], [k(64)]),
    // (4) the long causal shape (the costliest: ~2.5 min)
    at(4, 4, ['causal'], [k(256)]),
  ];
}

export function presetNames(): string[] {
  return Object.keys(KERNEL_PRESETS);
}
