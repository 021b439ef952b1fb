// Per-kernel arguments of CP attention steps: for every mask an `attn` / `attn_bwd` step uses, the
// hook of the case's kernel writes the ready arguments that kernel's partial-attention entry takes
// (python/attnbench_worker/kernels/<id>.py partial_forward / partial_backward read them as
// `step.arrays`; python builds nothing from slices except the pure reference).
//
// Adding a kernel to CP: its python module gets the partial entry, and, when it needs arguments
// beyond the slices, ONE line here mapping its id to a hook (the adapters in src/mask/adapters
// produce the formats).
import { cpAutoCandidates, type CpAutoShape } from '../../kernels/cp-auto.js';
import { adapt } from '../../mask/adapters/index.js';
import type { Mask } from '../../mask/types.js';
import { badInput } from '../../errors.js';
import type { ArrayFile } from '../../worker/arrays.js';
import { rangesStepArrays } from '../../worker/ranges-args.js';
import type { ArrayRef } from '../../worker/protocol.js';

/** A step's ready arguments for one kernel: int32 arrays (in the job's arrays.bin) or numbers. */
export type PartialArgs = Readonly<Record<string, ArrayRef | number>>;
export type PartialArraysHook = (mask: Mask, arrays: ArrayFile) => PartialArgs;

/** flex's block size (its BlockMask's default). */
export const FLEX_BLOCK = 128;

/** flex: the BlockMask's block table (partial blocks resolved in python by the slices' mask_mod). */
export const flexBlockTable: PartialArraysHook = (m, arrays) => {
  const bt = adapt(m, 'block_table', { blockQ: FLEX_BLOCK, blockK: FLEX_BLOCK });
  if (bt.kind !== 'ok') throw badInput(`mask ${m.seqlenQ}x${m.seqlenK}: no flex block table: ${bt.reason}`);
  const v = bt.value;
  return {
    blockQ: v.blockQ,
    blockK: v.blockK,
    kvNumBlocks: arrays.add(v.kvNumBlocks, [1, v.numBlocksQ]),
    kvIndices: arrays.add(v.kvIndices, [1, v.numBlocksQ, v.maxK]),
    fullKvNumBlocks: arrays.add(v.fullKvNumBlocks, [1, v.numBlocksQ]),
    fullKvIndices: arrays.add(v.fullKvIndices, [1, v.numBlocksQ, v.maxFullK]),
  };
};

/** kernel id -> hook. Kernels whose partial entry needs only the slices (reference) have none. */
export const PARTIAL_ARRAYS: Readonly<Record<string, PartialArraysHook>> = {
  flex: flexBlockTable,
  triton_ranges: rangesStepArrays,
};

/**
 * Which kernels' arguments a case's job files carry (they are written for GPU runs): 'auto' means
 * every kernel it may run on CUDA for the shape (src/kernels/cp-auto.ts: triton_ranges, then flex),
 * so a GPU where triton_ranges cannot load still runs the case with flex (its rows then say flex).
 */
export function arrayKernels(kernel: string, shape: CpAutoShape): string[] {
  const ids = kernel === 'auto' ? cpAutoCandidates('cuda', shape) : [kernel];
  return ids.filter((k) => PARTIAL_ARRAYS[k] !== undefined);
}

/** Every hooked kernel's arguments for one non-empty mask. */
export function partialArgs(m: Mask, kernels: readonly string[], arrays: ArrayFile): Record<string, PartialArgs> {
  const out: Record<string, PartialArgs> = {};
  if (m.seqlenQ === 0 || m.seqlenK === 0) return out;
  for (const k of kernels) {
    const hook = PARTIAL_ARRAYS[k];
    if (hook) out[k] = hook(m, arrays);
  }
  return out;
}
