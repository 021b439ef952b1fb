// triton_ranges: our Triton range-attention kernel (issue 13), forward and backward, over work lists
// built from the slices (src/mask/adapters/ranges.ts). GQA packing: the g query heads of one KV
// group are stacked along the tile's rows, so a tile of 128 rows holds 128 / g tokens of g heads
// and K/V are read once per group. Tiles and tuning are chosen here per shape class and travel in
// the job (the worker chooses nothing; the row's notes record them).
import { DEFAULT_RANGES_TILES } from '../../mask/adapters/ranges.js';
import type { AdaptOptions, RangesTiles } from '../../mask/adapters/index.js';
import type { RowSplit } from '../../mask/adapters/types.js';
import type { GpuKernelDescriptor, KernelShape } from './accept.js';

/** Rows of a forward program (tokens x packed heads). */
export const RANGES_ROWS = 128;

/** Tuning per direction, chosen once per shape class (measured: results/h200/kernels/triton_ranges-notes.md). */
export interface RangesTuning {
  readonly pack: number; // query heads per program (= the GQA group)
  readonly fwdSubN: number; // keys per inner step of the forward (a divisor of tileK)
  readonly fwdWarps: number;
  readonly fwdStages: number;
  readonly bwdKeys: number; // keys per dK/dV program (a divisor of tileK)
  readonly bwdSubM: number; // rows per inner step of dK/dV (full runs)
  readonly bwdSubMPart: number; // rows per inner step of dK/dV on partial tiles (0: bwdSubM)
  readonly bwdPackLse: number; // 1: dK/dV reads LSE / DELTA from a copy packed per KV group ([B, KV heads, S, pack])
  readonly bwdWarps: number;
  readonly bwdStages: number;
  readonly dqSubN: number; // keys per inner step of the dQ pass
  readonly dqWarps: number;
  readonly dqStages: number;
  readonly dqAtomic: number; // 1: dQ by fp32 atomics inside dK/dV; 0: a deterministic second pass
  readonly programs: number; // programs of the persistent grid, whose LPT schedule the lists carry (one per SM)
  readonly persistent: number; // 1: launch the persistent grid (each program loops over its share); 0: one program per row, LPT launch order
  readonly fwdSplit: number; // > 1: a forward tile's rows split over that many programs (fewer warps each, more programs per SM)
  readonly dqSplit: number; // the same for the dQ pass
  readonly bwdFused: number; // 1: the dQ pass's programs in the dK/dV launch (one launch, as flex's backward)
  readonly bwdSeparate?: number; // 1: dV and dK by two dK/dV launches, one accumulator per program (head dims > 128 only)
  readonly lptLaunch?: number; // launch order of plain LPT (longest row first) instead of the program shares': 1 both directions, 2 the forward only
  readonly fwdGather?: number; // > 0: the gathered forward (partial steps of <= that many bands in one pipelined loop)
}

/**
 * Split forward tiles when the forward list's key loops are short: below this mean of 64-key steps per
 * query tile (the work list's, not the family's), a 128-row tile runs as two 64-row programs of one
 * warpgroup at 3 stages (two programs per SM: 244 registers x 128 threads, 112 KB each by
 * scripts/kernel-aot.py). H100 forward A/B at 32k, 64:8, d 128 (issue13.sh call8; mean steps from the
 * lists): causal_document 12.2 steps +8%, full_document 23.4 steps +1%, causal 256.5 steps -6%. The
 * threshold sits above the measured tie and far below the loss; call11 measures share_question (19.1)
 * and block_causal_document (55.0) with both tunings to place it better.
 */
export const RANGES_SHORT_LOOP_STEPS = 32;
const SPLIT_FWD = { fwdSplit: 2, fwdWarps: 4, fwdStages: 3 } as const;

/**
 * The gathered forward (python triton_ranges_gather.py: a row's partial-tile steps of <= 2 bands in one
 * software-pipelined loop; full tiles by the default's runs loop) when at least this share of the
 * forward list's 64-key steps are partial-tile steps. FITTED on the 10 cases of one H100 call
 * (issue13.sh call17, 32k / 16k, 64:8, d 128; results/h100/kernels/ranges-ab_fwd17.jsonl, ranges-sparse17.jsonl),
 * not yet confirmed by a second call: winners causal_document (share 0.253) +7%, share_question
 * (0.212) +2%, sliding_window_causal (0.176) +5%; not winners full_document (0.145) -1%,
 * sliding_window (0.090) -3%, causal (0.006) -12%, block_sparse (0: every tile full) -2..-13%.
 * The run-to-run noise of that call was ~3% ({} twice).
 */
