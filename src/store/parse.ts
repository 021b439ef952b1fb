// Result JSONL parsed at the edge: every line validated against ResultRowSchema. A bad line is
// reported as `file:line: reason` and skipped; the other lines still count.
import fs from 'node:fs';
import { badInput } from '../errors.js';
import { ResultRowSchema, type ResultRow } from '../results/schema.js';

export interface LineError {
  readonly file: string;
  readonly line: number; // 1-based
  readonly message: string;
}

export interface ParsedRow {
  readonly row: ResultRow;
  readonly line: number;
}

export interface ParsedFile {
  readonly rows: readonly ParsedRow[];
  readonly errors: readonly LineError[];
}

export function formatLineError(e: LineError): string {
  return `${e.file}:${e.line}: ${e.message}`;
}

export function parseResultJsonl(text: string, file: string): ParsedFile {
  const rows: ParsedRow[] = [];
  const errors: LineError[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      errors.push({ file, line, message: `malformed JSON (${(e as Error).message})` });
      return;
    }
    const parsed = ResultRowSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? issue.path.join('.') : 'row';
      const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
      errors.push({ file, line, message: `not a result row: ${where}: ${issue.message}${more}` });
      return;
    }
    rows.push({ row: parsed.data, line });
  });
  return { rows, errors };
}

/**
 * Reads a result JSONL file strictly: a malformed or wrong-schema line, or a file without rows, is
 * bad input (exit 2, one line: the first bad line and how many more). The one exception is a torn
 * last line (no newline at the end: a run killed or a disk filled mid-write), which is skipped with
 * a warning on stderr; the writers repair it on their next append (src/util/jsonl.ts).
 */
export function readResultJsonl(file: string, warn: (s: string) => void = (s) => process.stderr.write(`attnbench: warning: ${s}\n`)): ParsedFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw badInput(`cannot read results file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const parsed = parseResultJsonl(text, file);
  let errors = parsed.errors;
  const lastLine = text.split('\n').length;
  const torn = !text.endsWith('\n') && errors.length > 0 && errors[errors.length - 1].line === lastLine;
  if (torn && parsed.rows.length) {
    warn(`${formatLineError(errors[errors.length - 1])}: a torn last line (cut mid-write), skipped`);
  }
  if (torn) errors = errors.slice(0, -1);
  if (errors.length) throw badInput(`${formatLineError(errors[0])}${errors.length > 1 ? ` (and ${errors.length - 1} more bad line(s))` : ''}`);
  if (!parsed.rows.length) throw badInput(`${file}: no result rows (${text.trim() ? 'only a torn line' : 'empty file'})`);
  return { rows: parsed.rows, errors };
}
