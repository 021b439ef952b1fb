// fa2: flash-attn 2: flash_attn_func (window_size) and flash_attn_varlen_func (cu_seqlens)
import type { GpuKernelDescriptor } from './accept.js';

export const fa2 = {
  id: 'fa2',
  executor: 'torch',
  description: 'flash-attn 2: flash_attn_func (window_size) and flash_attn_varlen_func (cu_seqlens)',
  formats: ['window', 'varlen'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'flash_attn',
} as const satisfies GpuKernelDescriptor;