export const RANGES_GATHER_PARTIAL_SHARE = 0.16;
const GATHER_FWD = { fwdGather: 2, fwdGatherFull: 0 } as const;

/** SMs of the H200 (and H100 SXM): the persistent grid's programs, one per SM (the kernels' shared memory and registers allow one). */
export const RANGES_PROGRAMS = 132;

/**
 * Head dims the kernels take (python triton_ranges.HEAD_DIMS): multiples of 8 (16-byte rows) from 16 to
 * 256. A tile has rangesHeadDimColumns(d) columns, the power of two >= d (tl.arange needs one): 80 and
 * 96 run as 128 columns, 192 as 256, the extra columns masked off in every load and store (python
 * triton_ranges_jit.dmask), so they cost what 128 / 256 cost.
 */
export const RANGES_HEAD_DIMS: readonly number[] = Array.from({ length: 31 }, (_, i) => 16 + 8 * i);
/** The head dims whose tuning GPU rows chose; the others' come from the sm_90a compile (scripts/kernel-aot.py 'dims'), NOT measured. */
export const RANGES_MEASURED_HEAD_DIMS: readonly number[] = [64, 128];

/** A tile's head-dim columns: the power of two >= d (80, 96 -> 128; 192 -> 256). */
export function rangesHeadDimColumns(d: number): number {
  return 2 ** Math.ceil(Math.log2(d));
}

/**
 * Head dims above 128 (192, 256: 256 columns), chosen by the sm_90a compile only (scripts/kernel-aot.py
 * 'dims', thirteenth pass; NOT measured on a GPU): forward 128 rows x 32 keys, 8 warps, 3 stages (255
 * registers, no spill, 160 KB; 64-key steps spill 116 B); dK/dV of 64 keys in 16-row steps as two
 * launches, dV then dK (bwdSeparate: one [64, 256] float32 accumulator per program; both in one program
 * spill 444 B, the dV launch 0, the dK launch 20 B); dQ 128 rows x 16 keys (44 B spilled, 32 keys: 84 B).
 * Every d 256 backward tried spills (notes 'Thirteenth pass'); no fused launch.
 */
const HUGE = {
  fwdSubN: 32, fwdWarps: 8, fwdStages: 3, bwdKeys: 64, bwdSubM: 32, bwdSubMPart: 32, bwdPackLse: 1, bwdWarps: 8, bwdStages: 2,
  bwdSeparate: 0, bwdFused: 0, dqSubN: 32, dqWarps: 8, dqStages: 2,
} as const;
// bwdSeparate 0 since 2026-12-06 (H100, issue13.sh call25, 32k causal_document 64:8 d 256 backward;
// results/h100/kernels/ranges-dims25_sep.jsonl): dK and dV in one launch 45.7 ms against 58.6 ms for
// the two launches (the spill of 444 B costs less than reading Q, dO, LSE and DELTA twice);
// dqSubN 32 gave 56.5 ms (within 4% of the default). With two launches d 256 ran at 0.61x (causal) and
// 0.74x (causal_document) of flex's backward in that call; one launch is about 0.95x (flex 43.4 ms).
// bwdSubM / bwdSubMPart 16 -> 32 and dqSubN 16 -> 32 since 2026-12-06 (H200 A/B beside flex, 32k 64:8,
// the old default run twice: results/h200/kernels/ranges-ab28d{256,192}.jsonl, issue13-logs-call28):
// d 256 causal_document 45.4 -> 30.7 ms (flex 42.8: 0.94x -> 1.39x), causal 749.6 -> 477.8 ms (0.85x
// -> 1.33x); d 192 causal_document 44.5 -> 29.4 ms (0.92x -> 1.40x), causal 741.1 -> 465.1 (0.85x ->
// 1.35x). 32-row steps alone gave three quarters to four fifths of it. 2k checks against float32 within
// tolerance at d 192 and 256 (causal_document, sliding_window, block_sparse: ranges-check28b*.jsonl).

/**
 * Programs of 64 rows (64-blocks without GQA packing: 4:4, 1:1), d <= 128: one warpgroup per
 * program, two programs per SM, the gathered forward, and 16-row dK/dV steps with 32-key dQ steps.
 * H100 A/B, issue13.sh call21 (block_sparse 16k 4:4, 64-blocks; results/h100/kernels/ranges-ab21.jsonl),
 * against 8 warps on the same 64 rows (both warpgroups on one 64-row tile: S computed twice):
 * forward 0.746 -> 0.296 ms (s 0.2), 1.548 -> 0.682 ms (s 0.5), now 1.40x / 1.47x flex; backward
 * 2.185 -> 1.022 ms, 4.814 -> 2.252 ms. The default measured twice in that call moved 0.7% / 0.8%.
 */
