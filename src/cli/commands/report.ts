// attnbench report: Markdown + HTML report with PNG/SVG plots, from the database or JSONL files.
import type { Command } from 'commander';
import { writeReport, readTrace } from '../../report/build.js';
import type { ResultRow } from '../../results/schema.js';
import { formatLineError } from '../../store/parse.js';
import { DEFAULT_DB_PATH, closeStore, ingestJsonl, latestRows, openStore } from '../../store/store.js';
import { usage } from '../../errors.js';

export interface ReportCliOptions {
  db?: string;
  in?: string[];
  out: string;
  trace?: string[];
  title: string;
}

/** Rows from the database, or from JSONL files through an in-memory database (same dedup rules). */
async function loadRows(o: ReportCliOptions): Promise<{ rows: ResultRow[]; sources: string[] }> {
  if (o.db && o.in?.length) throw usage('give either --db or --in, not both');
  if (!o.in?.length) {
    const db = o.db ?? DEFAULT_DB_PATH;
    const store = await openStore(db, { readOnly: true });
    try {
      return { rows: await latestRows(store), sources: [db] };
    } finally {
      closeStore(store);
    }
  }
  const store = await openStore(':memory:');
  try {
    for (const file of o.in) {
      const r = await ingestJsonl(store, file);
      for (const e of [...r.errors, ...r.conflicts]) process.stderr.write(`${formatLineError(e)}\n`);
    }
    return { rows: await latestRows(store), sources: o.in };
  } finally {
    closeStore(store);
  }
}

/** `attnbench report` as a function: the command's action, and `attnbench run`'s report stage. */
export async function reportCommand(o: ReportCliOptions): Promise<void> {
  const traces = (o.trace ?? []).map(readTrace);
  const { rows, sources } = await loadRows(o);
  if (!rows.length && !traces.length) throw usage(`no result rows in ${sources.join(', ')}`);
  const r = await writeReport(rows, o.out, { title: o.title, sources }, traces);
  process.stdout.write(`${rows.length} row(s); plots: ${r.plots.join(', ') || 'none'}\n`);
  process.stdout.write(`${o.out}/report.md\n${o.out}/report.html\n`);
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write report.md + report.html with plots (PNG and SVG) and tables of key numbers')
    .option('--db <path>', `results database (default ${DEFAULT_DB_PATH})`)
    .option('--in <files...>', 'result JSONL files instead of a database')
    .option('--out <dir>', 'output directory', 'attnbench-out/report')
    .option('--trace <files...>', 'CP timelines: Chrome/Perfetto trace JSON files to draw')
    .option('--title <text>', 'report title', 'attnbench report')
    .action(reportCommand);
}
