// sdpa_efficient: torch SDPA, memory-efficient backend: is_causal, nested tensors for documents, dense mask otherwise.
// GQA expanded: with enable_gqa this backend answers "No available kernel" (torch 2.11, H100, 2026-11-24).
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const sdpaEfficient = {
  id: 'sdpa_efficient',
  executor: 'torch',
  description: 'torch SDPA, memory-efficient backend: is_causal, nested tensors for documents, dense mask otherwise',
  formats: ['window', 'varlen', 'dense'],
  caps: { backward: true, gqa: 'expand', dtypes: ['bfloat16', 'float16', 'float32'], perHeadMask: true },
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
