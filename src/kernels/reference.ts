// reference: the one reference kernel id. On the cpu executor it is the float64 attention in
// TypeScript (src/kernels/cpu/reference.ts), exact on every mask; CP on torch runs the python
// module of the same id (python/attnbench_worker/kernels/reference.py, chunked float32), and the
// kernel suites' error columns compare against the executor's reference.
import type { KernelDescriptor } from './types.js';

export const reference = {
  id: 'reference',
  executor: 'cpu',
  description: 'reference attention: float64 in TypeScript over the slices (exact; small sizes)',
  formats: ['slices'],
  caps: { backward: true, gqa: 'native', dtypes: ['float32', 'bfloat16', 'float16'], perHeadMask: true },
} as const satisfies KernelDescriptor;
