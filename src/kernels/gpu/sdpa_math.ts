// sdpa_math: torch SDPA, math backend: is_causal for full/causal, dense mask otherwise (the math backend takes no nested tensors)
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const sdpaMath = {
  id: 'sdpa_math',
  executor: 'torch',
  description: 'torch SDPA, math backend: is_causal for full/causal, dense mask otherwise (the math backend takes no nested tensors)',
  formats: ['window', 'dense'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16', 'float32'], perHeadMask: true },
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
