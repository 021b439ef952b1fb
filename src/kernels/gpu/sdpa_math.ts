// sdpa_math: torch SDPA, math backend: is_causal, nested tensors for documents, dense mask otherwise
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const sdpaMath = {
  id: 'sdpa_math',
  executor: 'torch',
  description: 'torch SDPA, math backend: is_causal, nested tensors for documents, dense mask otherwise',
  formats: ['window', 'varlen', 'dense'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16', 'float32'], perHeadMask: true },
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