const ROWS64 = { fwdWarps: 4, fwdGather: 2, bwdWarps: 4, bwdSubM: 16, bwdSubMPart: 16, dqSubN: 32 } as const;

/**
 * Head dims of 32 columns or fewer (16..32), outside the 64-row class: dK/dV partial tiles in 32-row
 * steps (full runs keep d 64's bwdSubM); the 32-key dQ steps measured with them are every d <= 64's now. H200 A/B beside flex at 32k 64:8 d 32, the
 * default run twice (results/h200/kernels/ranges-ab28d32{,b}.jsonl, issue13-logs-call28): causal
 * backward 67.9 -> 53.8 ms (flex 48.2: 0.71x -> 0.90x), causal_document 4.79 -> 3.94 ms (1.44x ->
 * 1.74x); 32-row full steps too were no faster (69.0 ms). 2k checks within tolerance (ranges-check28d32).
 * At d 48 / 64 the 32-row partial steps gave nothing over the dQ steps alone (call29): d 64's tuning.
 */
const NARROW = { bwdSubMPart: 32 } as const;

/** What a class changes in the common tuning: head dims above 128, 64-row programs, or head dims <= 32. */
function classTuning(d: number, block: number, rows: number): Partial<RangesTuning> {
  if (d > 128) return HUGE;
  if (block === 64 && rows <= 64) return ROWS64;
  return d <= 32 ? NARROW : {};
}

function pow2Floor(x: number): number {
  return 2 ** Math.floor(Math.log2(x));
}

/** Why the kernel cannot take this shape, or null. The planner reports it (status unsupported), never a fallback. */
export function rangesRefusal(shape: KernelShape): string | null {
  const g = shape.headsQ / shape.headsKv;
  if (!Number.isInteger(g)) return `triton_ranges packs whole GQA groups: heads ${shape.headsQ}:${shape.headsKv} is not a grouping`;
  if (g > RANGES_ROWS) return `triton_ranges packs a GQA group into one program of ${RANGES_ROWS} rows: group ${g} is larger`;
  if (!RANGES_HEAD_DIMS.includes(shape.headDim)) return `triton_ranges takes head_dim a multiple of 8 from 16 to 256, not ${shape.headDim}`;
  return null;
}

/**
 * The shape class's tiles and tuning, or null when rangesRefusal names a reason. Groups that are not
 * a power of two (3, 5, 6...) get floor(128 / g) tokens per tile (126, 125, 126 rows; the kernel pads
 * a program to 128 rows); with 64-blocks a power of two of tokens, so tiles stay inside blocks.
 */
