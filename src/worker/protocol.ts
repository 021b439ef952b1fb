// Worker protocol v1 (python/PROTOCOL.md): the job we send, and the messages the python worker
// sends back, parsed with zod at this edge so that everything inside can trust its types.
import { z } from 'zod';
import type { MaskFormat } from '../kernels/types.js';

export const PROTOCOL_VERSION = 1;

/** A binary int32 array in a file: raw little-endian (or zlib-deflated) bytes at `offset`. */
export interface ArrayRef {
  readonly dtype: 'int32';
  readonly shape: readonly number[];
  /** Absolute, or relative to the job's baseDir (file mode: the jobs file's folder). */
  readonly path: string;
  readonly offset: number;
  readonly encoding: 'raw' | 'zlib';
  /** Stored bytes (compressed size for zlib). */
  readonly nbytes: number;
}

export type MaskArg = number | boolean | string | null | ArrayRef | { readonly [k: string]: MaskArg };

export interface JobSlices {
  readonly qRanges: ArrayRef; // [n, 2]
  readonly kRanges: ArrayRef; // [n, 2]
  readonly types: ArrayRef; // [n]: 0 full, 1 causal, 2 invcausal, 3 bicausal
}

export interface WorkerJob {
  readonly id: string;
  readonly kernel: string;
  readonly direction: 'fwd' | 'bwd';
  readonly shape: {
    readonly batch: number;
    readonly seqlenQ: number;
    readonly seqlenK: number;
    readonly headsQ: number;
    readonly headsKv: number;
    readonly headDim: number;
    readonly dtype: 'bfloat16' | 'float16' | 'float32';
  };
  /** 'expand': repeat K/V heads before the call (noted in the result). */
  readonly gqa: 'native' | 'expand';
  readonly mask: { readonly format: MaskFormat; readonly perHead: boolean; readonly args: { readonly [k: string]: MaskArg } };
  /** The mask as slices, one entry per mask head: for the float32 reference and mask_mod / dense masks. */
  readonly slices: readonly JobSlices[];
  readonly timing: { readonly warmup: number; readonly iters: number; readonly flushL2: boolean; readonly allowShort?: boolean };
  /** Compare with the float32 reference when max(Sq, Sk) <= upTo; tolerance = max-abs bound (src/util/tolerance.ts). */
  readonly check: { readonly upTo: number; readonly tolerance: number };
  readonly seed: number;
  readonly timeoutS: number;
  readonly baseDir?: string;
  /** Tests only (py_ref): sleep or exit inside the worker. */
  readonly debug?: { readonly sleepS?: number; readonly exitCode?: number };
}

const AbsErr = z.object({ maxAbs: z.number(), meanAbs: z.number(), refMaxAbs: z.number().optional() });

export const WorkerResultSchema = z.object({
  id: z.string(),
  kernel: z.string(),
  direction: z.string(),
  status: z.enum(['ok', 'unsupported', 'unavailable', 'oom', 'error', 'timeout']),
  message: z.string().nullable(),
  times: z
    .object({
      medianMs: z.number(),
      p20Ms: z.number(),
      p80Ms: z.number(),
      samples: z.number().int(),
      compileMs: z.number().nullable().optional(),
      firstCallMs: z.number().nullable().optional(),
      clock: z.string().optional(),
    })
    .nullable(),
  memory: z.object({ peakDeltaBytes: z.number(), peakTotalBytes: z.number() }).nullable(),
  error: z
    .object({
      reference: z.string(),
      out: AbsErr.optional(),
      dq: AbsErr.optional(),
      dk: AbsErr.optional(),
      dv: AbsErr.optional(),
      exceedsTolerance: z.boolean(),
    })
    .nullable(),
  notes: z.array(z.string()).default([]),
  fatal: z.boolean().optional(),
  wallMs: z.number().optional(),
});
export type WorkerResult = z.infer<typeof WorkerResultSchema>;

export const WorkerEnvSchema = z.object({
  host: z.string(),
  gpu: z.string().nullable(),
  driver: z.string().nullable(),
  cuda: z.string().nullable(),
  libs: z.record(z.string(), z.string()),
  date: z.string(),
  gpuCount: z.number().optional(),
  gpuMemoryBytes: z.number().nullable().optional(),
  l2Bytes: z.number().nullable().optional(),
  capability: z.string().optional(),
  problems: z.array(z.string()).default([]),
});
export type WorkerEnv = z.infer<typeof WorkerEnvSchema>;

export const HelloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  worker: z.string(),
  group: z.string(),
  env: WorkerEnvSchema,
  kernels: z.record(z.string(), z.object({ available: z.boolean(), reason: z.string().optional() })),
});
export type Hello = z.infer<typeof HelloSchema>;

export const WorkerMessageSchema = z.discriminatedUnion('type', [
  HelloSchema,
  z.object({ type: z.literal('result'), result: WorkerResultSchema }),
  z.object({ type: z.literal('error'), id: z.string().nullable().optional(), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('bye') }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;

/** A line of a file-mode results file: a worker result plus the environment of the worker that ran it. */
export const ResultLineSchema = WorkerResultSchema.extend({ env: WorkerEnvSchema.nullable().optional() });
export type ResultLine = z.infer<typeof ResultLineSchema>;
