// jax_pallas: Pallas Mosaic GPU attention for Hopper (jax.experimental.pallas.ops.gpu.attention_mgpu): full or causal
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const jaxPallas = {
  id: 'jax_pallas',
  executor: 'jax',
  description: 'Pallas Mosaic GPU attention for Hopper (jax.experimental.pallas.ops.gpu.attention_mgpu): full or causal',
  formats: ['window'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'jax',
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
