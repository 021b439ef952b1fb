// Tiled online-softmax attention on the CPU: JS walks the mask's block map, WebAssembly SIMD
// (wasm/attn.as) computes each (query block x key block) tile.
//
//   key blocks ->        empty tiles are never visited (the block map stores only runs of
//   q  [ F F P . . ]     non-empty ones); full tiles (F) run without any mask work; partial
//   b  [ . F F P . ]     tiles (P) get a bias tile of 0 / -inf filled from the per-row column
//   l  [ . . . F P ]     ranges of the slices that cross them (never a dense Sq x Sk mask).
//   k
//
// Memory layout inside wasm: the current query head's Q (and dO, dQ) and KV head's K, V (dK, dV)
// as [rows padded to 4, headDim padded to 8] f32 (zero padding changes no dot product), plus tile
// scratch. Padded key columns are masked by the bias tile; padded query rows are discarded.
import { bandRowHi, bandRowLo, bandRows, clipBand } from '../../mask/band.js';
import { blockMap, SliceIndex } from '../../mask/slices.js';
import type { BlockMap, Mask } from '../../mask/types.js';
import {
  checkInputs,
  groupSize,
  kvOperand,
  lseOperand,
  maskOfKvHead,
  qOperand,
  scaleOf,
  type BwdResult,
  type CpuAttnShape,
  type Floats,
  type FwdResult,
  type HeadRange,
  type MaskArg,
} from './common.js';
import { Arena, attnWasm } from './wasm.js';

export interface TiledOptions {
  /** Query rows per tile (multiple of 4; default 64). */
  readonly blockQ?: number;
  /** Keys per tile (multiple of 4; default 64). */
  readonly blockK?: number;
  /**
   * Compute only query heads [start, end). Outputs keep the full layout with every other head
   * zero (dK/dV: only these heads' contributions), so results over disjoint head ranges sum to
   * the result over all heads.
   */
  readonly heads?: HeadRange;
}

const DEFAULT_BLOCK = 64;

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

interface MaskPlan {
  readonly index: SliceIndex;
  readonly map: BlockMap;
}

interface Setup {
  readonly blockQ: number;
  readonly blockK: number;
  readonly heads: HeadRange;
  /** Head dim padded to 8, rows padded to 4. */
  readonly dp: number;
  readonly sq4: number;
  readonly sk4: number;
  /** Per KV head (the same plan object where KV heads share one mask). */
  readonly plans: readonly MaskPlan[];
}

function setup(mask: MaskArg, shape: CpuAttnShape, opts: TiledOptions): Setup {
  const blockQ = opts.blockQ ?? DEFAULT_BLOCK;
  const blockK = opts.blockK ?? DEFAULT_BLOCK;
  for (const [name, b] of [['blockQ', blockQ], ['blockK', blockK]] as const) {
    if (!(Number.isInteger(b) && b > 0 && b % 4 === 0)) throw new Error(`${name} must be a positive multiple of 4, got ${b}`);
  }
  const byMask = new Map<Mask, MaskPlan>();
  const plans: MaskPlan[] = [];
  for (let g = 0; g < shape.headsKv; g++) {
    const m = maskOfKvHead(mask, g);
    let plan = byMask.get(m);
    if (!plan) byMask.set(m, (plan = { index: new SliceIndex(m), map: blockMap(m, blockQ, blockK) }));
    plans.push(plan);
  }
  return {
    blockQ,
    blockK,
    heads: opts.heads ?? { start: 0, end: shape.headsQ },
    dp: roundUp(shape.headDim, 8),
    sq4: roundUp(shape.seqlenQ, 4),
    sk4: roundUp(shape.seqlenK, 4),
    plans,
  };
}

/** KV heads g with at least one selected query head, and those query heads. */
function* headPairs(shape: CpuAttnShape, heads: HeadRange): Generator<{ g: number; hs: number[] }> {
  const group = groupSize(shape);
  for (let g = Math.floor(heads.start / group); g * group < heads.end; g++) {
    const hs: number[] = [];
    for (let h = Math.max(heads.start, g * group); h < Math.min(heads.end, (g + 1) * group); h++) hs.push(h);
    yield { g, hs };
  }
}

interface Tile {
  readonly q0: number;
  /** Valid rows and rows padded to 4. */
  readonly bq: number;
  readonly bq4: number;
  readonly k0: number;
  readonly bk: number;
  readonly bk4: number;
  /** Whether the tile needs the bias (a partial block, or padded key columns). */
  readonly masked: boolean;
}

/** Every non-empty tile of query block qb, from the block map. */
function* tilesOfRow(plan: MaskPlan, s: Setup, shape: CpuAttnShape, qb: number): Generator<Tile> {
  const q0 = qb * s.blockQ;
  const bq = Math.min(s.blockQ, shape.seqlenQ - q0);
  const bq4 = roundUp(bq, 4);
  const map = plan.map;
  for (let r = map.rowRuns[qb]; r < map.rowRuns[qb + 1]; r++) {
    const partial = map.runFull[r] === 0;
    for (let kb = map.runStart[r]; kb < map.runEnd[r]; kb++) {
      const k0 = kb * s.blockK;
      const bk = Math.min(s.blockK, shape.seqlenK - k0);
      const bk4 = roundUp(bk, 4);
      yield { q0, bq, bq4, k0, bk, bk4, masked: partial || bk !== bk4 };
    }
  }
}

