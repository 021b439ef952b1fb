// fa3: flash-attn 3 (Hopper): flash_attn_func / flash_attn_varlen_func
import type { GpuKernelDescriptor } from './accept.js';

export const fa3 = {
  id: 'fa3',
  executor: 'torch',
  description: 'flash-attn 3 (Hopper): flash_attn_func / flash_attn_varlen_func',
  formats: ['window', 'varlen'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'flash_attn_interface',
} as const satisfies GpuKernelDescriptor;
