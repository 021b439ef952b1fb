import { describe, expect, it } from 'vitest';
import { rngFor, shuffleInPlace, streamKey } from './prng.js';

describe('prng', () => {
  it('matches known outputs (computed by an independent Python port of the header algorithm)', () => {
    const cases: [number, string, number[]][] = [
      [0, 'doclens', [2283923067, 2232106564, 1040699198, 2198419618]],
      [42, 'kept:3', [326558032, 1519380316, 2343705313, 3040423814]],
      [2 ** 40 + 7, 'g', [39898147, 2034242155, 3008346265, 1701145829]],
    ];
    for (const [seed, label, want] of cases) {
      const r = rngFor(seed, label);
      expect([r.u32(), r.u32(), r.u32(), r.u32()]).toEqual(want);
    }
  });

  it('separates streams by label and by seed (including the high word)', () => {
    const keys = new Set([streamKey(0, 'a'), streamKey(0, 'b'), streamKey(1, 'a'), streamKey(2 ** 32, 'a'), streamKey(0, 'a\u0000')]);
    expect(keys.size).toBe(5);
  });

  it('rejects seeds that are not non-negative safe integers', () => {
    expect(() => rngFor(-1, 'x')).toThrow(/seed/);
    expect(() => rngFor(1.5, 'x')).toThrow(/seed/);
  });

  it('float() is in [0, 1) and int() stays in range with about equal counts', () => {
    const r = rngFor(7, 'uniform');
    let lo = 1;
    let hi = 0;
    for (let t = 0; t < 10_000; t++) {
      const x = r.float();
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const n = 7;
    const counts = new Array<number>(n).fill(0);
    const draws = 70_000;
    for (let t = 0; t < draws; t++) {
      counts[r.int(3, 3 + n) - 3]++;
    }
    expect(counts.reduce((a, c) => a + c, 0)).toBe(draws); // every draw landed in [3, 10)
    const e = draws / n;
    const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(22.5); // chi-square, 6 degrees of freedom, p = 0.001
    expect(() => r.int(5, 5)).toThrow(/range/);
    expect(r.int(0, 2 ** 32)).toBeLessThan(2 ** 32);
  });

  it('shuffleInPlace is a deterministic permutation', () => {
    const a = shuffleInPlace([...Array(50).keys()], rngFor(1, 's'));
    const b = shuffleInPlace([...Array(50).keys()], rngFor(1, 's'));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(a).not.toEqual([...Array(50).keys()]);
  });
});