export function rangesTuning(
  shape: KernelShape,
  block: number,
): { tileQ: number; tileK: number; tuning: RangesTuning; shortLoops?: RangesTiles['shortLoops']; partialSteps?: RangesTiles['partialSteps'] } | null {
  if (rangesRefusal(shape) !== null) return null;
  const g = shape.headsQ / shape.headsKv;
  const d = shape.headDim;
  let tileQ = Math.floor(RANGES_ROWS / g);
  // Block-sparse masks of 64-blocks: tiles inside one block, so every tile is full or empty.
  if (block === 64) tileQ = pow2Floor(Math.min(tileQ, 64));
  const tileK = block === 64 ? 64 : 128;
  // head dims 72..128 take d 128's tuning (128 columns), 16..64 d 64's (their tiles are smaller; 16..32 with NARROW's backward steps), above 128 HUGE's
  const wide = d > 64;
  const padded = wide && d < 128;
  // the short-loop rule where it was measured: d 128, 128-row tiles (a full GQA group tile) of 128 keys
  const measured = d === 128 && tileK === 128 && tileQ * g === RANGES_ROWS;
  const shortLoops = measured ? { stepKeys: 64, belowSteps: RANGES_SHORT_LOOP_STEPS, tuning: { ...SPLIT_FWD } } : undefined;
  // the same shape class only (call17 measured d 128, 128-row tiles of 128 keys)
  const partialSteps = measured ? { stepKeys: 64, atLeast: RANGES_GATHER_PARTIAL_SHARE, tuning: { ...GATHER_FWD } } : undefined;
  return {
    tileQ,
    tileK,
    ...(shortLoops ? { shortLoops } : {}),
    ...(partialSteps ? { partialSteps } : {}),
    tuning: {
      pack: g,
      // 64-key steps at d 128, and at d 64 for padded tiles (groups of 3: 128-key steps spilled 32 B)
      fwdSubN: Math.min(tileK, wide || (g & (g - 1)) !== 0 ? 64 : 128),
      fwdWarps: 8,
      fwdStages: 3,
      // d = 128: 128 keys x 64 rows on full runs, 32 on partial tiles (32 / 16 without packing), 8
      // warps, LSE / DELTA packed per KV group: H100 backward A/B at 32k, 64:8, beside flex (issue13.sh
      // call16, results/h100/kernels/ranges-ab_bwd16.jsonl) against 32-row steps: causal +5%,
      // block_causal_document +7%, sliding_window +2.5%, full_document_long +5%; block_sparse 16k
      // 128-blocks 64:8 +5%, 4:4 (32 / 16 rows) +17%. Their spills (64-124 B by scripts/kernel-aot.py)
      // are outside the step loops. d = 64 without packing: 128 x 32, 8 warps (64 keys x 64 rows, 4
      // warps spilled 212 bytes at d 64 1:1): the notes.
      bwdKeys: wide || g === 1 ? tileK : Math.min(tileK, 64),
      // head dims 72..120 (128 columns, some masked; not measured): 32-row steps everywhere (16
      // without packing), as the measured ones spill 100 B there (d 80, scripts/kernel-aot.py 'dims')
      bwdSubM: padded ? (g === 1 ? 16 : 32) : wide ? (g === 1 ? 32 : 64) : g === 1 ? 32 : 64,
      bwdSubMPart: padded ? (g === 1 ? 16 : 32) : wide ? (g === 1 ? 16 : 32) : 0,
      bwdPackLse: wide ? 1 : 0,
      bwdWarps: wide || g === 1 ? 8 : 4,
      // d = 128: 3 stages (the H100 backward A/B at 32k, 64:8, beside flex: +16% causal, +11%
      // causal_document, +16% block_causal_document over 2; results/h100/kernels/ranges-ab_bwd32k_occ.jsonl)
      bwdStages: wide ? 3 : 2,
      // d = 128: dK/dV and the dQ pass in one launch (H100 A/B at 32k, 64:8, beside flex, issue13.sh
      // call12: +5% causal, +8% causal_document, +7% block_causal_document; results/h100/kernels/ranges-ab_bwd12.jsonl)
      bwdFused: wide ? 1 : 0,
      // head dims <= 64: 32-key dQ steps (H100 A/B at 32k 64:8 beside flex, the default run twice,
      // issue13.sh call29: d 64 causal 87.2 / 87.5 -> 80.3 ms, causal_document 5.85 / 5.79 -> 5.33;
      // d 48 86.2 / 86.2 -> 79.0, 5.72 / 5.78 -> 5.21; results/h100/kernels/ranges-ab29d{64,48}.jsonl;
      // 2k float32 checks ranges-check29d*.jsonl). d 96 lost with them (119.9 -> 125.9 ms): d > 64 keeps 64.
      dqSubN: Math.min(tileK, wide ? 64 : 32),
      dqWarps: 8,
      dqStages: 2,
      dqAtomic: 0,
      // off until a GPU A/B decides (scripts/device/issue13.sh): the hardware block scheduler
      // hands out the rows greedily (in the order of the LPT shares below, unless lptLaunch)
      programs: RANGES_PROGRAMS,
      persistent: 0,
      // 1 here; 2 (4 warps, 3 stages) on short key loops: shortLoops above, chosen from the list.
      // dqSplit 2 off: -2 / +3 / -1% on an H100 (causal, causal_document, block_causal_document)
      fwdSplit: 1,
      dqSplit: 1,
      // The forward's launch order is plain LPT (longest row first), not the persistent grid's shares
      // regrouped by program: H100 A/B at 32k 64:8 d 128 beside flex, the default run twice
      // (issue13.sh call22, results/h100/kernels/ranges-ab22.jsonl): forward causal -10% (the two default
      // runs 10% apart), causal_document -5% (1%), block_causal_document -12% (1%), sliding_window -23%
      // (0.1%), full_document_long -6% (5%), 16:2 causal -1.5% (0.2%). The backward is mixed (causal -6%,
      // full_document_long -6%, block_causal_document +2%, sliding_window +1%, 16:2 causal +4%), so it
      // keeps the shares' order: 2 is forward only.
      lptLaunch: 2,
      ...classTuning(d, block, tileQ * g),
    },
  };
}

