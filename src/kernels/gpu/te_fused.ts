// te_fused: Transformer Engine DotProductAttention (fused attention): causal / window, thd with cu_seqlens
import type { GpuKernelDescriptor } from './accept.js';

export const teFused = {
  id: 'te_fused',
  executor: 'torch',
  description: 'Transformer Engine DotProductAttention (fused attention): causal / window, thd with cu_seqlens',
  formats: ['window', 'varlen'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'transformer_engine',
} as const satisfies GpuKernelDescriptor;
