import { describe, expect, it } from 'vitest';
import { runCpBench } from './cp-bench.js';

describe('runCpBench', () => {
  it('prints planning times and the scheme x family table, and checks the targets', () => {
    const printed: string[] = [];
    const r = runCpBench({
      timingCases: [[1 << 16, 8, 1000]],
      worlds: [4],
      tokensPerRank: 2048,
      families: ['causal', 'causal_document'],
      print: (s) => printed.push(s),
    });
    expect(r.timings).toHaveLength(6);
    expect(r.timings.every((t) => t.ms !== null && t.ms < t.targetMs)).toBe(true);
    expect(r.cells).toHaveLength(12);
    expect(r.failures).toEqual([]);
    const text = printed.join('');
    expect(text).toMatch(/Planning time/);
    expect(text).toMatch(/dispatch vs ring/);
    expect(text).toMatch(/all targets met/);
  });
});