/**
 * How the backward list's long key tiles are split (src/mask/adapters/ranges-split.ts): the
 * device's program slots (RANGES_PROGRAMS SMs; one dK/dV program per SM at 8 warps, ~250 registers
 * by scripts/kernel-aot.py; two at 4 warps) and the programs each list row launches.
 */
export function rangesBwdSplit(shape: KernelShape, tileK: number, t: RangesTuning): RowSplit {
  return { sms: RANGES_PROGRAMS, perSm: t.bwdWarps >= 8 ? 1 : 2, kvHeads: shape.headsKv, keySplits: Math.max(1, tileK / t.bwdKeys) };
}

function tilesOf(shape: KernelShape, t: NonNullable<ReturnType<typeof rangesTuning>>): RangesTiles {
  return { tileQ: t.tileQ, tileK: t.tileK, tuning: { ...t.tuning }, bwdSplit: rangesBwdSplit(shape, t.tileK, t.tuning), ...(t.shortLoops ? { shortLoops: t.shortLoops } : {}), ...(t.partialSteps ? { partialSteps: t.partialSteps } : {}) };
}

/**
 * Full-tile speed of 128-key tiles over 64-block tiles (area per time), per direction: H100, block_sparse
 * 16k with every 64-block kept (both lists all full tiles), 2026-12-06 (issue13.sh call33,
 * results/h100/kernels/sparse16k-s14-flex128.jsonl): 64:8 (a packed group) forward 507 / 481 TFLOP/s,
 * backward 423 / 254; 4:4 (64-row programs) forward 517 / 389, backward 406 / 335.
 */
const WIDE_SPEED = { packed: { fwd: 507 / 481, bwd: 423 / 254 }, rows64: { fwd: 517 / 389, bwd: 406 / 335 } } as const;

/**
 * Partial-tile work per area over full-tile work on 128-key tiles cut by 64-blocks: H100, block_sparse
 * 16k, 128-key tiles forced (ATTNBENCH_RANGES_TILES=128, issue13.sh call35, 2026-12-06,
 * results/h100/kernels/sparse64-s15-wide.jsonl), each row's time against the all-full s = 1 row of
 * its heads over the lists' full and partial areas: forward 2.84 / 3.49 (64:8, s 0.5 / 0.8), 2.87
 * (4:4, s 0.8); backward 2.03 / 2.03, 3.17.
 */
const WIDE_PARTIAL = { fwd: 3, bwd: 2.4 } as const;

/** The tile choice for 64-block masks (RANGES_TILES_ENV: auto, block or 128; unset: auto). */
export const RANGES_TILES_ENV = 'ATTNBENCH_RANGES_TILES';

function tilePick(env: NodeJS.ProcessEnv = process.env): 'auto' | 'block' | 'other' {
  const v = env[RANGES_TILES_ENV];
  return v === 'block' ? 'block' : v === '128' ? 'other' : 'auto';
}

function adaptOptions(shape: KernelShape, block: number): AdaptOptions {
  const t = rangesTuning(shape, block);
  // A shape the kernel cannot take: the adapter refuses with the reason (the job is planned as unsupported).
  if (!t) return { ranges: { ...DEFAULT_RANGES_TILES, refuse: rangesRefusal(shape) ?? 'no tiles' } };
  const own = tilesOf(shape, t);
  // 64-blocks: their own tiles (every tile full or empty) or 128-key tiles (faster full tiles, partial
  // tiles where a kept block meets a dropped one), the cheaper by the lists (src/mask/adapters/ranges-choice.ts)
  const wide = block === 64 ? rangesTuning(shape, 128) : null;
  if (!wide || wide.tileK === t.tileK) return { ranges: own };
  const speed = t.tileQ * (shape.headsQ / shape.headsKv) <= 64 ? WIDE_SPEED.rows64 : WIDE_SPEED.packed;
  return { ranges: { ...own, alternative: { tiles: tilesOf(shape, wide), speed, partial: WIDE_PARTIAL, pick: tilePick() } } };
}

export const tritonRanges = {
  id: 'triton_ranges',
  executor: 'torch',
  description: 'our Triton range attention (forward and backward) over work lists from the slices: full runs unmasked, partial tiles masked by their bands, GQA heads packed per program, LPT order (or a persistent grid of LPT shares)',
  formats: ['ranges'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: true },
  requires: 'triton',
  adaptOptions,
} as const satisfies GpuKernelDescriptor;
