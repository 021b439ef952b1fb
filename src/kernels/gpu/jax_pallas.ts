// jax_pallas: Pallas Mosaic GPU attention for Hopper (jax.experimental.pallas.ops.gpu.attention_mgpu): full or causal.
// float16 only: with bfloat16 inputs its kernel fails inside ("src had type bfloat16 and dst had type
// float16", jax on the H100, 2026-11-24), so a bf16 case is an `unsupported` row, not a cast.
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const jaxPallas = {
  id: 'jax_pallas',
  executor: 'jax',
  description: 'Pallas Mosaic GPU attention for Hopper (jax.experimental.pallas.ops.gpu.attention_mgpu): full or causal',
  formats: ['window'],
  caps: { backward: true, gqa: 'native', dtypes: ['float16'], perHeadMask: false },
  requires: 'jax',
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
