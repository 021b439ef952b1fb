// Job builder: (kernel case, generated mask, kernel descriptor) -> a ready worker job, or the reason
// the kernel cannot express the mask. All mask logic happens here, through src/mask/adapters: the
// worker receives ready arguments and chooses nothing.
import type { KernelCase } from '../kernels/case.js';
import type { GpuKernelDescriptor } from '../kernels/gpu/accept.js';
import type { KernelDescriptor, MaskFormat } from '../kernels/types.js';
import { adapt, toSlices, type AdaptOptions, type FormatValues } from '../mask/adapters/index.js';
import type { GeneratedMask } from '../mask/types.js';
import { toleranceFor } from '../util/tolerance.js';
import { encodeRanges } from './ranges-args.js';
import type { ArrayFile } from './arrays.js';
import type { JobSlices, MaskArg, WorkerJob } from './protocol.js';

export type JobPlan =
  | { readonly kind: 'job'; readonly job: WorkerJob }
  | { readonly kind: 'unsupported'; readonly reason: string };

export interface JobOptions {
  /** Job id (default: the case id; file mode adds the mask sample). */
  readonly id?: string;
  readonly timeoutS?: number;
  readonly baseDir?: string;
  /** Seed of the random inputs (default: the case's seed). */
  readonly inputSeed?: number;
  readonly allowShort?: boolean;
  readonly debug?: WorkerJob['debug'];
}

/** Default per-job limit: compile + reference + warm-up + timed calls of the largest cases. */
export const DEFAULT_TIMEOUT_S = 900;

/**
 * Block size of the block table: a block-sparse family's own block when it is a kernel tile size
 * (64 or 128), else flex's 128 (coarser family blocks, e.g. block_causal_document's 1024, are
 * exact at 128 too: their 128-blocks are all full or empty).
 */
export function blockSizeOf(mask: GeneratedMask): number {
  const b = Number(mask.params.block);
  return b === 64 || b === 128 ? b : 128;
}

export function buildJob(c: KernelCase, mask: GeneratedMask, d: KernelDescriptor | GpuKernelDescriptor, arrays: ArrayFile, o: JobOptions = {}): JobPlan {
  if (c.direction === 'bwd' && !d.caps.backward) return unsupported(`${d.id} has no backward pass`);
  if (!d.caps.dtypes.includes(c.dtype)) return unsupported(`${d.id} does not take ${c.dtype} (takes ${d.caps.dtypes.join(', ')})`);
  const heads = mask.heads;
  if (heads.length === 0) return unsupported('the mask has no heads');
  const perHead = heads.length > 1;
  if (perHead && heads.length !== c.headsKv) return unsupported(`a per-head mask has ${heads.length} heads but the case has ${c.headsKv} KV heads`);
  if (perHead && !d.caps.perHeadMask) return unsupported(`${d.id} takes one mask for all heads; ${mask.family} has one per KV head`);
  const block = blockSizeOf(mask);
  const opts: AdaptOptions = { blockQ: block, blockK: block, ...('adaptOptions' in d && d.adaptOptions ? d.adaptOptions(c, block) : {}) };
  const reasons: string[] = [];
  let chosen: { format: MaskFormat; args: { [k: string]: MaskArg } } | undefined;
  for (const format of d.formats) {
    if (format === 'dense') {
      // Built by the worker on the GPU from the slices (its size is the kernel's problem: OOM is a finding).
      chosen = { format, args: {} };
      break;
    }
    const r = adapt(perHead ? heads : heads[0], format, opts);
    if (r.kind !== 'ok') {
      reasons.push(`${format}: ${r.reason}`);
      continue;
    }
    const refusal = 'accepts' in d && d.accepts ? d.accepts(format, r.value) : null;
    if (refusal) {
      reasons.push(`${format}: ${d.id} ${refusal}`);
      continue;
    }
    chosen = { format, args: encodeArgs(format, r.value, arrays) };
    break;
  }
  if (!chosen) return unsupported(`${d.id} cannot express ${mask.family}: ${reasons.join('; ')}`);
  const slices: JobSlices[] = heads.map((m) => {
    const s = toSlices(m);
    if (s.kind !== 'ok') throw new Error(`slices of ${mask.family}: ${s.reason}`);
    const n = s.value.types.length;
    return {
      qRanges: arrays.add(s.value.qRanges, [n, 2]),
      kRanges: arrays.add(s.value.kRanges, [n, 2]),
      types: arrays.add(s.value.types, [n]),
    };
  });
  const job: WorkerJob = {
    id: o.id ?? c.id,
    kernel: d.id,
    direction: c.direction,
    shape: {
      batch: c.batch,
      seqlenQ: heads[0].seqlenQ,
      seqlenK: heads[0].seqlenK,
      headsQ: c.headsQ,
      headsKv: c.headsKv,
      headDim: c.headDim,
      dtype: c.dtype,
    },
    gqa: c.headsQ !== c.headsKv && d.caps.gqa === 'expand' ? 'expand' : 'native',
    mask: { format: chosen.format, perHead, args: chosen.args },
    slices,
    timing: { warmup: c.warmup, iters: c.iters, flushL2: true, ...(o.allowShort ? { allowShort: true } : {}) },
    check: { upTo: c.checkUpTo, tolerance: toleranceFor(c.dtype) },
    seed: o.inputSeed ?? c.seed,
    timeoutS: o.timeoutS ?? DEFAULT_TIMEOUT_S,
    ...(o.baseDir ? { baseDir: o.baseDir } : {}),
    ...(o.debug ? { debug: o.debug } : {}),
  };
  return { kind: 'job', job };
}

