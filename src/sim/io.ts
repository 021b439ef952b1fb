// The simulator's side effects, kept out of the pure models: reading results, config and
// calibration files, writing calibration, result rows and traces.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { badInput } from '../errors.js';
import type { Environment, ResultRow } from '../results/schema.js';
import { readResultJsonl } from '../store/parse.js';
import { cpuEnvironment } from '../util/env.js';
import { repairTornTail } from '../util/jsonl.js';
import { parseClusterFile, type ClusterFile } from './hardware.js';
import type { Calibration } from './kernel-model.js';
import { kernelPath } from './kernel-path.js';

export const DEFAULT_CALIBRATION_PATH = 'attnbench-out/calibration.json';

/** The calibration fitted on this project's committed GPU measurements (results/sim, beside dist/). */
export const SHIPPED_CALIBRATION = fileURLToPath(new URL('../../results/sim/calibration.json', import.meta.url));

/** Row fields a results source can select on (`FILE#kernel=flex,direction=bwd`); `path` is the
 * kernel path the simulator fits one curve per (kernel-path.ts: e.g. `sdpa_flash@varlen`). */
export const SOURCE_KEYS = ['kernel', 'direction', 'family', 'scheme', 'path'] as const;
export type SourceKey = (typeof SOURCE_KEYS)[number];
/** One condition on a row: `key=value` keeps the rows with that value, `key!=value` the others. */
export interface SourceCondition {
  readonly key: SourceKey;
  readonly op: '=' | '!=';
  readonly value: string;
}
export type SourceSelection = readonly SourceCondition[];

/**
 * A results source as given to --in: `FILE`, or `FILE#c[,c...]` with each c `k=v` or `k!=v` (k one of
 * SOURCE_KEYS; every condition must hold) for only a part of FILE's rows: a CP call's file holds several
 * CP kernels' rows (and rows of executor versions that changed one direction's cost), of which a
 * calibration may take a part and leave the rest of its curves as they were; `path!=` leaves out rows of
 * an input path that a later call measured again under another timing. A file whose name holds '#' is
 * read as named.
 */
export function parseSource(spec: string): { file: string; select: SourceSelection } {
  const at = spec.lastIndexOf('#');
  if (at <= 0 || fs.existsSync(spec)) return { file: spec, select: [] };
  const select: SourceCondition[] = [];
  for (const part of spec.slice(at + 1).split(',')) {
    const m = /^(\w+)(!?=)([\w.@-]+)$/.exec(part);
    if (!m || !(SOURCE_KEYS as readonly string[]).includes(m[1])) {
      throw badInput(`--in '${spec}': after '#' give key=value or key!=value pairs with keys ${SOURCE_KEYS.join(', ')} (e.g. FILE#kernel=flex,direction=bwd)`);
    }
    select.push({ key: m[1] as SourceKey, op: m[2] as '=' | '!=', value: m[3] });
  }
  return { file: spec.slice(0, at), select };
}

function sourceValue(r: ResultRow, key: SourceKey): string | undefined {
  return key === 'path' ? kernelPath(r) : (r[key] as string | undefined);
}

/** Whether a row meets every condition of a source's selection. */
export function selected(r: ResultRow, select: SourceSelection): boolean {
  return select.every((c) => (sourceValue(r, c.key) === c.value) === (c.op === '='));
}

/** Result rows from JSONL files (read strictly: a torn last line is skipped with `warn`; `FILE#k=v`:
 * parseSource) and/or the database, one per (machine, id): the last one read wins. */
