// The simulator's side effects, kept out of the pure models: reading results, config and
// calibration files, writing calibration, result rows and traces.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { badInput } from '../errors.js';
import type { Environment, ResultRow } from '../results/schema.js';
import { formatLineError, readResultJsonl } from '../store/parse.js';
import { cpuEnvironment } from '../util/env.js';
import { parseClusterFile, type ClusterFile } from './hardware.js';
import type { Calibration } from './kernel-model.js';

export const DEFAULT_CALIBRATION_PATH = 'attnbench-out/calibration.json';

/** Result rows from JSONL files (bad lines reported through `warn` and skipped) and/or the
 * database, one per (machine, id): the last one read wins. */
export async function loadRows(files: readonly string[], db: string | boolean | undefined, warn: (s: string) => void): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const f of files) {
    const parsed = readResultJsonl(f);
    for (const e of parsed.errors.slice(0, 5)) warn(`skipped ${formatLineError(e)}`);
    if (parsed.errors.length > 5) warn(`skipped ${parsed.errors.length - 5} more bad lines in ${f}`);
    for (const p of parsed.rows) rows.push(p.row);
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
  c0Ms: z.number().min(0),
  msPerTflopFull: z.number().min(0),
  msPerTflopPartial: z.number().min(0),
  msPerTflopEmpty: z.number().min(0),
  assumed: z.array(z.string()),
  fitRows: z.number().int(),
  fitMedianAbsPct: z.number(),
  holdoutRows: z.number().int(),
  holdoutMedianAbsPct: z.number().nullable(),
});

const CalibrationSchema = z.object({
  version: z.literal(1),
  blockSize: z.number().int().positive(),
  model: z.string(),
  holdout: z.string(),
  curves: z.array(CurveSchema),
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
  const r = CalibrationSchema.safeParse(readJson(p, 'calibration'));
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

/** Writes rows to a JSONL file, replacing rows with the same id and keeping the others. */
export function writeRowsMerged(file: string, rows: readonly ResultRow[]): { replaced: number; kept: number } {
  const ids = new Set(rows.map((r) => r.id));
  const kept: string[] = [];
  let replaced = 0;
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let id: unknown;
      try {
        id = (JSON.parse(line) as { id?: unknown }).id;
      } catch {
        continue;
      }
      if (typeof id === 'string' && ids.has(id)) replaced++;
      else kept.push(line);
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const out = [...kept, ...rows.map((r) => JSON.stringify(r))];
  fs.writeFileSync(file, out.length ? `${out.join('\n')}\n` : '');
  return { replaced, kept: kept.length };
}

/**
 * Incremental variant for long sweeps: drops the rows whose id is in `ids` from `file` now, then
 * appends each row as soon as it exists (a sweep cut short keeps what it simulated).
 */
export function rowsAppender(file: string, ids: ReadonlySet<string>): { append: (rows: readonly ResultRow[]) => void; replaced: number } {
  let replaced = 0;
  if (fs.existsSync(file)) {
    const kept: string[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let id: unknown;
      try {
        id = (JSON.parse(line) as { id?: unknown }).id;
      } catch {
        continue;
      }
      if (typeof id === 'string' && ids.has(id)) replaced++;
      else kept.push(line);
    }
    fs.writeFileSync(file, kept.length ? `${kept.join('\n')}\n` : '');
  } else {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, '');
  }
  return {
    append: (rows) => {
      if (rows.length) fs.appendFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    },
    replaced,
  };
}

/** Environment of simulated rows: where the simulation ran, and what it simulated. */
export function simEnvironment(gpuName: string, model: Readonly<Record<string, string>>): Environment {
  const host = cpuEnvironment();
  return { ...host, gpu: `${gpuName} (simulated)`, libs: { ...host.libs, ...model } };
}
