// The results database: an embedded DuckDB file that ingests result JSONL idempotently.
//
// Key: (id, env_date, simulated). `id` is the stable case id and env.date the start of the run that
// measured it, so
//   - re-ingesting a file adds nothing (same id, same date),
//   - measuring the same case again later adds a second row beside the first (history is kept),
//   - a simulated projection never replaces a measurement of the same case.
// `latestRows` reads the newest row of each (case_id, simulated): what reports and tables show (case_id:
// the id in the one grammar, src/results/case-id.ts, so rows written under an older id grammar count as their case).
// A re-ingested key whose content differs from the stored row is not overwritten; it is counted
// as a conflict and reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { AttnbenchError, badInput } from '../errors.js';
import { ResultRowSchema, type ResultRow } from '../results/schema.js';
import { COLUMNS, KEY_COLUMNS, canonicalJson, type SqlType } from './columns.js';
import { caseIdOfRow } from '../results/case-id.js';
import { readResultJsonl, type LineError, type ParsedRow } from './parse.js';
import { lockWait, type Lock } from '../util/lock.js';

export const DEFAULT_DB_PATH = 'attnbench-out/results.duckdb';
/** Bumped when the table layout changes; an older database is refused with a clear message. */
export const STORE_VERSION = 3; // 2: case_id column (one id grammar; latestSql partitions by it); 3: CP case_ids name the kernel

export interface Store {
  readonly path: string;
  readonly readOnly: boolean;
  readonly instance: DuckDBInstance;
  readonly conn: DuckDBConnection;
  /** Our lock on the file (util/lock.ts): readers and writers take turns instead of failing on DuckDB's. */
  readonly lock?: Lock;
}

export interface IngestReport {
  readonly file: string;
  readonly inserted: number;
  /** Rows already stored with the same key and the same content. */
  readonly duplicates: number;
  /** Rows already stored with the same key but different content (kept as stored). */
  readonly conflicts: readonly LineError[];
  readonly errors: readonly LineError[];
}

/** Row filter; every field is optional, an array means "any of". */
export interface RowFilter {
  readonly suite?: string | readonly string[];
  readonly family?: string | readonly string[];
  readonly kernel?: string | readonly string[];
  readonly scheme?: string | readonly string[];
  readonly direction?: string | readonly string[];
  readonly status?: string | readonly string[];
  readonly executor?: string | readonly string[];
  readonly simulated?: boolean;
}

const TABLE = 'results';

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}


/** DuckDB's database file header: an 8-byte checksum, then these magic bytes. */
const DUCKDB_MAGIC = 'DUCK';

/**
 * Why an existing `file` cannot be opened as a results database, or undefined. DuckDB opens a file
 * it does not recognise by its name (.jsonl, .csv, .json...) as an empty in-memory database, so an
 * ingest into `--db rows.jsonl` reported its rows and kept nothing; anything else failed as
 * 'unavailable' with DuckDB's words.
 */
