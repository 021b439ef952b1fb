// The one FLOP count (SPEC 6) and the one TFLOP/s rule. Every row, plan, simulator and benchmark
// that counts attention work calls these (no re-derived 4 * area * H * D elsewhere).
//   forward  = 4 * area * headsQ * headDim   (QK^T and PV: 2 multiply-adds per unmasked pair per head-dim)
//   backward = 2.5 * forward                 (dS, dP, dQ, dK, dV: the FlashAttention-2 paper's count)

export const BWD_FLOPS_FACTOR = 2.5;

/** FLOPs of one attention call over `area` unmasked (query, key) pairs per head. */
export function attentionFlops(area: number, headsQ: number, headDim: number, direction: 'fwd' | 'bwd'): number {
  const fwd = 4 * area * headsQ * headDim;
  return direction === 'fwd' ? fwd : BWD_FLOPS_FACTOR * fwd;
}

/** TFLOP/s per GPU: `flops` of the whole case done in `ms` by `world` GPUs (null for no time). */
export function tflopsPerGpu(flops: number, ms: number, world = 1): number | null {
  return ms > 0 ? flops / (ms * 1e-3) / world / 1e12 : null;
}
