// Small cases of the 'ranges' format for python/tests/test_triton_ranges.py, which runs the real
// triton_ranges kernel source on the CPU (Triton's interpreter) against a dense reference.
// The committed JSON is checked against this builder by ranges-fixture.test.ts (ATTNBENCH_UPDATE_FIXTURES=1 rewrites it).
import { generateMask } from '../families/index.js';
import { gridMask } from '../testing.js';
import type { Mask, Slice } from '../types.js';
import { toRanges } from './ranges.js';
import { toSlices } from './slices.js';
import type { RowSplit, TileList } from './ranges.js';

export const RANGES_FIXTURE_PATH = 'python/tests/fixtures/ranges_cases.json';

function docs(lens: readonly number[], kind: Slice['kind']): Mask {
  const slices: Slice[] = [];
  let at = 0;
  for (const n of lens) {
    slices.push({ qStart: at, qEnd: at + n, kStart: at, kEnd: at + n, kind });
    at += n;
  }
  return { seqlenQ: at, seqlenK: at, slices };
}

interface FixtureCase {
  readonly name: string;
  readonly hq: number;
  readonly hkv: number;
  readonly d: number;
  readonly tileQ: number;
  readonly tileK: number;
  readonly tuning: Readonly<Record<string, number>>;
  readonly masks: readonly Mask[];
  /** The mask's block (block_sparse), as rangesTuning takes it: 64-blocks get 64-key tiles. */
  readonly block?: number;
  /** Split the backward list's long rows (src/mask/adapters/ranges-split.ts) for a device of these slots. */
  readonly bwdSplit?: RowSplit;
}

type Shape = Omit<FixtureCase, 'name' | 'masks' | 'bwdSplit'>;
const DESCRIPTOR_TUNING = { fwdWarps: 8, fwdStages: 3, bwdStages: 2, dqSubN: 64, dqWarps: 8, dqStages: 2, dqAtomic: 0, programs: 132, persistent: 0, fwdSplit: 1, dqSplit: 1, bwdFused: 0, bwdSubMPart: 0, bwdPackLse: 0, lptLaunch: 2 };
const D128_BWD = { bwdKeys: 128, bwdSubM: 64, bwdSubMPart: 32, bwdPackLse: 1, bwdWarps: 8, bwdStages: 3, bwdFused: 1 };
export const DESCRIPTOR_D128_GQA8: Shape = {
  hq: 8, hkv: 1, d: 128, tileQ: 16, tileK: 128,
  tuning: { ...DESCRIPTOR_TUNING, pack: 8, fwdSubN: 64, ...D128_BWD },
};
export const DESCRIPTOR_D64_MHA: Shape = {
  hq: 2, hkv: 2, d: 64, tileQ: 128, tileK: 128,
  tuning: { ...DESCRIPTOR_TUNING, pack: 1, fwdSubN: 128, bwdKeys: 128, bwdSubM: 32, bwdWarps: 8, dqSubN: 32 },
};

/** Groups that are not a power of two, at the descriptor's tiles (42 x 3 = 126 rows, 21 x 6 = 126 rows). */
export const DESCRIPTOR_D128_GQA3: Shape = {
  hq: 6, hkv: 2, d: 128, tileQ: 42, tileK: 128,
  tuning: { ...DESCRIPTOR_TUNING, pack: 3, fwdSubN: 64, ...D128_BWD },
};
export const DESCRIPTOR_D64_GQA6: Shape = {
  hq: 6, hkv: 1, d: 64, tileQ: 21, tileK: 128,
  tuning: { ...DESCRIPTOR_TUNING, pack: 6, fwdSubN: 64, bwdKeys: 64, bwdSubM: 64, bwdWarps: 4, dqSubN: 32 },
};
/**
 * Heads 2:2 (no packing) at d 128 with a mask of 64-blocks: the descriptor's 64-token x 64-key tiles,
 * so a program has 64 rows (issue 13's weakest H200 shape, block_sparse 16k 4:4, tenth pass).
 */
