// sdpa_flash: torch SDPA, FlashAttention-2 backend: is_causal, nested tensors for documents (no mask tensor)
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const sdpaFlash = {
  id: 'sdpa_flash',
  executor: 'torch',
  description: 'torch SDPA, FlashAttention-2 backend: is_causal, nested tensors for documents (no mask tensor)',
  formats: ['window', 'varlen'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: false },
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
