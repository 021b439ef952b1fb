// flex: torch FlexAttention (compiled): BlockMask from our block table + a mask_mod evaluating the slices
import type { GpuKernelDescriptor } from './accept.js';

export const flex = {
  id: 'flex',
  executor: 'torch',
  description: 'torch FlexAttention (compiled): BlockMask from our block table + a mask_mod evaluating the slices',
  formats: ['block_table'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16', 'float32'], perHeadMask: true },
} as const satisfies GpuKernelDescriptor;
