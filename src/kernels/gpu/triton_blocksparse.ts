// triton_blocksparse: our Triton block-sparse attention (forward and backward) over the block table; partial blocks masked from the slices
import type { GpuKernelDescriptor } from './accept.js';

export const tritonBlocksparse = {
  id: 'triton_blocksparse',
  executor: 'torch',
  description: 'our Triton block-sparse attention (forward and backward) over the block table; partial blocks masked from the slices',
  formats: ['block_table'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16'], perHeadMask: true },
  requires: 'triton',
} as const satisfies GpuKernelDescriptor;
