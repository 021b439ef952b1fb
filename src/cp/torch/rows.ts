// Result rows of the GPU CP executor, built here in one place: from the measurement records the
// python executor writes (python/attnbench_worker/cp/record.py) and the case's manifest, and for
// cases the executor could not finish. Python measures; TypeScript derives (ids, FLOPs, TFLOP/s,
// per-rank FLOPs and bytes), as for the kernel worker's results.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { maskArea } from '../../mask/slices.js';
import { EnvironmentSchema, ErrorMetricsSchema, STATUSES, type Direction, type ResultRow, type Status } from '../../results/schema.js';
import { DTYPES, type Dtype } from '../../kernels/types.js';
import { buildCpRow, buildRow } from '../../results/build.js';
import type { CpAutoShape } from '../../kernels/cp-auto.js';
import { cpKernelOf, cpRowId, type CaseKey } from '../../results/case-id.js';
import { cpuEnvironment } from '../../util/env.js';
import { caseFacts, INDEX_FILE, readManifest, type CpJob, type Manifest } from './manifest.js';

/** Row id (src/results/case-id.ts; the python executor's --resume compares the same five parts,
 * python/attnbench_worker/cp/record.py record_key). `kernel`: the case's kernel ('auto' resolves). */
export function torchRowId(id: string, direction: Direction, mode: string, device: string, kernel: string | null, shape: CpAutoShape): string {
  return cpRowId(id, direction, 'torch', mode, device, cpKernelOf(kernel, device, shape));
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
  'id' | 'scheme' | 'family' | 'maskParams' | 'seed' | 'seqlen' | 'headsQ' | 'headsKv' | 'headDim' | 'dtype' | 'world' | 'layout' | 'area' | 'gitRev'
> & { readonly kernel?: string };

/**
 * The row's case key (src/results/case-id.ts): its id is torchRowId(c.id, direction, tag, device,
 * kernel). The kernel is the one the ranks ran (the measurement's), else the case's, resolved for
 * the device (cpKernelOf): a row always names its kernel.
 */
function keyOf(c: RowCase, direction: Direction, tag: string, device: string, kernel: string | null, dtype: Dtype): CaseKey {
  const { kernel: asked, ...rest } = c;
  return { ...rest, suite: 'cp', executor: 'torch', kernel: cpKernelOf(kernel ?? asked, device, { ...rest, dtype }), direction, dtype, batch: 1, launch: tag, device };
}

const rowLayout = (c: RowCase, tag: string) => (tag.startsWith('virtual') ? { ...c.layout, virtualRanks: c.world } : { ...c.layout });

/** The row of a measurement (the one builder, src/results/build.ts): the slowest rank's times, TFLOP/s per GPU. */
export function measurementRow(m: CpMeasurement, facts: CaseFacts): ResultRow {
  const c = facts.case;
  if (m.case !== c.id) throw new Error(`measurement of case ${m.case} joined with the manifest of ${c.id}`);
  return buildCpRow(
    { ...m, perRank: m.ranks, kernel: cpKernelOf(m.kernel ?? c.kernel, m.device, { ...c, dtype: m.dtype }) },
    {
      key: keyOf(c, m.direction, m.tag, m.device, m.kernel, m.dtype),
      area: c.area,
      rankFlops: { fwd: facts.ranks.map((r) => r.flops.fwd), bwd: facts.ranks.map((r) => r.flops.bwd) },
      rankBytesSent: { fwd: facts.ranks.map((r) => r.bytesSent.fwd), bwd: facts.ranks.map((r) => r.bytesSent.bwd) },
      rowLayout: rowLayout(c, m.tag),
    },
    m.env,
  );
}

/** A row the TypeScript side writes for a case the executor could not finish (or never ran). */
export function failedRow(job: CpJob, direction: Direction, status: 'error' | 'timeout', message: string, tag: string, device: string): ResultRow {
  const { plan, meta } = job;
  const c: RowCase = { ...caseFacts(plan, meta, maskArea(job.mask)), kernel: meta.kernel };
  const env = c.gitRev ? cpuEnvironment({ gitRev: c.gitRev }) : cpuEnvironment();
  const o = { status, message, times: null, memory: null, error: null, ranks: null, notes: [] };
  return buildRow(keyOf(c, direction, tag, device, null, c.dtype), c.area, o, env, rowLayout(c, tag));
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