/** Bias tile [bq4 x bk4] at float index `at`: 0 where the mask keeps (i, j), -inf elsewhere. */
function fillBias(mem: Float32Array, at: number, index: SliceIndex, t: Tile): void {
  mem.fill(-Infinity, at, at + t.bq4 * t.bk4);
  const q1 = t.q0 + t.bq;
  const k1 = t.k0 + t.bk;
  for (const band of index.overlapping(t.q0, q1, t.k0, k1)) {
    const c = clipBand(band, t.q0, q1, t.k0, k1);
    const rows = bandRows(c);
    for (let i = rows.start; i < rows.end; i++) {
      const base = at + (i - t.q0) * t.bk4 - t.k0;
      mem.fill(0, base + bandRowLo(c, i), base + bandRowHi(c, i));
    }
  }
}

/** Copy `rows` rows of length d from src[off..] into mem at float index `at`, padded to [rows4 x dp]. */
function copyIn(src: Floats, off: number, rows: number, d: number, mem: Float32Array, at: number, dp: number, rows4: number): void {
  if (d === dp) mem.set(src.subarray(off, off + rows * d), at);
  else {
    for (let r = 0; r < rows; r++) {
      mem.set(src.subarray(off + r * d, off + (r + 1) * d), at + r * dp);
      mem.fill(0, at + r * dp + d, at + (r + 1) * dp);
    }
  }
  mem.fill(0, at + rows * dp, at + rows4 * dp);
}

/** Inverse of copyIn: `rows` rows of length d from mem (stride dp) into dst[off..]. */
function copyOut(mem: Float32Array, at: number, rows: number, d: number, dp: number, dst: Float32Array, off: number): void {
  if (d === dp) dst.set(mem.subarray(at, at + rows * d), off);
  else for (let r = 0; r < rows; r++) dst.set(mem.subarray(at + r * dp, at + r * dp + d), off + r * d);
}

export function tiledForward(
  q: Floats,
  k: Floats,
  v: Floats,
  mask: MaskArg,
  shape: CpuAttnShape,
  opts: TiledOptions = {},
): FwdResult {
  checkInputs(shape, mask, [qOperand('q', q, shape), kvOperand('k', k, shape), kvOperand('v', v, shape)], opts.heads);
  const { seqlenQ: Sq, seqlenK: Sk, headDim: D } = shape;
  const out = new Float32Array(shape.headsQ * Sq * D);
  const lse = new Float32Array(shape.headsQ * Sq);
  const s = setup(mask, shape, opts);
  const { dp, blockQ, blockK } = s;
  const wasm = attnWasm();
  const arena = new Arena(wasm);
  const pQ = arena.alloc(s.sq4 * dp);
  const pK = arena.alloc(s.sk4 * dp);
  const pV = arena.alloc(s.sk4 * dp);
  const pO = arena.alloc(s.sq4 * dp);
  const pLse = arena.alloc(s.sq4);
  const pS = arena.alloc(blockQ * blockK);
  const pBias = arena.alloc(blockQ * blockK);
  const pAcc = arena.alloc(blockQ * dp);
  const pM = arena.alloc(blockQ);
  const pL = arena.alloc(blockQ);
  const mem = arena.view();
  const scaleLog2 = scaleOf(shape) * Math.LOG2E;
  const row = dp * 4; // bytes per padded row

  for (const { g, hs } of headPairs(shape, s.heads)) {
    const plan = s.plans[g];
    copyIn(k, g * Sk * D, Sk, D, mem, pK / 4, dp, s.sk4);
    copyIn(v, g * Sk * D, Sk, D, mem, pV / 4, dp, s.sk4);
    for (const h of hs) {
      copyIn(q, h * Sq * D, Sq, D, mem, pQ / 4, dp, s.sq4);
      for (let qb = 0; qb < plan.map.numBlocksQ; qb++) {
        const q0 = qb * blockQ;
        const bq = Math.min(blockQ, Sq - q0);
        mem.fill(-Infinity, pM / 4, pM / 4 + blockQ);
        mem.fill(0, pL / 4, pL / 4 + blockQ);
        mem.fill(0, pAcc / 4, pAcc / 4 + blockQ * dp);
        for (const t of tilesOfRow(plan, s, shape, qb)) {
          if (t.masked) fillBias(mem, pBias / 4, plan.index, t);
          wasm.fwdBlock(pQ + q0 * row, pK + t.k0 * row, pV + t.k0 * row, pS, t.masked ? pBias : 0, pAcc, pM, pL, t.bq4, t.bk4, dp, scaleLog2);
        }
        wasm.fwdFinish(pAcc, pM, pL, pO + q0 * row, pLse + q0 * 4, bq, dp);
      }
      copyOut(mem, pO / 4, Sq, D, dp, out, h * Sq * D);
      lse.set(mem.subarray(pLse / 4, pLse / 4 + Sq), h * Sq);
    }
  }
  return { out, lse };
}

