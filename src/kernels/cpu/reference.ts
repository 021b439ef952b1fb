// Float64 reference attention: one query row at a time, straight from the definition.
//   s_ij = scale * q_i . k_j over unmasked j,  lse_i = log sum_j exp(s_ij),  P_ij = exp(s_ij - lse_i)
//   out_i = sum_j P_ij v_j
// Backward (softmax Jacobian): dP_ij = dout_i . v_j,  D_i = sum_j P_ij dP_ij,  dS_ij = P_ij (dP_ij - D_i)
//   dq_i = scale sum_j dS_ij k_j,  dk_j += scale dS_ij q_i,  dv_j += P_ij dout_i
// Slow by design (no blocking); the yardstick for every fast kernel.
import { AttnbenchError } from '../../errors.js';
import { rowRanges, SliceIndex } from '../../mask/slices.js';
import type { Range } from '../../mask/types.js';
import {
  checkInputs,
  groupSize,
  kvOperand,
  maskOfKvHead,
  qOperand,
  scaleOf,
  type CpuAttnShape,
  type Floats,
  type MaskArg,
} from './common.js';

interface RowProbs {
  /** Unmasked key indices of the row, in order. */
  readonly cols: Int32Array;
  /** Softmax probabilities, aligned with cols. */
  readonly p: Float64Array;
  readonly lse: number;
}

function rowKeys(ranges: readonly Range[]): Int32Array {
  const n = ranges.reduce((a, r) => a + r.end - r.start, 0);
  const cols = new Int32Array(n);
  let t = 0;
  for (const r of ranges) for (let j = r.start; j < r.end; j++) cols[t++] = j;
  return cols;
}

function rowProbs(q: Floats, qOff: number, k: Floats, kOff: number, D: number, scale: number, cols: Int32Array): RowProbs {
  const p = new Float64Array(cols.length);
  let max = -Infinity;
  for (let t = 0; t < cols.length; t++) {
    const kr = kOff + cols[t] * D;
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qOff + d] * k[kr + d];
    p[t] = scale * dot;
    if (p[t] > max) max = p[t];
  }
  if (cols.length === 0) return { cols, p, lse: -Infinity };
  let sum = 0;
  for (let t = 0; t < cols.length; t++) sum += Math.exp(p[t] - max);
  const lse = max + Math.log(sum);
  for (let t = 0; t < cols.length; t++) p[t] = Math.exp(p[t] - lse);
  return { cols, p, lse };
}

/** Calls fn(h, g, i, cols) for every query head h (KV head g) and query row i. */
/** Optional limits of a reference call: `deadline` (Date.now() ms) ends it with a timeout error. */
export interface ReferenceOptions {
  readonly deadline?: number;
}

function forEachRow(mask: MaskArg, shape: CpuAttnShape, fn: (h: number, g: number, i: number, cols: Int32Array) => void, opts: ReferenceOptions = {}): void {
  const group = groupSize(shape);
  for (let g = 0; g < shape.headsKv; g++) {
    const idx = new SliceIndex(maskOfKvHead(mask, g));
    for (let i = 0; i < shape.seqlenQ; i++) {
      if (opts.deadline !== undefined && (i & 31) === 0 && Date.now() > opts.deadline)
        throw new AttnbenchError('timeout', `the float64 reference did not finish within the case's timeout (at KV head ${g}, row ${i} of ${shape.seqlenQ})`);
      const cols = rowKeys(rowRanges(idx, i));
      for (let h = g * group; h < (g + 1) * group; h++) fn(h, g, i, cols);
    }
  }
}

export function referenceForward(
  q: Floats,
  k: Floats,
  v: Floats,
  mask: MaskArg,
  shape: CpuAttnShape,
  opts: ReferenceOptions = {},
): { out: Float64Array; lse: Float64Array } {
  checkInputs(shape, mask, [qOperand('q', q, shape), kvOperand('k', k, shape), kvOperand('v', v, shape)]);
  const { seqlenQ: Sq, seqlenK: Sk, headDim: D } = shape;
  const scale = scaleOf(shape);
  const out = new Float64Array(shape.headsQ * Sq * D);
  const lse = new Float64Array(shape.headsQ * Sq);
  forEachRow(mask, shape, (h, g, i, cols) => {
    const qOff = (h * Sq + i) * D;
    const kOff = g * Sk * D;
    const r = rowProbs(q, qOff, k, kOff, D, scale, cols);
    lse[h * Sq + i] = r.lse;
    for (let t = 0; t < cols.length; t++) {
      const vr = kOff + cols[t] * D;
      for (let d = 0; d < D; d++) out[qOff + d] += r.p[t] * v[vr + d];
    }
  }, opts);
  return { out, lse };
}

export function referenceBackward(
  q: Floats,
  k: Floats,
  v: Floats,
  mask: MaskArg,
  shape: CpuAttnShape,
  dout: Floats,
  opts: ReferenceOptions = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  checkInputs(shape, mask, [
    qOperand('q', q, shape),
    kvOperand('k', k, shape),
    kvOperand('v', v, shape),
    qOperand('dout', dout, shape),
  ]);
  const { seqlenQ: Sq, seqlenK: Sk, headDim: D } = shape;
  const scale = scaleOf(shape);
  const dq = new Float64Array(shape.headsQ * Sq * D);
  const dk = new Float64Array(shape.headsKv * Sk * D);
  const dv = new Float64Array(shape.headsKv * Sk * D);
  forEachRow(mask, shape, (h, g, i, cols) => {
    const qOff = (h * Sq + i) * D;
    const kOff = g * Sk * D;
    const { p } = rowProbs(q, qOff, k, kOff, D, scale, cols);
    const dp = new Float64Array(cols.length);
    let di = 0;
    for (let t = 0; t < cols.length; t++) {
      const vr = kOff + cols[t] * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += dout[qOff + d] * v[vr + d];
      dp[t] = dot;
      di += p[t] * dot;
    }
    for (let t = 0; t < cols.length; t++) {
      const kr = kOff + cols[t] * D;
      const ds = scale * p[t] * (dp[t] - di);
      for (let d = 0; d < D; d++) {
        dq[qOff + d] += ds * k[kr + d];
        dk[kr + d] += ds * q[qOff + d];
        dv[kr + d] += p[t] * dout[qOff + d];
      }
    }
  }, opts);
  return { dq, dk, dv };
}
