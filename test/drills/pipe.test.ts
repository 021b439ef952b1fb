// `attnbench masks --json | head -c 1`: the reader closes the pipe early. The CLI used to die of an
// unhandled EPIPE with a stack trace on stderr; it ends quietly now (exit 0, nothing on stderr).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt } from './harness.js';

beforeAll(() => ensureBuilt());

describe('a reader that closes the pipe early', () => {
  it('masks --json | head -c 1: exit 0, no stack trace', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-pipe-'));
    try {
      const child = spawn(process.execPath, [BIN, 'masks', '--family', 'causal_document', '--seqlen', '16M', '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.stdout.once('data', () => child.stdout.destroy()); // read one chunk, then close our end
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      expect(stderr).toBe('');
      expect(code).toBe(0);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