/**
 * Backward of one (query rows x key block) piece of a possibly larger attention. `out` and `lse`
 * are the FINAL output and log-sum-exp of these query rows (merged over every key block, as ring
 * attention has them), so P = exp(scale q.k - lse) is the true softmax restricted to this block and
 * Di = rowsum(dout * out) is the true correction term. dq is this block's contribution (sum it over
 * key blocks); dk, dv are the gradients of this key block (summed over the selected query heads).
 */
export function tiledBackward(
  q: Floats,
  k: Floats,
  v: Floats,
  out: Floats,
  lse: Floats,
  dout: Floats,
  mask: MaskArg,
  shape: CpuAttnShape,
  opts: TiledOptions = {},
): BwdResult {
  checkInputs(
    shape,
    mask,
    [
      qOperand('q', q, shape),
      kvOperand('k', k, shape),
      kvOperand('v', v, shape),
      qOperand('out', out, shape),
      lseOperand(lse, shape),
      qOperand('dout', dout, shape),
    ],
    opts.heads,
  );
  const { seqlenQ: Sq, seqlenK: Sk, headDim: D } = shape;
  const dq = new Float32Array(shape.headsQ * Sq * D);
  const dk = new Float32Array(shape.headsKv * Sk * D);
  const dv = new Float32Array(shape.headsKv * Sk * D);
  const s = setup(mask, shape, opts);
  const { dp, blockQ, blockK } = s;
  const wasm = attnWasm();
  const arena = new Arena(wasm);
  const pQ = arena.alloc(s.sq4 * dp);
  const pDo = arena.alloc(s.sq4 * dp);
  const pDq = arena.alloc(s.sq4 * dp);
  const pLse = arena.alloc(s.sq4);
  const pDi = arena.alloc(s.sq4);
  const pK = arena.alloc(s.sk4 * dp);
  const pV = arena.alloc(s.sk4 * dp);
  const pDk = arena.alloc(s.sk4 * dp);
  const pDv = arena.alloc(s.sk4 * dp);
  const pS = arena.alloc(blockQ * blockK);
  const pDp = arena.alloc(blockQ * blockK);
  const pBias = arena.alloc(blockQ * blockK);
  const mem = arena.view();
  const scale = scaleOf(shape);
  const scaleLog2 = scale * Math.LOG2E;
  const row = dp * 4;

  for (const { g, hs } of headPairs(shape, s.heads)) {
    const plan = s.plans[g];
    copyIn(k, g * Sk * D, Sk, D, mem, pK / 4, dp, s.sk4);
    copyIn(v, g * Sk * D, Sk, D, mem, pV / 4, dp, s.sk4);
    mem.fill(0, pDk / 4, pDk / 4 + s.sk4 * dp);
    mem.fill(0, pDv / 4, pDv / 4 + s.sk4 * dp);
    for (const h of hs) {
      copyIn(q, h * Sq * D, Sq, D, mem, pQ / 4, dp, s.sq4);
      copyIn(dout, h * Sq * D, Sq, D, mem, pDo / 4, dp, s.sq4);
      mem.fill(0, pDq / 4, pDq / 4 + s.sq4 * dp);
      // Per row: lse in base 2 (+inf zeroes P: fully masked and padded rows) and Di = dout . out.
      mem.fill(Infinity, pLse / 4, pLse / 4 + s.sq4);
      mem.fill(0, pDi / 4, pDi / 4 + s.sq4);
      for (let i = 0; i < Sq; i++) {
        const l = lse[h * Sq + i];
        if (l !== -Infinity) mem[pLse / 4 + i] = l * Math.LOG2E;
        let di = 0;
        for (let d = 0, o = (h * Sq + i) * D; d < D; d++) di += dout[o + d] * out[o + d];
        mem[pDi / 4 + i] = di;
      }
      for (let qb = 0; qb < plan.map.numBlocksQ; qb++) {
        const q0 = qb * blockQ;
        for (const t of tilesOfRow(plan, s, shape, qb)) {
          if (t.masked) fillBias(mem, pBias / 4, plan.index, t);
          wasm.bwdBlock(
            pQ + q0 * row, pK + t.k0 * row, pV + t.k0 * row, pDo + q0 * row, pLse + q0 * 4, pDi + q0 * 4,
            pS, pDp, t.masked ? pBias : 0, pDq + q0 * row, pDk + t.k0 * row, pDv + t.k0 * row,
            t.bq4, t.bk4, dp, scaleLog2, scale,
          );
        }
      }
      copyOut(mem, pDq / 4, Sq, D, dp, dq, h * Sq * D);
    }
    copyOut(mem, pDk / 4, Sk, D, dp, dk, g * Sk * D);
    copyOut(mem, pDv / 4, Sk, D, dp, dv, g * Sk * D);
  }
  return { dq, dk, dv };
}