function unsupported(reason: string): JobPlan {
  return { kind: 'unsupported', reason };
}

/** Adapter values -> JSON args with every array written to the binary file. */
export function encodeArgs<F extends MaskFormat>(format: F, value: FormatValues[F], arrays: ArrayFile): { [k: string]: MaskArg } {
  switch (format) {
    case 'window': {
      const w = value as FormatValues['window'];
      return { left: w.left, right: w.right };
    }
    case 'varlen': {
      const v = value as FormatValues['varlen'];
      return {
        cuSeqlensQ: arrays.add(v.cuSeqlensQ, [v.cuSeqlensQ.length]),
        cuSeqlensK: arrays.add(v.cuSeqlensK, [v.cuSeqlensK.length]),
        maxSeqlenQ: v.maxSeqlenQ,
        maxSeqlenK: v.maxSeqlenK,
        minSeqlenQ: v.minSeqlenQ,
        minSeqlenK: v.minSeqlenK,
        causal: v.causal,
        window: v.window ? { left: v.window.left, right: v.window.right } : null,
      };
    }
    case 'flashmask': {
      const f = value as FormatValues['flashmask'];
      return { startRowIndices: arrays.add(f.startRowIndices, [f.seqlenK, 4]), causal: f.causal };
    }
    case 'block_table': {
      const b = value as FormatValues['block_table'];
      return {
        blockQ: b.blockQ,
        blockK: b.blockK,
        numBlocksQ: b.numBlocksQ,
        numBlocksK: b.numBlocksK,
        kvNumBlocks: arrays.add(b.kvNumBlocks, [b.heads, b.numBlocksQ]),
        kvIndices: arrays.add(b.kvIndices, [b.heads, b.numBlocksQ, b.maxK]),
        fullKvNumBlocks: arrays.add(b.fullKvNumBlocks, [b.heads, b.numBlocksQ]),
        fullKvIndices: arrays.add(b.fullKvIndices, [b.heads, b.numBlocksQ, b.maxFullK]),
      };
    }
    case 'segments': {
      const s = value as FormatValues['segments'];
      return { segmentIds: arrays.add(s.segmentIds, [s.segmentIds.length]), causal: s.causal };
    }
    case 'slices': {
      const s = value as FormatValues['slices'];
      const n = s.types.length;
      return { qRanges: arrays.add(s.qRanges, [n, 2]), kRanges: arrays.add(s.kRanges, [n, 2]), types: arrays.add(s.types, [n]) };
    }
    case 'dense':
      return {};
    case 'ranges':
      return encodeRanges(value as FormatValues['ranges'], arrays);
    default:
      throw new Error(`no encoding for mask format ${String(format)}`);
  }
}