export const DESCRIPTOR_D128_MHA_BLOCK64: Shape = {
  hq: 2, hkv: 2, d: 128, tileQ: 64, tileK: 64, block: 64,
  tuning: { ...DESCRIPTOR_TUNING, pack: 1, fwdSubN: 64, ...D128_BWD, bwdKeys: 64, fwdWarps: 4, fwdGather: 2, bwdWarps: 4, bwdSubM: 16, bwdSubMPart: 16, dqSubN: 32 },
};
/**
 * Head dims other than 64 / 128 (thirteenth pass) at their descriptor's tiles: 16, 32 and 48 (48 padded
 * to 64 columns) take d 64's shapes; 80 and 96 (padded to 128) d 128's with 32 / 16-row dK/dV steps;
 * 192 (padded to 256) and 256 the HUGE tuning (32-key forward steps, dV and dK in one launch, dQ in
 * 16-key steps). Their tuning is the sm_90a compile's (scripts/kernel-aot.py 'dims'), bar one H100 A/B.
 */
const D64_CLASS = { ...DESCRIPTOR_TUNING, fwdSubN: 128, bwdStages: 2, dqSubN: 32 };
// head dims <= 32: 32-row partial dK/dV steps (triton_ranges.ts NARROW)
const NARROW_BWD = { bwdSubMPart: 32 };
const D256_CLASS = {
  ...DESCRIPTOR_TUNING, fwdSubN: 32, bwdKeys: 64, bwdSubM: 32, bwdSubMPart: 32, bwdPackLse: 1, bwdWarps: 8, bwdStages: 2, dqSubN: 32, bwdSeparate: 0,
};
export const DESCRIPTOR_D16_MHA: Shape = { hq: 2, hkv: 2, d: 16, tileQ: 128, tileK: 128, tuning: { ...D64_CLASS, ...NARROW_BWD, pack: 1, bwdKeys: 128, bwdSubM: 32, bwdWarps: 8 } };
export const DESCRIPTOR_D32_GQA4: Shape = { hq: 4, hkv: 1, d: 32, tileQ: 32, tileK: 128, tuning: { ...D64_CLASS, ...NARROW_BWD, pack: 4, bwdKeys: 64, bwdSubM: 64, bwdWarps: 4 } };
export const DESCRIPTOR_D48_GQA2: Shape = { hq: 4, hkv: 2, d: 48, tileQ: 64, tileK: 128, tuning: { ...D64_CLASS, pack: 2, bwdKeys: 64, bwdSubM: 64, bwdWarps: 4 } };
export const DESCRIPTOR_D80_MHA: Shape = {
  hq: 2, hkv: 2, d: 80, tileQ: 128, tileK: 128, tuning: { ...DESCRIPTOR_TUNING, pack: 1, fwdSubN: 64, ...D128_BWD, bwdSubM: 16, bwdSubMPart: 16 },
};
export const DESCRIPTOR_D96_GQA2: Shape = {
  hq: 4, hkv: 2, d: 96, tileQ: 64, tileK: 128, tuning: { ...DESCRIPTOR_TUNING, pack: 2, fwdSubN: 64, ...D128_BWD, bwdSubM: 32, bwdSubMPart: 32 },
};
export const DESCRIPTOR_D192_GQA2: Shape = { hq: 4, hkv: 2, d: 192, tileQ: 64, tileK: 128, tuning: { ...D256_CLASS, pack: 2 } };
export const DESCRIPTOR_D256_GQA8: Shape = { hq: 8, hkv: 1, d: 256, tileQ: 16, tileK: 128, tuning: { ...D256_CLASS, pack: 8 } };
/** The descriptor shapes above, checked against src/kernels/gpu/triton_ranges.ts rangesTuning by the fixture's test. */
export const DESCRIPTOR_SHAPES: readonly Shape[] = [
  DESCRIPTOR_D128_GQA8, DESCRIPTOR_D64_MHA, DESCRIPTOR_D128_GQA3, DESCRIPTOR_D64_GQA6, DESCRIPTOR_D128_MHA_BLOCK64,
  DESCRIPTOR_D16_MHA, DESCRIPTOR_D32_GQA4, DESCRIPTOR_D48_GQA2, DESCRIPTOR_D80_MHA, DESCRIPTOR_D96_GQA2, DESCRIPTOR_D192_GQA2, DESCRIPTOR_D256_GQA8,
];

