// CP presets as typed functions returning the whole study setting. The measured runs (`cp run
// --preset`, src/cp/torch/preset.ts) and the simulator's projection (`sim run --preset`,
// src/sim/project.ts) read the same function, so there is one `paper-cp`.
import type { Dtype, FamilyId, SchemeId } from '../ids.js';
import { SCHEME_IDS } from '../ids.js';

export interface CpStudy {
  readonly name: string;
  readonly description: string;
  readonly schemes: readonly SchemeId[];
  readonly families: readonly FamilyId[];
  /** S = tokensPerGpu x P. */
  readonly tokensPerGpu: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly seed: number;
  /** World sizes measured (one node of 8 GPUs) and projected by the simulator (nodes of 8). */
  readonly measuredWorlds: readonly number[];
  readonly projectedWorlds: readonly number[];
  /** Timing policy and the reference check of measured runs. */
  readonly warmup: number;
  readonly iters: number;
  readonly checkUpTo: number;
}

/** SPEC 7, the paper's distributed study: every scheme x {full, causal, full_document, causal_document}, fwd and bwd. */
export function paperCp(): CpStudy {
  return {
    name: 'paper-cp',
    description: "the paper's distributed study: every scheme x {full, causal, full_document, causal_document} x {fwd, bwd}, 8k tokens per GPU, 64:8 heads, head_dim 128, bf16",
    schemes: SCHEME_IDS,
    families: ['full', 'causal', 'full_document', 'causal_document'],
    tokensPerGpu: 8 * 1024,
    headsQ: 64,
    headsKv: 8,
    headDim: 128,
    dtype: 'bfloat16',
    seed: 0,
    measuredWorlds: [8],
    projectedWorlds: [8, 16, 32, 64, 96, 128, 256, 512, 1024],
    warmup: 5,
    iters: 20,
    checkUpTo: 64 * 1024,
  };
}

export const CP_STUDIES: Readonly<Record<string, () => CpStudy>> = { 'paper-cp': paperCp };
