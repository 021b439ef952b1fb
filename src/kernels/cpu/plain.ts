// Plain JavaScript float32 attention: one query row at a time, no tiling, no SIMD. It skips masked
// keys through the row's column ranges (so it does the same work as the tiled kernel) and is the
// baseline the CPU kernel benchmark compares against.
import { rowRanges, SliceIndex } from '../../mask/slices.js';
import {
  checkInputs,
  groupSize,
  kvOperand,
  maskOfKvHead,
  qOperand,
  scaleOf,
  type CpuAttnShape,
  type Floats,
  type FwdResult,
  type MaskArg,
} from './common.js';

export function plainJsForward(q: Floats, k: Floats, v: Floats, mask: MaskArg, shape: CpuAttnShape): FwdResult {
  checkInputs(shape, mask, [qOperand('q', q, shape), kvOperand('k', k, shape), kvOperand('v', v, shape)]);
  const { seqlenQ: Sq, seqlenK: Sk, headDim: D } = shape;
  const scale = scaleOf(shape);
  const group = groupSize(shape);
  const out = new Float32Array(shape.headsQ * Sq * D);
  const lse = new Float32Array(shape.headsQ * Sq);
  const scores = new Float32Array(Sk);
  for (let g = 0; g < shape.headsKv; g++) {
    const index = new SliceIndex(maskOfKvHead(mask, g));
    const kv = g * Sk * D;
    for (let i = 0; i < Sq; i++) {
      const ranges = rowRanges(index, i);
      for (let h = g * group; h < (g + 1) * group; h++) {
        const qo = (h * Sq + i) * D;
        let max = -Infinity;
        for (const r of ranges) {
          for (let j = r.start; j < r.end; j++) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qo + d] * k[kv + j * D + d];
            scores[j] = dot * scale;
            if (scores[j] > max) max = scores[j];
          }
        }
        if (max === -Infinity) {
          lse[h * Sq + i] = -Infinity;
          continue;
        }
        let sum = 0;
        for (const r of ranges) {
          for (let j = r.start; j < r.end; j++) {
            const p = Math.exp(scores[j] - max);
            sum += p;
            for (let d = 0; d < D; d++) out[qo + d] += p * v[kv + j * D + d];
          }
        }
        for (let d = 0; d < D; d++) out[qo + d] /= sum;
        lse[h * Sq + i] = max + Math.log(sum);
      }
    }
  }
  return { out, lse };
}
