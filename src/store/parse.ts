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

export function readResultJsonl(file: string): ParsedFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw badInput(`cannot read results file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseResultJsonl(text, file);
}
