// Preset `paper-cp` (SPEC 7, the paper's distributed study): every scheme x {full, causal,
// full_document, causal_document} x {fwd, bwd}, 8k tokens per GPU (S = 8k x P), 64:8 heads,
// head_dim 128, bf16. A typed function returning whole case specs; flags override fields.
import { SCHEME_IDS } from '../types.js';
import type { CpCaseSpec } from './jobs.js';
import type { CpDtype, CpKernel } from './manifest.js';

export const PAPER_CP_FAMILIES = ['full', 'causal', 'full_document', 'causal_document'] as const;
export const PAPER_CP_TOKENS_PER_RANK = 8 * 1024;

export interface CpPresetOptions {
  /** World sizes (default [8]: one node of 8 GPUs; virtual-rank runs use 2, 4, 8). */
  readonly worlds?: readonly number[];
  readonly schemes?: readonly string[];
  readonly families?: readonly string[];
  readonly tokensPerRank?: number;
  readonly kernel?: CpKernel;
  readonly dtype?: CpDtype;
  readonly warmup?: number;
  readonly iters?: number;
  readonly checkUpTo?: number;
  readonly seed?: number;
  readonly gitRev?: string | null;
}

export interface CpPreset {
  readonly name: string;
  readonly description: string;
  /** Both directions come from one run of each case (one row each). */
  readonly directions: readonly ['fwd', 'bwd'];
  readonly cases: readonly CpCaseSpec[];
}

/** The paper's CP setting: 8k tokens per GPU, 64:8 heads, head_dim 128, bf16, fwd and bwd. */
export function paperCp(o: CpPresetOptions = {}): CpPreset {
  const worlds = o.worlds ?? [8];
  const schemes = o.schemes ?? SCHEME_IDS;
  const families = o.families ?? PAPER_CP_FAMILIES;
  const tokens = o.tokensPerRank ?? PAPER_CP_TOKENS_PER_RANK;
  const cases: CpCaseSpec[] = [];
  for (const world of worlds)
    for (const scheme of schemes)
      for (const family of families)
        cases.push({
          scheme,
          family,
          world,
          seqlen: tokens * world,
          seed: o.seed ?? 0,
          headsQ: 64,
          headsKv: 8,
          headDim: 128,
          dtype: o.dtype ?? 'bfloat16',
          kernel: o.kernel ?? 'auto',
          warmup: o.warmup ?? 5,
          iters: o.iters ?? 20,
          checkUpTo: o.checkUpTo ?? 64 * 1024,
          gitRev: o.gitRev ?? null,
        });
  return {
    name: 'paper-cp',
    description: 'every scheme x {full, causal, full_document, causal_document} x {fwd, bwd}, 8k tokens per GPU, 64:8 heads, d=128, bf16',
    directions: ['fwd', 'bwd'],
    cases,
  };
}

export const CP_PRESETS: Readonly<Record<string, (o?: CpPresetOptions) => CpPreset>> = { 'paper-cp': paperCp };
