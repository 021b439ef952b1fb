// Preset `paper-cp` for measured runs: the study of src/config/cp-presets.ts (the one paper-cp,
// which the simulator projects too) as whole case specs; flags override fields.
import { CP_STUDIES, paperCp as paperCpStudy, type CpStudy } from '../../config/cp-presets.js';
import type { CpCaseSpec } from './jobs.js';
import type { CpDtype, CpKernel } from './manifest.js';

export const PAPER_CP_FAMILIES = paperCpStudy().families;
export const PAPER_CP_TOKENS_PER_RANK = paperCpStudy().tokensPerGpu;

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
/** The measured cases of a CP study (default: paper-cp), with `o` overriding its fields. */
export function studyCases(study: CpStudy, o: CpPresetOptions = {}): CpPreset {
  const tokens = o.tokensPerRank ?? study.tokensPerGpu;
  const cases: CpCaseSpec[] = [];
  for (const world of o.worlds ?? study.measuredWorlds)
    for (const scheme of o.schemes ?? study.schemes)
      for (const family of o.families ?? study.families)
        cases.push({
          scheme,
          family,
          world,
          seqlen: tokens * world,
          seed: o.seed ?? study.seed,
          headsQ: study.headsQ,
          headsKv: study.headsKv,
          headDim: study.headDim,
          dtype: o.dtype ?? study.dtype,
          kernel: o.kernel ?? 'auto',
          warmup: o.warmup ?? study.warmup,
          iters: o.iters ?? study.iters,
          checkUpTo: o.checkUpTo ?? study.checkUpTo,
          gitRev: o.gitRev ?? null,
        });
  return { name: study.name, description: study.description, directions: ['fwd', 'bwd'], cases };
}

/** paper-cp's measured cases. */
export const paperCp = (o: CpPresetOptions = {}): CpPreset => studyCases(paperCpStudy(), o);

export const CP_PRESETS: Readonly<Record<string, (o?: CpPresetOptions) => CpPreset>> = Object.fromEntries(
  Object.entries(CP_STUDIES).map(([name, f]) => [name, (o?: CpPresetOptions) => studyCases(f(), o)]),
);