const CASES: readonly FixtureCase[] = [
  // documents of 1-37 tokens (one-token documents, tiles cut by 3+ documents), 4:2 heads packed by 2
  { name: 'causal_docs_gqa2', hq: 4, hkv: 2, d: 64, tileQ: 8, tileK: 16, tuning: { pack: 2, programs: 3 }, masks: [docs([1, 5, 1, 1, 30, 2, 37, 3], 'causal')] },
  // every slice kind, empty rows and columns, MHA; key splits and row sub-steps in the backward, dQ by atomics
  {
    name: 'all_kinds_mha_atomic', hq: 2, hkv: 2, d: 64, tileQ: 32, tileK: 32,
    tuning: { pack: 1, bwdKeys: 16, bwdSubM: 16, fwdSubN: 16, dqSubN: 16, dqAtomic: 1, programs: 2 },
    masks: [gridMask(70, 70, [5, 20, 33, 50], [9, 20, 40, 47], ['full', 'causal', null, 'invcausal', 'bicausal', 'causal', 'full'])],
  },
  // per-KV-head masks (block_sparse style), 8:2 heads packed by 4
  {
    name: 'per_head_gqa4', hq: 8, hkv: 2, d: 64, tileQ: 4, tileK: 16, tuning: { pack: 4, programs: 5 },
    masks: [gridMask(48, 48, [16, 32], [16, 32], ['full', null, 'full', 'causal']), gridMask(48, 48, [16, 32], [16, 32], [null, 'full', 'bicausal'])],
  },
  // a CP-like step: 40 query rows against 72 keys (Sq != Sk), 2:1 heads
  { name: 'rect_step_gqa2', hq: 2, hkv: 1, d: 64, tileQ: 8, tileK: 16, tuning: { pack: 2, programs: 2 }, masks: [gridMask(40, 72, [12, 25], [30, 50], ['causal', 'full', null, 'invcausal', 'full', 'causal'])] },
  // the descriptor's own tiles and tuning (src/kernels/gpu/triton_ranges.ts rangesTuning; the
  // fixture's test checks they are still the same), as on the GPU
  { ...DESCRIPTOR_D128_GQA8, name: 'causal_docs_d128_gqa8_descriptor', masks: [docs([1, 40, 7, 100, 3, 105], 'causal')] },
  { ...DESCRIPTOR_D64_MHA, name: 'full_docs_d64_mha_descriptor', masks: [docs([60, 1, 130, 129], 'full')] },
  // GQA groups that are not a power of two (issue 13's generality): 6:2 heads = groups of 3 at the
  // descriptor's tiles (42 tokens x 3 heads = 126 rows padded to 128; S = 213 is no multiple of 42
  // or 128; the tile [42, 84) is cut by 4 documents, one-token documents)
  { ...DESCRIPTOR_D128_GQA3, name: 'causal_docs_d128_gqa3_descriptor', masks: [docs([1, 40, 7, 1, 1, 100, 3, 60], 'causal')] },
  // groups of 6 (6:1), a sliding window (bands with both diagonals), the descriptor's tiles (21 x 6 = 126 rows)
  { ...DESCRIPTOR_D64_GQA6, name: 'window_d64_gqa6_descriptor', masks: [generateMask('sliding_window', 150, { seed: 1, params: { w: 20 } }).heads[0]] },
  // groups of 5 with per-KV-head masks and empty rows (block_sparse style, 10:2 heads); small tiles:
  // 6 tokens x 5 heads = 30 rows (padded to 32), dK/dV steps of 16 rows that cross query tiles
  {
    name: 'per_head_gqa5_empty_rows', hq: 10, hkv: 2, d: 64, tileQ: 6, tileK: 16,
    tuning: { pack: 5, bwdKeys: 16, bwdSubM: 16, fwdSubN: 16, dqSubN: 16, programs: 4 },
    masks: [gridMask(48, 48, [16, 32], [16, 32], ['full', null, 'full', null, null, null, 'causal', 'full', 'bicausal']), gridMask(48, 48, [16, 32], [16, 32], [null, 'full', 'bicausal', 'causal', null, 'full'])],
  },
  // split backward rows (few heads, one long document: its first key tiles carry most query tiles):
  // chunks of a key tile accumulate float32 partials, reduced in order; 4:1 heads with key splits
  // (8 keys per program of a 16-key tile), and 4:2 heads (two KV heads per list row), on 32 / 24 program slots
  {
    name: 'split_causal_doc_gqa4', hq: 4, hkv: 1, d: 64, tileQ: 4, tileK: 16,
    tuning: { pack: 4, bwdKeys: 8, bwdSubM: 16, fwdSubN: 16, dqSubN: 16 },
    bwdSplit: { sms: 16, perSm: 2, kvHeads: 1, keySplits: 2 },
    masks: [docs([130, 3, 1, 26], 'causal')],
  },
  {
    name: 'split_full_doc_gqa2', hq: 4, hkv: 2, d: 64, tileQ: 8, tileK: 16,
    tuning: { pack: 2, bwdKeys: 16, bwdSubM: 16, fwdSubN: 16, dqSubN: 16 },
    bwdSplit: { sms: 24, perSm: 1, kvHeads: 2, keySplits: 1 },
    masks: [docs([5, 150, 1, 20], 'full')],
  },
  // block_sparse at the descriptor's d 128 tiles with two KV heads (16:2, groups of 8), one mask per
  // KV head: kept 128-blocks scattered (full runs of one tile between gaps, the gathered forward's
  // case), runs of 2-3 tiles, a causal block (partial tiles), an empty query block; 64-row dK/dV steps
  {
    ...DESCRIPTOR_D128_GQA8, hq: 16, hkv: 2, name: 'block_sparse_d128_gqa8_2kv',
    masks: [
      gridMask(640, 640, [128, 256, 384, 512], [128, 256, 384, 512], ['full', null, 'full', null, 'full', null, null, null, null, null, 'full', 'full', 'causal', null, 'full', null, 'full', 'full', 'full', null, 'full', null, null, 'full', 'full']),
      gridMask(640, 640, [128, 256, 384, 512], [128, 256, 384, 512], [null, 'full', null, 'full', null, 'causal', null, null, 'full', null, 'full', null, 'full', null, 'full', 'full', 'full', 'full', 'full', 'full', null, null, null, null, 'full']),
    ],
  },
  // block_sparse of 64-blocks at d 128 without packing (2:2, one mask per KV head), the descriptor's
  // 64 x 64 tiles (64-row programs): kept blocks scattered (runs of one tile: 80% of the runs of
  // block_sparse 16k s = 0.2), a run of 3, a causal block (a partial tile), an empty query block
  {
    ...DESCRIPTOR_D128_MHA_BLOCK64, name: 'block_sparse64_d128_mha_descriptor',
    masks: [
      gridMask(384, 384, [64, 128, 192, 256, 320], [64, 128, 192, 256, 320], ['full', null, 'full', null, 'full', null, null, 'full', 'full', 'full', null, 'causal', null, null, null, null, null, null, 'full', null, 'full', null, 'full', null, 'causal', null, null, 'full', 'full', null, 'full', null, 'full', null, 'full', 'causal']),
      gridMask(384, 384, [64, 128, 192, 256, 320], [64, 128, 192, 256, 320], [null, 'full', null, 'full', null, 'full', 'full', null, 'causal', null, null, null, null, 'full', 'full', 'full', 'full', null, 'full', null, null, null, 'full', 'full', null, null, null, null, null, null, 'full', 'full', null, 'full', null, 'full']),
    ],
  },
  // thirteenth pass: head dims other than 64 / 128 at their descriptor's tiles (python tests/test_triton_ranges_dims.py):
  // causal documents (one-token members, tiles cut by several documents) at 16, 32, 256 (256: groups of 8,
  // 16 tokens x 8 heads); a sliding window at 48 and 96 (masked head-dim columns, both diagonals); full
  // documents at 80 (no packing); per-KV-head masks at 192 (empty rows and a bicausal block)
  { ...DESCRIPTOR_D16_MHA, name: 'causal_docs_d16_mha_descriptor', masks: [docs([1, 40, 7, 100, 3, 30], 'causal')] },
  { ...DESCRIPTOR_D32_GQA4, name: 'causal_docs_d32_gqa4_descriptor', masks: [docs([3, 1, 60, 9, 70, 1], 'causal')] },
  { ...DESCRIPTOR_D48_GQA2, name: 'window_d48_gqa2_descriptor', masks: [generateMask('sliding_window', 150, { seed: 2, params: { w: 24 } }).heads[0]] },
  { ...DESCRIPTOR_D80_MHA, name: 'full_docs_d80_mha_descriptor', masks: [docs([60, 1, 70, 19], 'full')] },
  { ...DESCRIPTOR_D96_GQA2, name: 'window_d96_gqa2_descriptor', masks: [generateMask('sliding_window', 150, { seed: 1, params: { w: 20 } }).heads[0]] },
  {
    ...DESCRIPTOR_D192_GQA2, name: 'per_head_d192_gqa2_descriptor',
    masks: [gridMask(96, 96, [32, 64], [32, 64], ['full', null, 'full', 'causal']), gridMask(96, 96, [32, 64], [32, 64], [null, 'full', 'bicausal', null, null, 'causal'])],
  },
  { ...DESCRIPTOR_D256_GQA8, name: 'causal_docs_d256_gqa8_descriptor', masks: [docs([1, 40, 7, 60, 3, 20], 'causal')] },
];

