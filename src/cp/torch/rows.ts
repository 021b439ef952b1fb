// Result rows of the GPU CP executor, built here in one place: from the measurement records the
// python executor writes (python/attnbench_worker/cp/record.py) and the case's manifest, and for
// cases the executor could not finish. Python measures; TypeScript derives (ids, FLOPs, TFLOP/s,
// per-rank FLOPs and bytes), as for the kernel worker's results.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { maskArea } from '../../mask/slices.js';
import { EnvironmentSchema, ErrorMetricsSchema, STATUSES, type Direction, type ResultRow, type Status } from '../../results/schema.js';
import { DTYPES } from '../../kernels/types.js';
import { cpuEnvironment } from '../../util/env.js';
import { caseId, INDEX_FILE, readManifest, type CpJob, type Manifest } from './manifest.js';

/** Row id (the python executor's --resume compares the same four parts). */
export function torchRowId(id: string, direction: Direction, mode: string, device: string): string {
  return `${id}|${direction}|torch|${mode}|${device}`;
}

const RankTimesSchema = z.object({ medianMs: z.number(), p20Ms: z.number(), p80Ms: z.number(), samples: z.number().int() });

/** One case and direction as the python executor measured it (record.py documents the fields). */
export const CpMeasurementSchema = z.object({
  record: z.literal('cp.measurement'),
  version: z.literal(1),
  case: z.string(),
  direction: z.enum(['fwd', 'bwd']),
  mode: z.enum(['virtual', 'dist']),
  tag: z.string(),
  device: z.string(),
  kernel: z.string().nullable(),
  dtype: z.enum(DTYPES),
  status: z.enum(STATUSES),
  message: z.string().nullable(),
  ranks: z.array(RankTimesSchema).nullable(),
  compileMs: z.number().nullable(),
  memory: z.object({ peakDeltaBytes: z.number(), peakTotalBytes: z.number() }).nullable(),
  error: ErrorMetricsSchema.nullable(),
  notes: z.array(z.string()),
  env: EnvironmentSchema,
});
export type CpMeasurement = z.infer<typeof CpMeasurementSchema>;

/** What a row needs of its case: the manifest's case entry and every rank's FLOPs and bytes sent. */
type CaseFacts = Pick<Manifest, 'case'> & { readonly ranks: readonly Pick<Manifest['ranks'][number], 'flops' | 'bytesSent'>[] };

/** The case fields a row copies. */
type RowCase = Pick<
  Manifest['case'],
  'id' | 'scheme' | 'family' | 'maskParams' | 'seed' | 'seqlen' | 'headsQ' | 'headsKv' | 'headDim' | 'dtype' | 'world' | 'layout' | 'area' | 'flops' | 'gitRev'
>;

function baseRow(c: RowCase, direction: Direction, tag: string, device: string, status: Status, message: string | null): ResultRow {
  const layout: Record<string, number | string> = { ...c.layout };
  if (tag.startsWith('virtual')) layout.virtualRanks = c.world;
  return {
    schema: 1,
    id: torchRowId(c.id, direction, tag, device),
    suite: 'cp',
    executor: 'torch',
    kernel: null,
    scheme: c.scheme,
    family: c.family,
    maskParams: { ...c.maskParams },
    seed: c.seed,
    seqlen: c.seqlen,
    batch: 1,
    headsQ: c.headsQ,
    headsKv: c.headsKv,
    headDim: c.headDim,
    dtype: c.dtype,
    direction,
    world: c.world,
    layout,
    status,
    message,
    area: c.area,
    flops: c.flops[direction],
    times: null,
    tflops: null,
    tflopsMeanRank: null,
    memory: null,
    error: null,
    ranks: null,
    notes: [],
    simulated: false,
    env: c.gitRev ? cpuEnvironment({ gitRev: c.gitRev }) : cpuEnvironment(),
  };
}

