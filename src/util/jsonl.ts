// JSON-lines files: results are appended one line per case, as measured, so nothing is lost.
import fs from 'node:fs';
import path from 'node:path';

export function appendJsonl(file: string, row: unknown): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Ids of the rows with status ok in a results JSONL file (what --resume skips). */
export function okRowIds(file: string): Set<string> {
  return new Set(readJsonl<{ id?: string; status?: string }>(file).flatMap((r) => (r.status === 'ok' && r.id ? [r.id] : [])));
}

/** Reads a JSONL file; a torn last line (a run killed mid-write) is skipped, not fatal. */
export function readJsonl<T = unknown>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const out: T[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, n) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      if (n < lines.length - 2) throw new Error(`${file}:${n + 1}: malformed JSON line`);
    }
  });
  return out;
}
