import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { captureIo } from './testing.js';
import { checkWorkerEnv, WORKER_KNOBS } from './worker-env.js';

describe('worker knobs in the environment', () => {
  it('every listed value passes, empty is unset, anything else is a usage error naming the knob', () => {
    for (const [name, values] of Object.entries(WORKER_KNOBS)) {
      for (const v of [...values, '']) expect(() => checkWorkerEnv({ [name]: v })).not.toThrow();
      expect(() => checkWorkerEnv({ [name]: 'bogus' })).toThrow(new RegExp(`invalid ${name} 'bogus'`));
    }
    expect(() => checkWorkerEnv({ ATTNBENCH_FLEX_MASK: 'row' })).toThrow(/expected auto, slices, rows/);
  });

  describe('through the CLI', () => {
    let io = { dir: '', out: [] as string[], err: [] as string[] };
    captureIo('attnbench-worker-env-', (x) => (io = x));
    it('kernels with a misspelt ATTNBENCH_FLEX_MASK: exit 2, one line, no results file', async () => {
      const out = path.join(io.dir, 'k.jsonl');
      process.env.ATTNBENCH_FLEX_MASK = 'row';
      try {
        const code = await main(['kernels', '--executor', 'torch', '--kernel', 'flex', '--family', 'causal_document', '--seqlen', '1k', '--no-progress', '--out', out]);
        expect(code).toBe(2);
      } finally {
        delete process.env.ATTNBENCH_FLEX_MASK;
      }
      expect(io.err.join('')).toMatch(/invalid ATTNBENCH_FLEX_MASK 'row'/);
      expect(fs.existsSync(out)).toBe(false);
    });
  });
});
