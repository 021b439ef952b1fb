// The kernel registry: every kernel id, once. Adding a kernel = one descriptor file + one line here.
// The id type is derived from this array; the same id is the python module name, the CLI value and
// the database value.
import { badInput } from '../errors.js';
import { reference } from './reference.js';
import { cpuTiled } from './cpu_tiled.js';
import type { GpuKernelDescriptor } from './gpu/accept.js';
import { fa2 } from './gpu/fa2.js';
import { fa3 } from './gpu/fa3.js';
import { fa4 } from './gpu/fa4.js';
import { flashinfer } from './gpu/flashinfer.js';
import { flashmask } from './gpu/flashmask.js';
import { flex } from './gpu/flex.js';
import { jaxCudnn } from './gpu/jax_cudnn.js';
import { jaxPallas } from './gpu/jax_pallas.js';
import { magiFfa } from './gpu/magi_ffa.js';
import { sdpaCudnn } from './gpu/sdpa_cudnn.js';
import { sdpaEfficient } from './gpu/sdpa_efficient.js';
import { sdpaFlash } from './gpu/sdpa_flash.js';
import { sdpaMath } from './gpu/sdpa_math.js';
import { teFused } from './gpu/te_fused.js';
import { torchNaive } from './gpu/torch_naive.js';
import { tritonBlocksparse } from './gpu/triton_blocksparse.js';
import { tritonRanges } from './gpu/triton_ranges.js';

// Order: the report's and simulator's (SPEC section 5, the GPU kernels first); a new kernel goes last.
export const KERNELS = [
  torchNaive,
  sdpaMath,
  sdpaEfficient,
  sdpaFlash,
  sdpaCudnn,
  flex,
  jaxCudnn,
  jaxPallas,
  fa2,
  fa3,
  fa4,
  teFused,
  flashinfer,
  magiFfa,
  flashmask,
  reference,
  cpuTiled,
  tritonBlocksparse,
  tritonRanges,
] as const satisfies readonly GpuKernelDescriptor[];

export type KernelId = (typeof KERNELS)[number]['id'];

// Kernels registered at run time (--kernel-module, src/kernels/external.ts) follow the built-in
// ones in KERNEL_IDS and allKernels(), so parsing, sweeps, doctor and the report see them too.
const EXTERNAL: GpuKernelDescriptor[] = [];
const ids: string[] = KERNELS.map((k) => k.id);

export const KERNEL_IDS: readonly KernelId[] = ids as KernelId[];

export function isKernelId(id: string): id is KernelId {
  return (KERNEL_IDS as readonly string[]).includes(id);
}

/** Built-in kernels, then registered external ones. */
export function allKernels(): readonly GpuKernelDescriptor[] {
  return [...KERNELS, ...EXTERNAL];
}

/** Adds an external kernel (its id must be new). */
export function registerKernel(d: GpuKernelDescriptor): void {
  if (ids.includes(d.id)) throw badInput(`kernel id '${d.id}' is already registered`);
  EXTERNAL.push(d);
  ids.push(d.id);
}

/** The descriptor of a kernel id; unknown ids are bad input (exit 2) naming the known ones. */
export function getKernel(id: string): GpuKernelDescriptor {
  const k = allKernels().find((d) => d.id === id);
  if (!k) throw badInput(`unknown kernel '${id}': expected one of ${KERNEL_IDS.join(', ')}`);
  return k;
}