export async function loadRows(files: readonly string[], db: string | boolean | undefined, warn: (s: string) => void): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const spec of files) {
    const { file, select } = parseSource(spec);
    const parsed = readResultJsonl(file, warn); // bad lines: exit 2; a torn last line: a warning
    const kept = parsed.rows.filter((p) => selected(p.row, select));
    // A selection that matches nothing is a typo (kernel=flx), not an empty source.
    if (kept.length === 0 && select.length > 0 && parsed.rows.length > 0) {
      throw badInput(`--in '${spec}': no row of ${file} has ${select.map((c) => `${c.key} ${c.op === '=' ? '' : 'not '}${c.value}`).join(' and ')}`);
    }
    // So is leaving out a value that no row has (path!=sdpa_flsh@varlen would leave out nothing).
    const absent = select.find((c) => c.op === '!=' && !parsed.rows.some((p) => sourceValue(p.row, c.key) === c.value));
    if (absent && parsed.rows.length > 0) throw badInput(`--in '${spec}': no row of ${file} has ${absent.key} ${absent.value} to leave out`);
    for (const p of kept) rows.push(p.row);
  }
  if (db) {
    // Loaded on demand: the database driver is a native module that only --db needs.
    const { closeStore, DEFAULT_DB_PATH, latestRows, openStore } = await import('../store/store.js');
    const store = await openStore(typeof db === 'string' ? db : DEFAULT_DB_PATH, { readOnly: true });
    try {
      rows.push(...(await latestRows(store, { simulated: false })));
    } finally {
      closeStore(store);
    }
  }
  // A row measured again (a resumed run repeats a case cut short) replaces the earlier one. Ids
  // name the case, not the machine: the same case on two GPU types stays twice.
  return [...new Map(rows.map((r) => [`${r.env.gpu ?? r.env.host}|${r.id}`, r])).values()];
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw badInput(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badInput(`${what} ${file} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function loadClusterFile(file: string | undefined): ClusterFile {
  if (!file) return {};
  return parseClusterFile(readJson(file, 'cluster config'), file);
}

const CurveSchema = z.object({
  gpu: z.string(),
  kernel: z.string(),
  direction: z.enum(['fwd', 'bwd']),
  dtype: z.string(),
  slots: z.number().int().positive(),
  c0Ms: z.number().min(0),
  msPerProgram: z.number().min(0),
  msPerTflopFull: z.number().min(0),
  msPerTflopPartial: z.number().min(0),
  msPerTflopEmpty: z.number().min(0),
  // Optional terms (kernel-model.ts KernelCurve): z.object drops keys it does not list.
  hostFloorMs: z.number().min(0).optional(),
  keyTileBound: z.boolean().optional(),
  fineTile: z.object({ msPerProgram: z.number().min(0), msPerTflop: z.number().min(0) }).optional(),
  assumed: z.array(z.string()),
  fitRows: z.number().int(),
  fitMedianAbsPct: z.number(),
  holdoutRows: z.number().int(),
  holdoutMedianAbsPct: z.number().nullable(),
  seen: z.object({ heads: z.array(z.string()), seqlenMin: z.number(), seqlenMax: z.number(), families: z.array(z.string()) }),
});

const UncalibratedSchema = z.object({
  gpu: z.string(),
  kernel: z.string(),
  direction: z.enum(['fwd', 'bwd']),
  dtype: z.string(),
  rows: z.number().int(),
  reason: z.string(),
});

const CalibrationSchema = z.object({
  version: z.literal(2),
  blockSize: z.number().int().positive(),
  model: z.string(),
  holdout: z.string(),
  curves: z.array(CurveSchema),
  uncalibrated: z.array(UncalibratedSchema),
  holdoutMedianAbsPct: z.number().nullable(),
  fitMedianAbsPct: z.number().nullable(),
  rows: z.number().int(),
  createdAt: z.string().optional(),
  gitRev: z.string().nullable().optional(),
  sources: z.array(z.string()).optional(),
});

/**
 * The calibration to use: `file` when given (must exist), else the default path when it exists,
 * else null (every kernel falls back to the roofline).
 */
export function loadCalibration(file: string | undefined): { calibration: Calibration | null; path: string | null } {
  const p = file ?? (fs.existsSync(DEFAULT_CALIBRATION_PATH) ? DEFAULT_CALIBRATION_PATH : null);
  if (!p) return { calibration: null, path: null };
  const json = readJson(p, 'calibration');
  if (json && typeof json === 'object' && (json as { version?: unknown }).version === 1) {
    throw badInput(`calibration ${p} is format 1 (before the wave model): run attnbench sim calibrate again`);
  }
  const r = CalibrationSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw badInput(`calibration ${p}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return { calibration: r.data as Calibration, path: p };
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

export interface MergeResult {
  /** Rows of the old file replaced by a new row with the same id. */
  readonly replaced: number;
  /** Old rows kept as they were. */
  readonly kept: number;
  /** Old lines that are not JSON with a string id: kept verbatim (never dropped), counted here. */
  readonly unparsable: number;
}

/**
 * Writes `newLines` (JSONL rows with the given ids) into `file`: old rows with one of those ids are
 * replaced, every other old line is kept as it was (unparsable ones too). The result is written to
 * a temporary file beside it and renamed over it, so a reader (or a crash) sees the old file or the
 * new one, never a half-written one.
 */
function mergeLines(file: string, newLines: readonly string[], ids: ReadonlySet<string>): MergeResult {
  const kept: string[] = [];
  let replaced = 0;
  let unparsable = 0;
  repairTornTail(file); // a last line cut mid-write goes to <file>.torn, not into the middle of the new file
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let id: unknown;
      try {
        id = (JSON.parse(line) as { id?: unknown }).id;
      } catch {
        id = undefined;
      }
      if (typeof id !== 'string') unparsable++;
      if (typeof id === 'string' && ids.has(id)) replaced++;
      else kept.push(line);
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const out = [...kept, ...newLines];
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, out.length ? `${out.join('\n')}\n` : '');
  fs.renameSync(tmp, file);
  return { replaced, kept: kept.length - unparsable, unparsable };
}

/** Writes rows to a JSONL file, replacing rows with the same id and keeping the others (see mergeLines). */
export function writeRowsMerged(file: string, rows: readonly ResultRow[]): MergeResult {
  return mergeLines(file, rows.map((r) => JSON.stringify(r)), new Set(rows.map((r) => r.id)));
}

/**
 * Incremental variant for long sweeps: each row is appended as soon as it exists to
 * `<file>.partial` (a sweep cut short keeps what it simulated there), and `finish` merges them into
 * `file` at the end: only then are the old rows with those ids replaced. Rows not simulated (a
 * sweep cut short) leave their old rows in place.
 */
export function rowsAppender(file: string): { readonly partialPath: string; append: (rows: readonly ResultRow[]) => void; finish: () => MergeResult } {
  const partialPath = `${file}.partial`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(partialPath, '');
  const lines: string[] = [];
  const ids = new Set<string>();
  return {
    partialPath,
    append: (rows) => {
      if (!rows.length) return;
      const ls = rows.map((r) => JSON.stringify(r));
      fs.appendFileSync(partialPath, ls.map((l) => `${l}\n`).join(''));
      lines.push(...ls);
      for (const r of rows) ids.add(r.id);
    },
    finish: () => {
      const r = mergeLines(file, lines, ids);
      fs.rmSync(partialPath, { force: true });
      return r;
    },
  };
}

/** Environment of simulated rows: where the simulation ran, and what it simulated. */
export function simEnvironment(gpuName: string, model: Readonly<Record<string, string>>): Environment {
  const host = cpuEnvironment();
  return { ...host, gpu: `${gpuName} (simulated)`, libs: { ...host.libs, ...model } };
}