export function foreignDbProblem(file: string): string | undefined {
  let head = Buffer.alloc(0);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(12);
      head = head.subarray(0, fs.readSync(fd, head, 0, 12, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined; // DuckDB says why (permissions, a folder...)
  }
  if (head.subarray(8, 12).toString('latin1') === DUCKDB_MAGIC) return undefined;
  return `${file} is not a DuckDB database (${head.length === 0 ? 'an empty file' : 'no DuckDB header'}): --db names the results database; result JSONL files go to --ingest (results) or --in (report, sim)`;
}

export async function openStore(file: string = DEFAULT_DB_PATH, opts: { readOnly?: boolean } = {}): Promise<Store> {
  const readOnly = opts.readOnly ?? false;
  const memory = file === ':memory:';
  if (!memory) {
    if (readOnly && !fs.existsSync(file))
      throw badInput(`no results database at ${file}: create it with 'attnbench results --db ${file} --ingest FILE.jsonl'`);
    if (!readOnly) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  }
  // One process at a time opens the file (DuckDB refuses a second one, even a reader, while a
  // writer has it): parallel ingests and the dashboard queue here instead of failing.
  const lock = memory ? undefined : await lockWait(file, 'results database');
  // (under the lock: a database another process is creating has its header by then)
  const foreign = !memory && fs.existsSync(file) && fs.statSync(file).isFile() ? foreignDbProblem(file) : undefined;
  if (foreign) {
    lock?.release();
    throw badInput(foreign);
  }
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, readOnly ? { access_mode: 'READ_ONLY' } : {});
  } catch (e) {
    lock?.release();
    throw new AttnbenchError('unavailable', `cannot open results database ${file}: ${firstLine(e)}`);
  }
  const conn = await instance.connect();
  const store: Store = { path: file, readOnly, instance, conn, lock };
  try {
    if (!readOnly) {
      await createSchema(store);
      await migrate(store);
    }
    await checkVersion(store);
  } catch (e) {
    closeStore(store);
    throw e;
  }
  return store;
}

export function closeStore(store: Store): void {
  try {
    store.conn.closeSync();
    store.instance.closeSync();
  } finally {
    store.lock?.release();
  }
}

