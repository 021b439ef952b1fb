// torch_naive: eager matmul + softmax with a dense mask (materialises S x S scores; OOM is a finding)
import type { GpuKernelDescriptor } from './accept.js';

export const torchNaive = {
  id: 'torch_naive',
  executor: 'torch',
  description: 'eager matmul + softmax with a dense mask (materialises S x S scores; OOM is a finding)',
  formats: ['dense'],
  caps: { backward: true, gqa: 'native', dtypes: ['bfloat16', 'float16', 'float32'], perHeadMask: true },
} as const satisfies GpuKernelDescriptor;
