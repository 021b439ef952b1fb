// flashmask: PaddlePaddle flashmask_attention: per-column row bounds (startend_row_indices)
import type { GpuKernelDescriptor } from './accept.js';

export const flashmask = {
  id: 'flashmask',
  executor: 'torch',
  description: 'PaddlePaddle flashmask_attention: per-column row bounds (startend_row_indices)',
  formats: ['flashmask'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'paddle',
} as const satisfies GpuKernelDescriptor;
