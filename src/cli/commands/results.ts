// attnbench results: ingest result JSONL into the results database, query it, export it.
import type { Command } from 'commander';
import { DIRECTIONS, STATUSES, SUITES } from '../../results/schema.js';
import { FAMILY_IDS, rowKernelProblem, SCHEME_IDS } from '../../ids.js';
import { formatLineError, readResultJsonl } from '../../store/parse.js';
import {
  DEFAULT_DB_PATH,
  checkSql,
  closeStore,
  exportFormatOf,
  exportRows,
  ingestJsonl,
  latestRows,
  openStore,
  query,
  sandboxStore,
  type RowFilter,
  type Store,
} from '../../store/store.js';
import {
  TABLE_FORMATS,
  formatTable,
  objectsTable,
  rowsTable,
  tflopsPivots,
  cpPivots,
  toObjects,
  type TableFormat,
} from '../../report/tables.js';
import { sortRows } from '../../report/points.js';
import { splitList } from '../../util/parse.js';
import { usage } from '../../errors.js';

export interface ResultsCliOptions {
  db: string;
  ingest?: string[];
  suite?: string;
  family?: string;
  kernel?: string;
  scheme?: string;
  direction?: string;
  status?: string;
  source?: string;
  sql?: string;
  pivot?: boolean;
  format: string;
  export?: string;
}

/** At most this many bad lines are printed per file; the rest are counted. */
const MAX_LINE_ERRORS = 20;

function list(value: string | undefined, what: string, allowed: readonly string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const xs = splitList(value);
  if (!xs.length) throw usage(`empty --${what}: expected one or more of ${allowed.join(', ')}`);
  const bad = xs.filter((x) => !allowed.includes(x));
  if (bad.length) throw usage(`unknown --${what} '${bad[0]}': expected ${allowed.join(', ')}`);
  return xs;
}

/** Row kernel values: kernel ids, the CP reference, simulator curves `<id>@cp`. */
function kernelList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const xs = splitList(value);
  if (!xs.length) throw usage(`empty --kernel: expected one or more kernel ids`);
  for (const x of xs) {
    const p = rowKernelProblem(x);
    if (p) throw usage(`--kernel: ${p}`);
  }
  return xs;
}

export function filterFromOptions(o: ResultsCliOptions): RowFilter {
  const source = o.source ?? 'all';
  if (!['all', 'measured', 'simulated'].includes(source)) throw usage(`--source must be all, measured or simulated, not '${source}'`);
  return {
    suite: list(o.suite, 'suite', SUITES),
    family: list(o.family, 'family', FAMILY_IDS),
    kernel: kernelList(o.kernel),
    scheme: list(o.scheme, 'scheme', SCHEME_IDS),
    direction: list(o.direction, 'direction', DIRECTIONS),
    status: list(o.status, 'status', STATUSES),
    simulated: source === 'all' ? undefined : source === 'simulated',
  };
}

/**
 * `attnbench results` as a function: the command's action, and `attnbench run`'s ingest stage.
 * `ingestOnly`: only report what was ingested (the command: `--ingest` with no flag asking for output).
 */
