// sdpa_cudnn: torch SDPA, cuDNN backend: is_causal, nested tensors for documents, dense mask otherwise
import type { GpuKernelDescriptor } from './accept.js';
import { fullOrCausalOnly } from './accept.js';

export const sdpaCudnn = {
  id: 'sdpa_cudnn',
  executor: 'torch',
  description: 'torch SDPA, cuDNN backend: is_causal, nested tensors for documents, dense mask otherwise',
  formats: ['window', 'varlen', 'dense'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: true },
  accepts: fullOrCausalOnly,
} as const satisfies GpuKernelDescriptor;
