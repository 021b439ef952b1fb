// Test helper (imported by *.test.ts only): a fresh temporary folder per test and captured
// stdout / stderr, restored after each test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';

export interface CapturedIo {
  readonly dir: string;
  readonly out: string[];
  readonly err: string[];
}

/** Registers beforeEach / afterEach hooks; `use` receives each test's folder and output arrays. */
export function captureIo(prefix: string, use: (io: CapturedIo) => void): void {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const io: CapturedIo = { dir, out: [], err: [] };
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (io.out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (io.err.push(String(s)), true));
    use(io);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