/** The row of a measurement: the slowest rank's times; TFLOP/s per GPU from it and from the mean rank. */
export function measurementRow(m: CpMeasurement, facts: CaseFacts): ResultRow {
  const c = facts.case;
  if (m.case !== c.id) throw new Error(`measurement of case ${m.case} joined with the manifest of ${c.id}`);
  const row: ResultRow = { ...baseRow(c, m.direction, m.tag, m.device, m.status, m.message), kernel: m.kernel, dtype: m.dtype };
  const out = { ...row, memory: m.memory, error: m.error, notes: [...m.notes], env: m.env };
  if (!m.ranks || m.ranks.length === 0) return out;
  const ms = m.ranks.map((t) => t.medianMs);
  const slow = ms.indexOf(Math.max(...ms));
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const perGpu = (t: number) => (t > 0 ? c.flops[m.direction] / (t * 1e-3) / c.world / 1e12 : null);
  return {
    ...out,
    times: { ...m.ranks[slow], ...(m.compileMs !== null ? { compileMs: m.compileMs } : {}) },
    tflops: perGpu(ms[slow]),
    tflopsMeanRank: perGpu(mean),
    ranks: ms.map((t, r) => ({ rank: r, ms: t, flops: facts.ranks[r]?.flops[m.direction] ?? 0, bytesSent: facts.ranks[r]?.bytesSent[m.direction] ?? 0 })),
  };
}

/** A row the TypeScript side writes for a case the executor could not finish (or never ran). */
export function failedRow(job: CpJob, direction: Direction, status: 'error' | 'timeout', message: string, tag: string, device: string): ResultRow {
  const { plan, meta } = job;
  const area = maskArea(job.mask);
  const fwd = 4 * area * plan.shape.headsQ * plan.shape.headDim;
  const c: RowCase = {
    id: caseId(plan, meta),
    scheme: plan.scheme,
    family: meta.family,
    maskParams: meta.maskParams,
    seed: meta.seed,
    seqlen: plan.seqlen,
    headsQ: plan.shape.headsQ,
    headsKv: plan.shape.headsKv,
    headDim: plan.shape.headDim,
    dtype: meta.dtype,
    world: plan.world,
    layout: plan.layout,
    area,
    flops: { fwd, bwd: 2.5 * fwd },
    gitRev: meta.gitRev ?? null,
  };
  return baseRow(c, direction, tag, device, status, message);
}

/** Parses one line of the executor's raw output: a measurement, or why it is not one. */
export function parseMeasurement(line: string): { ok: true; value: CpMeasurement } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const p = CpMeasurementSchema.safeParse(v);
  if (!p.success) return { ok: false, reason: `${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}` };
  return { ok: true, value: p.data };
}

/** Case id -> manifest of a job folder (its index.json and any retry indexes list the same files). */
export function manifestsById(dir: string): Map<string, Manifest> {
  const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8')) as { manifests: string[] };
  const out = new Map<string, Manifest>();
  for (const name of index.manifests) {
    const m = readManifest(path.isAbsolute(name) ? name : path.join(dir, name));
    out.set(m.case.id, m);
  }
  return out;
}

/**
 * Rows from a raw result file of a job folder run elsewhere (plan-only: the executor ran on a
 * cluster without node): every measurement joined with its manifest. Lines that are not
 * measurements of this folder's cases are returned as `skipped` with the reason.
 */
export function rowsFromRaw(dir: string, raw: string): { rows: ResultRow[]; skipped: string[] } {
  const byId = manifestsById(dir);
  const rows: ResultRow[] = [];
  const skipped: string[] = [];
  const text = fs.existsSync(raw) ? fs.readFileSync(raw, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const p = parseMeasurement(line);
    if (!p.ok) skipped.push(p.reason);
    else if (!byId.has(p.value.case)) skipped.push(`case ${p.value.case} is not in ${dir}`);
    else rows.push(measurementRow(p.value, byId.get(p.value.case)!));
  }
  return { rows, skipped };
}
