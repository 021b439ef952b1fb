// Shapes, layouts and mask lookup shared by the CPU attention kernels.
//
// Layout (row-major, batch 1):  Q, O, dQ  [headsQ, seqlenQ, headDim]
//                               K, V, dK, dV  [headsKv, seqlenK, headDim]
//                               LSE  [headsQ, seqlenQ]
// GQA: query head h reads KV head floor(h / (headsQ / headsKv)).
import type { Mask } from '../../mask/types.js';

export interface CpuAttnShape {
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  /** Softmax scale; default 1 / sqrt(headDim). */
  readonly scale?: number;
}

export interface FwdResult {
  readonly out: Float32Array;
  /** Natural log of the softmax denominator per query row; -Infinity where the row is fully masked. */
  readonly lse: Float32Array;
}

export interface BwdResult {
  readonly dq: Float32Array;
  readonly dk: Float32Array;
  readonly dv: Float32Array;
}

export type Floats = Float32Array | Float64Array;

/** One mask shared by every head, or one mask per KV head (block-sparse families). */
export type MaskArg = Mask | readonly Mask[];

/** A half-open range of query heads [start, end). */
export interface HeadRange {
  readonly start: number;
  readonly end: number;
}

export function scaleOf(shape: CpuAttnShape): number {
  return shape.scale ?? 1 / Math.sqrt(shape.headDim);
}

/** Query heads per KV head. */
export function groupSize(shape: CpuAttnShape): number {
  return shape.headsQ / shape.headsKv;
}

/** The mask of KV head g. */
export function maskOfKvHead(mask: MaskArg, g: number): Mask {
  return isMaskList(mask) ? mask[g] : mask;
}

function isMaskList(mask: MaskArg): mask is readonly Mask[] {
  return Array.isArray(mask);
}

interface Operand {
  readonly name: string;
  readonly data: ArrayLike<number> | undefined;
  readonly heads: number;
  readonly rows: number;
  readonly cols: number;
}

/** Throws a descriptive error unless the shape, the masks and every operand agree. */
export function checkInputs(shape: CpuAttnShape, mask: MaskArg, operands: readonly Operand[], heads?: HeadRange): void {
  const { seqlenQ, seqlenK, headsQ, headsKv, headDim } = shape;
  for (const [k, x] of Object.entries({ seqlenQ, seqlenK, headsQ, headsKv, headDim })) {
    if (!Number.isInteger(x) || x < (k.startsWith('seqlen') ? 0 : 1)) throw new Error(`shape.${k} must be a positive integer, got ${x}`);
  }
  if (headsQ % headsKv !== 0) throw new Error(`headsQ (${headsQ}) must be a multiple of headsKv (${headsKv})`);
  const masks = isMaskList(mask) ? mask : [mask];
  if (isMaskList(mask) && mask.length !== headsKv) throw new Error(`expected ${headsKv} per-KV-head masks, got ${mask.length}`);
  for (const m of masks) {
    if (m.seqlenQ !== seqlenQ || m.seqlenK !== seqlenK)
      throw new Error(`mask is ${m.seqlenQ}x${m.seqlenK} but the shape is ${seqlenQ}x${seqlenK}`);
  }
  for (const o of operands) {
    const want = o.heads * o.rows * o.cols;
    if (!o.data || o.data.length !== want) throw new Error(`${o.name} must hold ${want} values (${o.heads}x${o.rows}x${o.cols}), got ${o.data?.length}`);
  }
  if (heads && !(Number.isInteger(heads.start) && Number.isInteger(heads.end) && 0 <= heads.start && heads.start <= heads.end && heads.end <= headsQ))
    throw new Error(`heads range [${heads.start}, ${heads.end}) is not inside [0, ${headsQ})`);
}

export function qOperand(name: string, data: ArrayLike<number> | undefined, s: CpuAttnShape): Operand {
  return { name, data, heads: s.headsQ, rows: s.seqlenQ, cols: s.headDim };
}

export function kvOperand(name: string, data: ArrayLike<number> | undefined, s: CpuAttnShape): Operand {
  return { name, data, heads: s.headsKv, rows: s.seqlenK, cols: s.headDim };
}

export function lseOperand(data: ArrayLike<number> | undefined, s: CpuAttnShape): Operand {
  return { name: 'lse', data, heads: s.headsQ, rows: s.seqlenQ, cols: 1 };
}
