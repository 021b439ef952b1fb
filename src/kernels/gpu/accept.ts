// What a GPU kernel accepts beyond its format list: some formats carry values that only part of
// the kernels can take (SDPA's is_causal takes full or causal but no window). The job builder asks
// `accepts` after the adapter succeeded, and moves on to the next format when it says no.
import type { AdaptOptions, FormatValues } from '../../mask/adapters/index.js';
import type { KernelDescriptor, MaskFormat } from '../types.js';

export type Accepts = <F extends MaskFormat>(format: F, value: FormatValues[F]) => string | null;

export interface GpuKernelDescriptor extends KernelDescriptor {
  /** null if the kernel takes this adapted value, else the reason it does not. */
  readonly accepts?: Accepts;
  /** Adapter options this kernel wants for a case's shape (e.g. triton_ranges' tiles); merged over the block size. */
  readonly adaptOptions?: (shape: KernelShape, block: number) => AdaptOptions;
}

/** The parts of a kernel case that a kernel's tile choice depends on. */
export interface KernelShape {
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: string;
}

const unbounded = (w: { left: number; right: number } | undefined): boolean => !w || (w.left < 0 && w.right < 0);

/** SDPA-style: window only as full (-1, -1) or causal (-1, 0); varlen documents without a window. */
export const fullOrCausalOnly: Accepts = (format, value) => {
  if (format === 'window') {
    const w = value as FormatValues['window'];
    if ((w.left < 0 && w.right < 0) || (w.left < 0 && w.right === 0)) return null;
    return `takes full or causal (is_causal) but not a sliding window (${w.left}, ${w.right})`;
  }
  if (format === 'varlen') {
    const v = value as FormatValues['varlen'];
    return unbounded(v.window) ? null : 'takes documents but not a window inside them';
  }
  return null;
};

/** Kernels whose varlen path has no window. */
export const varlenWithoutWindow: Accepts = (format, value) =>
  format === 'varlen' && !unbounded((value as FormatValues['varlen']).window) ? 'takes documents but not a window inside them' : null;
