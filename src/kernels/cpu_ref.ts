// cpu_ref: the float64 reference attention in TypeScript (src/kernels/cpu/reference.ts), exact on every mask.
import type { KernelDescriptor } from './types.js';

export const cpuRef = {
  id: 'cpu_ref',
  executor: 'cpu',
  description: 'float64 reference attention in TypeScript over the slices (exact; small sizes)',
  formats: ['slices'],
  caps: { backward: true, gqa: 'native', dtypes: ['float32', 'bfloat16', 'float16'], perHeadMask: true },
} as const satisfies KernelDescriptor;
