// magi_ffa: MagiAttention flex_flash_attn_func (FFA): the slice list as q_ranges / k_ranges / attn_type_map
import type { GpuKernelDescriptor } from './accept.js';

export const magiFfa = {
  id: 'magi_ffa',
  executor: 'torch',
  description: 'MagiAttention flex_flash_attn_func (FFA): the slice list as q_ranges / k_ranges / attn_type_map',
  formats: ['slices'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'magi_attention',
} as const satisfies GpuKernelDescriptor;
