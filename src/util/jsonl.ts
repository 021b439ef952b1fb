// JSON-lines files: results are appended one line per case, as measured, so nothing is lost.
import fs from 'node:fs';
import path from 'node:path';
import { badInput } from '../errors.js';

/** Files whose tail this process has checked (a torn tail is repaired once, before the first append). */
const checkedTails = new Set<string>();

function warn(s: string): void {
  process.stderr.write(`attnbench: warning: ${s}\n`);
}

/**
 * Makes `file` end on a line boundary before rows are appended to it. A last line without its
 * newline is a row cut mid-write (kill -9, full disk): if it still parses it only lacks the newline;
 * otherwise the fragment is moved to `<file>.torn` (kept for inspection) and cut from the file, with
 * a warning. Either way the next row starts on a fresh line, so `--resume` reads the file again.
 */
export function repairTornTail(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch {
    return; // no file yet
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return;
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    // Find the start of the last line (read backwards in chunks).
    let start = 0;
    const chunk = Buffer.alloc(65536);
    for (let end = size; end > 0 && start === 0; ) {
      const from = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - from, from);
      const i = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (i >= 0) start = from + i + 1;
      end = from;
    }
    const frag = Buffer.alloc(size - start);
    fs.readSync(fd, frag, 0, frag.length, start);
    let complete = false;
    try {
      JSON.parse(frag.toString('utf8'));
      complete = true;
    } catch {
      complete = false;
    }
    if (complete) {
      fs.writeSync(fd, '\n', size);
      return;
    }
    fs.appendFileSync(`${file}.torn`, Buffer.concat([frag, Buffer.from('\n')]));
    fs.ftruncateSync(fd, start);
    warn(`${file}: its last line was cut mid-write (${frag.length} bytes): moved to ${file}.torn; appending on a fresh line`);
  } finally {
    fs.closeSync(fd);
  }
}

export function appendJsonl(file: string, row: unknown): void {
  const key = path.resolve(file);
  if (!checkedTails.has(key)) {
    fs.mkdirSync(path.dirname(key), { recursive: true });
    repairTornTail(file);
    checkedTails.add(key);
  }
  fs.appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Ids of the rows with status ok in a results JSONL file (what --resume skips). */
export function okRowIds(file: string): Set<string> {
  return new Set(readJsonl<{ id?: string; status?: string }>(file).flatMap((r) => (r.status === 'ok' && r.id ? [r.id] : [])));
}

/** Reads a JSONL file; a torn last line (a run killed mid-write) is skipped, not fatal. */
export function readJsonl<T = unknown>(file: string, o: { readonly whole?: boolean } = {}): T[] {
  if (!fs.existsSync(file)) return [];
  const out: T[] = [];
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // A file written at once (a plan) is never torn: a cut one would be half a plan, read as whole.
  if (o.whole && text !== '' && !text.endsWith('\n')) throw badInput(`${file}:${lines.length}: cut short (its last line has no newline): the file was not written to its end; write it again`);
  lines.forEach((line, n) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      // Only a last line without its newline is torn (a write cut short); a complete line that does
      // not parse (even the last one) is not ours.
      if (n < lines.length - 1) throw badInput(`${file}:${n + 1}: malformed JSON line (only a torn last line is skipped)`);
    }
  });
  return out;
}