async function createSchema(store: Store): Promise<void> {
  const cols = COLUMNS.map((c) => `${c.name} ${c.type}`).join(',\n  ');
  await store.conn.run(`CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)`);
  await store.conn.run(`INSERT INTO meta VALUES ('version', '${STORE_VERSION}') ON CONFLICT DO NOTHING`);
  await store.conn.run(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (
  ${cols},
  content_hash VARCHAR NOT NULL,
  source VARCHAR,
  ingested_at TIMESTAMPTZ DEFAULT current_timestamp,
  row JSON NOT NULL,
  PRIMARY KEY (${KEY_COLUMNS.join(', ')})
)`,
  );
}

async function storedVersion(store: Store): Promise<string | undefined> {
  try {
    const v = (await query(store, `SELECT value FROM meta WHERE key = 'version'`))[0]?.value;
    return v === undefined || v === null ? undefined : String(v);
  } catch {
    return undefined;
  }
}

/** Layouts an open for writing upgrades in place (migrate). */
const UPGRADABLE = ['1', '2'];

/**
 * Upgrades an older layout in place (a writer only; a read-only open of an old file is told to open
 * it once for writing). 1 -> 2: the case_id column; 2 -> 3: CP case ids gained the kernel segment
 * (src/results/case-id.ts). Both: case_id computed again from each stored row, as ingest does.
 */
async function migrate(store: Store): Promise<void> {
  const from = await storedVersion(store);
  if (from === undefined || !UPGRADABLE.includes(from)) return;
  await store.conn.run('BEGIN TRANSACTION');
  try {
    if (from === '1') await store.conn.run(`ALTER TABLE ${TABLE} ADD COLUMN case_id VARCHAR`);
    const rows = await query(store, `SELECT rowid AS rid, row FROM ${TABLE}`);
    await store.conn.run('CREATE OR REPLACE TEMP TABLE case_ids (rid BIGINT, cid VARCHAR)');
    const app = await store.conn.createAppender('case_ids');
    for (const r of rows) {
      app.appendBigInt(BigInt(Number(r.rid)));
      app.appendVarchar(caseIdOfRow(JSON.parse(String(r.row)) as ResultRow));
      app.endRow();
    }
    app.closeSync();
    await store.conn.run(`UPDATE ${TABLE} SET case_id = m.cid FROM case_ids m WHERE ${TABLE}.rowid = m.rid`);
    await store.conn.run('DROP TABLE case_ids');
    await store.conn.run(`UPDATE meta SET value = '${STORE_VERSION}' WHERE key = 'version'`);
    await store.conn.run('COMMIT');
  } catch (e) {
    await store.conn.run('ROLLBACK');
    throw new AttnbenchError('unavailable', `cannot upgrade results database ${store.path} from layout ${from}: ${firstLine(e)}`);
  }
}

async function checkVersion(store: Store): Promise<void> {
  const version = await storedVersion(store);
  if (version === String(STORE_VERSION)) return;
  if (version !== undefined && UPGRADABLE.includes(version) && store.readOnly)
    throw badInput(
      `results database ${store.path} has layout version ${version}: open it once for writing (e.g. 'attnbench results --db ${store.path}') to upgrade it to ${STORE_VERSION}`,
    );
  throw badInput(
    `results database ${store.path} has layout version ${version ?? 'none'}, this attnbench reads ${STORE_VERSION}: re-ingest the JSONL into a new database`,
  );
}

function contentHash(r: ResultRow): string {
  return createHash('sha256').update(canonicalJson(r)).digest('hex').slice(0, 32);
}

const STAGE_TYPE: Record<SqlType, 'VARCHAR' | 'DOUBLE' | 'BOOLEAN'> = {
  VARCHAR: 'VARCHAR',
  JSON: 'VARCHAR',
  INTEGER: 'DOUBLE',
  BIGINT: 'DOUBLE',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
};

/**
 * Inserts validated rows; `source` names where they came from (a file) for conflict messages.
 * Rows are appended to a temporary staging table, classified against the stored keys in SQL, and
 * the new ones inserted in one statement (a prepared INSERT per row costs ~15 ms on a file database).
 */
export async function ingestRows(store: Store, rows: readonly ParsedRow[], source: string): Promise<Omit<IngestReport, 'file' | 'errors'>> {
  if (store.readOnly) throw new AttnbenchError('usage', `results database ${store.path} is open read-only`, 2);
  const names = COLUMNS.map((c) => c.name);
  const key = KEY_COLUMNS.join(', ');
  const on = KEY_COLUMNS.map((k) => `s.${k} = r.${k}`).join(' AND ');
  await store.conn.run(
    `CREATE OR REPLACE TEMP TABLE stage (${COLUMNS.map((c) => `${c.name} ${STAGE_TYPE[c.type]}`).join(', ')},
     content_hash VARCHAR, source VARCHAR, row VARCHAR, line INTEGER)`,
  );
  const app = await store.conn.createAppender('stage');
  for (const { row, line } of rows) {
    for (const c of COLUMNS) {
      const v = c.get(row);
      if (v === null) app.appendNull();
      else if (typeof v === 'string') app.appendVarchar(v);
      else if (typeof v === 'number') app.appendDouble(v);
      else app.appendBoolean(v);
    }
    app.appendVarchar(contentHash(row));
    app.appendVarchar(`${source}:${line}`);
    app.appendVarchar(JSON.stringify(row));
    app.appendInteger(line);
    app.endRow();
  }
  app.closeSync();

  // Within the file, the first line of a key wins; later lines and already-stored keys are
  // duplicates (same content hash) or conflicts (different content).
  const seen = await query(
    store,
    `WITH s AS (
       SELECT *, first_value(content_hash) OVER (PARTITION BY ${key} ORDER BY line) AS first_hash,
              row_number() OVER (PARTITION BY ${key} ORDER BY line) AS rn
       FROM stage)
     SELECT s.id, s.env_date, s.line, coalesce(r.content_hash, CASE WHEN s.rn > 1 THEN s.first_hash END) = s.content_hash AS same
     FROM s LEFT JOIN ${TABLE} r ON ${on}
     WHERE r.id IS NOT NULL OR s.rn > 1
     ORDER BY s.line`,
  );
  const conflicts: LineError[] = seen
    .filter((o) => !o.same)
    .map((o) => ({
      file: source,
      line: Number(o.line),
      message: `case ${String(o.id)} of ${String(o.env_date)} is already stored with different content; kept the stored row`,
    }));
  const res = await store.conn.run(
    `INSERT INTO ${TABLE} (${names.join(', ')}, content_hash, source, row)
     SELECT ${names.join(', ')}, content_hash, source, row FROM stage s
     WHERE NOT EXISTS (SELECT 1 FROM ${TABLE} r WHERE ${on})
     QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY line) = 1`,
  );
  await store.conn.run('DROP TABLE stage');
  return { inserted: res.rowsChanged, duplicates: seen.length - conflicts.length, conflicts };
}

/** Ingests one result JSONL file. Bad lines are reported (file:line) and skipped. */
export async function ingestJsonl(store: Store, file: string): Promise<IngestReport> {
  const parsed = readResultJsonl(file);
  const r = await ingestRows(store, parsed.rows, file);
  return { file, ...r, errors: parsed.errors };
}

/**
 * Statement kinds `--sql` runs: queries, and CREATE TEMP objects for later statements (a persistent
 * CREATE fails on the read-only probe). Everything else (COPY/EXPORT/ATTACH write files, INSTALL/LOAD,
 * PRAGMA/SET/CALL, INSERT/UPDATE/DELETE/DROP change the database) is refused before anything runs.
 */
const QUERY_STATEMENTS: ReadonlySet<StatementType> = new Set([StatementType.SELECT, StatementType.EXPLAIN, StatementType.CREATE]);

/**
 * No file access but the database itself, no extension installs or loads, configuration locked:
 * what user SQL runs under (the connection's instance keeps it until closed).
 */
export async function sandboxStore(store: Store): Promise<void> {
  for (const s of ['enable_external_access=false', 'autoinstall_known_extensions=false', 'autoload_known_extensions=false', 'lock_configuration=true'])
    await store.conn.run(`SET ${s}`);
}

/**
 * Checks `sql` before anything is ingested or written: DuckDB parses and binds every statement
 * against an empty results table in a sandboxed, read-only scratch database, each must be a
 * query (QUERY_STATEMENTS), and every statement but a final query runs there so later ones bind
 * (nothing is written: the scratch copy is read-only and has no file access). `single`: exactly
 * one SELECT (`--export` wraps it in COPY).
 */
export async function checkSql(sql: string, opts: { single?: boolean } = {}): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-sql-'));
  try {
    const file = path.join(dir, 'results.duckdb');
    closeStore(await openStore(file));
    const probe = await openStore(file, { readOnly: true });
    try {
      await sandboxStore(probe);
      if (!sql.replace(/[\s;]/g, '')) throw badInput('--sql holds no SQL statement');
      let statements;
      try {
        statements = await probe.conn.extractStatements(sql);
      } catch (e) {
        throw badInput(`SQL failed: ${firstLine(e)}`);
      }
      if (!statements.count) throw badInput('--sql holds no SQL statement');
      if (opts.single && statements.count > 1) throw badInput(`--sql with --export takes one SELECT statement, not ${statements.count}`);
      for (let i = 0; i < statements.count; i++) {
        let prepared;
        try {
          prepared = await statements.prepare(i);
        } catch (e) {
          throw badInput(`SQL failed: ${firstLine(e)}`);
        }
        const type = prepared.statementType;
        const what = statements.count > 1 ? `statement ${i + 1} is` : 'the statement is';
        if (!QUERY_STATEMENTS.has(type) || (opts.single && type !== StatementType.SELECT))
          throw badInput(`--sql runs read-only queries (${opts.single ? 'SELECT' : 'SELECT, EXPLAIN, CREATE TEMP'}); ${what} ${StatementType[type]}`);
        if (i < statements.count - 1 || type === StatementType.CREATE) {
          try {
            await prepared.run();
          } catch (e) {
            throw badInput(`SQL failed: ${firstLine(e)}`);
          }
        }
      }
    } finally {
      closeStore(probe);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs SQL and returns plain objects (BIGINT as number where exact, other DuckDB values as text). */
export async function query(store: Store, sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]> {
  let reader;
  try {
    reader = await store.conn.runAndReadAll(sql, params);
  } catch (e) {
    throw badInput(`SQL failed: ${firstLine(e)}`);
  }
  return reader.getRowObjects().map((o) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = plain(v);
    return out;
  });
}

function plain(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  return String(v);
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** WHERE clause and parameters of a filter (values bound, never spliced into SQL). */
export function filterSql(f: RowFilter): { where: string; params: DuckDBValue[] } {
  const parts: string[] = [];
  const params: DuckDBValue[] = [];
  const add = (column: string, v: string | readonly string[] | undefined) => {
    if (v === undefined) return;
    const list = typeof v === 'string' ? [v] : v;
    if (!list.length) return;
    const ph = list.map((x) => {
      params.push(x);
      return `$${params.length}`;
    });
    parts.push(`${column} IN (${ph.join(', ')})`);
  };
  add('suite', f.suite);
  add('family', f.family);
  add('kernel', f.kernel);
  add('scheme', f.scheme);
  add('direction', f.direction);
  add('status', f.status);
  add('executor', f.executor);
  if (f.simulated !== undefined) parts.push(`simulated = ${f.simulated ? 'TRUE' : 'FALSE'}`);
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** SQL selecting the newest row of every case (case_id: old-grammar ids included) and simulated flag that passes the filter. */
export function latestSql(f: RowFilter, select = '*'): { sql: string; params: DuckDBValue[] } {
  const { where, params } = filterSql(f);
  return {
    sql: `SELECT ${select} FROM ${TABLE} ${where}
QUALIFY row_number() OVER (PARTITION BY case_id, simulated ORDER BY env_date DESC) = 1
ORDER BY suite, family, kernel NULLS FIRST, scheme NULLS FIRST, direction, world, seqlen, id, simulated`,
    params,
  };
}

/** Newest row of each case (and of each simulated projection), as the original result rows. */
export async function latestRows(store: Store, f: RowFilter = {}): Promise<ResultRow[]> {
  const { sql, params } = latestSql(f, 'row');
  return (await query(store, sql, params)).map((o) => ResultRowSchema.parse(JSON.parse(String(o.row))));
}

export type ExportFormat = 'csv' | 'parquet' | 'json';

export function exportFormatOf(file: string): ExportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet') return 'parquet';
  if (ext === '.json' || ext === '.jsonl') return 'json';
  throw badInput(`cannot export to '${file}': use a .csv, .parquet or .jsonl file name`);
}

/**
 * Writes rows to a file through DuckDB COPY: CSV (header), Parquet, or JSON lines. The default
 * selection is the flattened columns of the latest rows passing `f`; `sql` exports any query.
 * JSON export writes the original result rows, one per line (re-ingestable).
 */
export async function exportRows(store: Store, file: string, opts: { filter?: RowFilter; sql?: string } = {}): Promise<number> {
  const format = exportFormatOf(file);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let inner: string;
  let params: DuckDBValue[] = [];
  // One SELECT (checkSql): its trailing ';' and a closing '-- comment' must not swallow COPY's ')'.
  if (opts.sql) inner = `\n${opts.sql.replace(/[\s;]+$/, '')}\n`;
  else {
    const select = format === 'json' ? 'row' : [...COLUMNS.map((c) => c.name), 'source'].join(', ');
    ({ sql: inner, params } = latestSql(opts.filter ?? {}, select));
  }
  if (format === 'json' && !opts.sql) {
    const rows = await query(store, inner, params);
    fs.writeFileSync(file, rows.map((o) => `${String(o.row)}\n`).join(''));
    return rows.length;
  }
  const fmt = format === 'csv' ? 'FORMAT csv, HEADER' : format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json';
  let res;
  try {
    res = await store.conn.run(`COPY (${inner}) TO ${sqlString(path.resolve(file))} (${fmt})`, params);
  } catch (e) {
    throw badInput(`export to ${file} failed: ${firstLine(e)}`);
  }
  return res.rowsChanged;
}
