// cpu_tiled: tiled online-softmax attention in WebAssembly SIMD (src/kernels/cpu/tiled.ts), the default CPU kernel.
import type { KernelDescriptor } from './types.js';

export const cpuTiled = {
  id: 'cpu_tiled',
  executor: 'cpu',
  description: 'tiled online-softmax attention (WebAssembly SIMD) over the slices, skipping empty blocks',
  formats: ['slices'],
  caps: { backward: true, gqa: 'native', dtypes: ['float32', 'bfloat16', 'float16'], perHeadMask: true },
} as const satisfies KernelDescriptor;
