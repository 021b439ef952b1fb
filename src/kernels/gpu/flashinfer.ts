// flashinfer: FlashInfer prefill: single_prefill (causal / window) and ragged batch prefill (cu_seqlens); forward only
import type { GpuKernelDescriptor } from './accept.js';
import { varlenWithoutWindow } from './accept.js';

export const flashinfer = {
  id: 'flashinfer',
  executor: 'torch',
  description: 'FlashInfer prefill: single_prefill (causal / window) and ragged batch prefill (cu_seqlens); forward only',
  formats: ['window', 'varlen'],
  caps: { backward: false, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  requires: 'flashinfer',
  accepts: varlenWithoutWindow,
} as const satisfies GpuKernelDescriptor;
