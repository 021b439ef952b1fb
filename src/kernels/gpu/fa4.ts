// fa4: flash-attn 4 (CuTe DSL): flash_attn_func / flash_attn_varlen_func
import type { GpuKernelDescriptor } from './accept.js';

export const fa4 = {
  id: 'fa4',
  executor: 'torch',
  description: 'flash-attn 4 (CuTe DSL): flash_attn_func / flash_attn_varlen_func',
  formats: ['window', 'varlen'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'flash_attn.cute',
} as const satisfies GpuKernelDescriptor;