/** src/worker/ranges-args.ts STEP_TILES_Q (the mask layer imports no worker module). */
const STEP_TILES_Q = [16, 32, 64, 128];

/** The CP step's query tile for a GQA pack (python triton_ranges._step_lists): 128 / pack rounded to STEP_TILES_Q, <= 128 rows. */
export function stepTileQ(pack: number): number {
  const want = Math.max(1, Math.floor(128 / pack));
  let tile = [...STEP_TILES_Q].sort((a, b) => Math.abs(a - want) - Math.abs(b - want) || a - b)[0];
  if (tile * pack > 128 && tile !== Math.min(...STEP_TILES_Q)) tile = Math.max(...STEP_TILES_Q.filter((t) => t * pack <= 128));
  return tile;
}

function listJson(l: TileList): Record<string, unknown> {
  return {
    numRows: l.numRows, numCols: l.numCols, fullTiles: l.fullTiles, partialTiles: l.partialTiles,
    rowRuns: Array.from(l.rowRuns), runs: Array.from(l.runs), rowParts: Array.from(l.rowParts), parts: Array.from(l.parts),
    sliceIds: Array.from(l.sliceIds), order: Array.from(l.order),
    ...(l.progStart ? { progStart: Array.from(l.progStart) } : {}),
    ...(l.items && l.itemRuns && l.splitRows ? { items: Array.from(l.items), itemRuns: Array.from(l.itemRuns.length ? l.itemRuns : [0, 0]), splitRows: Array.from(l.splitRows) } : {}),
  };
}

