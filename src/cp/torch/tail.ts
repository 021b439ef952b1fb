// Follows a JSONL file another process appends to: each read() returns the complete lines added
// since the last one (a line still being written waits for its newline).
import fs from 'node:fs';

export class LineTail {
  private offset = 0;
  private rest = '';

  constructor(readonly file: string) {}

  read(): string[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        // Truncated or replaced: start again from the top.
        this.offset = 0;
        this.rest = '';
      }
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.rest + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      return lines.filter((l) => l.trim().length > 0);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** "mtime:size" of each file (absent ones too): changes whenever any of them is written. */
export function filesFingerprint(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = fs.statSync(f);
        return `${s.mtimeMs}:${s.size}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}
