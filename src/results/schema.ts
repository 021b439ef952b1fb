// The result row (SPEC section 6): one JSON line per measured (or simulated) case.
// Written as measured by every executor (cpu, torch, jax, sim); ingested by the store.
import { z } from 'zod';
import { DTYPES, EXECUTOR_IDS, FAMILY_IDS, rowKernelProblem, SCHEME_IDS } from '../ids.js';

export const STATUSES = ['ok', 'unsupported', 'unavailable', 'oom', 'error', 'timeout'] as const;
export type Status = (typeof STATUSES)[number];

export const DIRECTIONS = ['fwd', 'bwd'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const SUITES = ['kernel', 'sparse', 'cp', 'sim'] as const;
export type Suite = (typeof SUITES)[number];

export const EnvironmentSchema = z.object({
  host: z.string(),
  gpu: z.string().nullable(),
  driver: z.string().nullable(),
  cuda: z.string().nullable(),
  libs: z.record(z.string(), z.string()),
  gitRev: z.string().nullable(),
  date: z.string(),
  command: z.string().optional(),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

export const TimesSchema = z.object({
  medianMs: z.number(),
  p20Ms: z.number(),
  p80Ms: z.number(),
  samples: z.number().int(),
  compileMs: z.number().nullable().optional(),
  /** Spread over mask samples (random families): min / max of per-sample medians. */
  sampleMinMs: z.number().optional(),
  sampleMaxMs: z.number().optional(),
});
export type Times = z.infer<typeof TimesSchema>;

/** Error of one quantity vs the reference; refMaxAbs = the reference's largest |value| (the
 * gradients' bound scales with it, src/util/tolerance.ts; absent in rows from before 2026-12-01). */
const QuantityErrorSchema = z.object({ maxAbs: z.number(), meanAbs: z.number(), refMaxAbs: z.number().optional() });

export const ErrorMetricsSchema = z.object({
  reference: z.string(),
  out: QuantityErrorSchema.optional(),
  lse: QuantityErrorSchema.optional(),
  dq: QuantityErrorSchema.optional(),
  dk: QuantityErrorSchema.optional(),
  dv: QuantityErrorSchema.optional(),
  /** True when any max-abs error exceeds its bound (exceedsTolerance in src/util/tolerance.ts). */
  exceedsTolerance: z.boolean(),
});
export type ErrorMetrics = z.infer<typeof ErrorMetricsSchema>;

export const ResultRowSchema = z.object({
  schema: z.literal(1),
  id: z.string(), // stable case id: same case -> same id (used by --resume and idempotent ingest)
  suite: z.enum(SUITES),
  executor: z.enum([...EXECUTOR_IDS, 'sim']),
  // kernel id (kernel suites, and the partial-attention kernel of CP: also `reference`; simulator
  // curves `<id>@cp`): checked by rowKernelProblem
  kernel: z
    .string()
    .nullable()
    .superRefine((k, ctx) => {
      const p = k === null ? null : rowKernelProblem(k);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }),
  scheme: z.enum(SCHEME_IDS).nullable(), // CP scheme id, null for kernel suites
  family: z.enum(FAMILY_IDS as readonly [string, ...string[]]),
  maskParams: z.record(z.string(), z.union([z.number(), z.string()])),
  seed: z.number().int(),
  seqlen: z.number().int(),
  batch: z.number().int(),
  headsQ: z.number().int(),
  headsKv: z.number().int(),
  headDim: z.number().int(),
  dtype: z.enum(DTYPES),
  direction: z.enum(DIRECTIONS),
  world: z.number().int(), // 1 for single-device kernels
  layout: z.record(z.string(), z.union([z.number(), z.string()])).nullable(),
  status: z.enum(STATUSES),
  message: z.string().nullable(),
  area: z.number(), // unmasked pairs per head (mean over heads for per-head masks)
  flops: z.number(), // SPEC 6 FLOP count of the direction
  times: TimesSchema.nullable(),
  tflops: z.number().nullable(), // flops / median time (CP: per GPU, slowest rank)
  tflopsMeanRank: z.number().nullable().optional(), // CP: per GPU from the mean rank time
  memory: z
    .object({ peakDeltaBytes: z.number(), peakTotalBytes: z.number() })
    .nullable(),
  error: ErrorMetricsSchema.nullable(),
  /** CP: per-rank times (ms), per-rank FLOPs, bytes sent. */
  ranks: z
    .array(z.object({ rank: z.number().int(), ms: z.number(), flops: z.number(), bytesSent: z.number() }))
    .nullable()
    .optional(),
  notes: z.array(z.string()).optional(), // e.g. "expanded GQA K/V", "via nested tensors"
  simulated: z.boolean(),
  env: EnvironmentSchema,
});
export type ResultRow = z.infer<typeof ResultRowSchema>;
