// jax_cudnn: jax.nn.dot_product_attention, cuDNN implementation: is_causal / local_window_size, dense mask otherwise
import type { GpuKernelDescriptor } from './accept.js';

export const jaxCudnn = {
  id: 'jax_cudnn',
  executor: 'jax',
  description: 'jax.nn.dot_product_attention, cuDNN implementation: is_causal / local_window_size, dense mask otherwise',
  formats: ['window', 'dense'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'jax',
} as const satisfies GpuKernelDescriptor;