function stepJson(m: Mask, tileQ: number): Record<string, unknown> {
  const r = toRanges(m, { ranges: { tileQ, tileK: 128 } });
  if (r.kind !== 'ok') throw new Error(r.reason);
  const v = r.value;
  const out: Record<string, unknown> = { [`t${tileQ}.heads`]: v.heads, [`t${tileQ}.tileQ`]: tileQ, [`t${tileQ}.tileK`]: 128, [`t${tileQ}.bands`]: Array.from(v.bands) };
  for (const dir of ['fwd', 'bwd'] as const) for (const [k, x] of Object.entries(listJson(v[dir]))) out[`t${tileQ}.${dir}.${k}`] = x;
  return out;
}

/** The fixture: per case the shape, the slices of each mask head, and the ranges arguments (arrays as lists). */
export function rangesFixture(): unknown[] {
  return CASES.map((c) => {
    const r = toRanges(c.masks, { ranges: { tileQ: c.tileQ, tileK: c.tileK, tuning: c.tuning, ...(c.bwdSplit ? { bwdSplit: c.bwdSplit } : {}) } });
    if (r.kind !== 'ok') throw new Error(`${c.name}: ${r.reason}`);
    if (c.bwdSplit && !r.value.bwd.items) throw new Error(`${c.name}: the backward list was not split`);
    const v = r.value;
    return {
      name: c.name, hq: c.hq, hkv: c.hkv, d: c.d, sq: v.seqlenQ, sk: v.seqlenK,
      slices: c.masks.map((m) => {
        const s = toSlices(m);
        if (s.kind !== 'ok') throw new Error(s.reason);
        return { qRanges: Array.from(s.value.qRanges), kRanges: Array.from(s.value.kRanges), types: Array.from(s.value.types) };
      }),
      args: { heads: v.heads, tileQ: v.tileQ, tileK: v.tileK, tuning: v.tuning, bands: Array.from(v.bands), fwd: listJson(v.fwd), bwd: listJson(v.bwd) },
      // the CP step form (src/worker/ranges-args.ts rangesStepArrays): flat names, at the tile the worker picks (128 / pack)
      step: c.masks.length === 1 ? stepJson(c.masks[0], stepTileQ(c.tuning.pack)) : null,
    };
  });
}