export async function resultsCommand(o: ResultsCliOptions, ingestOnly: boolean): Promise<void> {
  if (!(TABLE_FORMATS as readonly string[]).includes(o.format))
    throw usage(`--format must be one of ${TABLE_FORMATS.join(', ')}, not '${o.format}'`);
  const format = o.format as TableFormat;
  const filter = filterFromOptions(o);
  // Bad input before the database is created or opened: every file to ingest parses, the export name has a known extension.
  for (const file of o.ingest ?? []) readResultJsonl(file, () => undefined);
  if (o.export) exportFormatOf(o.export);
  if (o.sql) await checkSql(o.sql, { single: Boolean(o.export) });
  // Ingest on a writable open; output reads a read-only one (':memory:' has only the one), where
  // --sql (unless exported through COPY) runs with no file access.
  const memory = o.db === ':memory:';
  let store: Store | undefined = o.ingest?.length || memory ? await openStore(o.db) : undefined;
  try {
    for (const file of o.ingest ?? []) {
      const r = await ingestJsonl(store!, file);
      const problems = [...r.errors, ...r.conflicts];
      for (const e of problems.slice(0, MAX_LINE_ERRORS)) process.stderr.write(`${formatLineError(e)}\n`);
      if (problems.length > MAX_LINE_ERRORS) process.stderr.write(`... and ${problems.length - MAX_LINE_ERRORS} more\n`);
      process.stderr.write(
        `${file}: ${r.inserted} new, ${r.duplicates} already stored, ${r.conflicts.length} conflicting, ${r.errors.length} bad line(s)\n`,
      );
    }
    if (ingestOnly) {
      const n = (await query(store!, 'SELECT count(*) AS n FROM results'))[0].n;
      process.stderr.write(`${o.db}: ${String(n)} row(s)\n`);
      return;
    }
    if (!memory) {
      if (store) closeStore(store);
      store = undefined;
      store = await openStore(o.db, { readOnly: true });
    }
    if (o.export) {
      const n = await exportRows(store!, o.export, { filter, sql: o.sql });
      process.stderr.write(`${n} row(s) -> ${o.export}\n`);
      return;
    }
    if (o.sql) await sandboxStore(store!);
    process.stdout.write(`${await render(store!, o, filter, format)}\n`);
  } finally {
    if (store) closeStore(store);
  }
}

export function register(program: Command): void {
  program
    .command('results')
    .description('ingest result JSONL into the results database (DuckDB), query it, export CSV/Parquet')
    .option('--db <path>', 'results database', DEFAULT_DB_PATH)
    .option('--ingest <files...>', 'result JSONL files to ingest first (idempotent)')
    .option('--suite <list>', `suites: ${SUITES.join(', ')}`)
    .option('--family <list>', 'mask families')
    .option('--kernel <list>', 'kernel ids')
    .option('--scheme <list>', 'CP scheme ids')
    .option('--direction <list>', 'fwd, bwd')
    .option('--status <list>', `statuses: ${STATUSES.join(', ')}`)
    .option('--source <which>', 'all | measured | simulated', 'all')
    .option('--sql <query>', "read-only SQL over the table 'results' (SELECT, EXPLAIN, CREATE TEMP; printed instead of the row listing)")
    .option('--pivot', 'TFLOP/s tables: kernels x S for each family and direction; CP schemes x families for each setting')
    .option('--format <fmt>', `output: ${TABLE_FORMATS.join(' | ')}`, 'table')
    .option('--export <file>', 'write the selected rows (or --sql) to .csv, .parquet or .jsonl')
    .action(async (o: ResultsCliOptions, cmd: Command) => {
      // `--ingest` alone only reports what was ingested; any other flag asks for output.
      const ingestOnly = Boolean(o.ingest?.length) && cmd.options.every((opt) => ['db', 'ingest'].includes(opt.attributeName()) || cmd.getOptionValueSource(opt.attributeName()) !== 'cli');
      await resultsCommand(o, ingestOnly);
    });
}

async function render(store: Store, o: ResultsCliOptions, filter: RowFilter, format: TableFormat): Promise<string> {
  if (o.sql) {
    const objs = await query(store, o.sql);
    return format === 'json' ? JSON.stringify(objs, null, 2) : formatTable(objectsTable(objs), format);
  }
  const rows = await latestRows(store, filter);
  if (!rows.length) process.stderr.write('no rows match\n');
  if (!o.pivot) return format === 'json' ? JSON.stringify(rows, null, 2) : formatTable(rowsTable(sortRows(rows)), format);
  const pivots = [...tflopsPivots(rows), ...cpPivots(rows)];
  if (format === 'json') return JSON.stringify(pivots.map((t) => ({ title: t.title, rows: toObjects(t) })), null, 2);
  return pivots.map((t) => formatTable(t, format)).join('\n\n');
}
