import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantile, summarize, tflops } from './stats.js';

describe('timing statistics', () => {
  it('quantiles of a known sample', () => {
    const s = [5, 1, 4, 2, 3];
    expect(quantile(s, 0.5)).toBe(3);
    expect(quantile(s, 0)).toBe(1);
    expect(quantile(s, 1)).toBe(5);
    expect(quantile([1, 2], 0.5)).toBe(1.5);
    expect(summarize([10, 20, 30, 40, 50, 60])).toEqual({ medianMs: 35, p20Ms: 20, p80Ms: 50, samples: 6 });
  });
  it('p20 <= median <= p80 and all inside the sample range', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }), (s) => {
        const r = summarize(s);
        expect(r.p20Ms).toBeLessThanOrEqual(r.medianMs);
        expect(r.medianMs).toBeLessThanOrEqual(r.p80Ms);
        expect(r.p20Ms).toBeGreaterThanOrEqual(Math.min(...s));
        expect(r.p80Ms).toBeLessThanOrEqual(Math.max(...s));
      }),
    );
  });
  it('TFLOP/s', () => {
    expect(tflops(1e12, 1000)).toBe(1);
    expect(tflops(2e12, 1)).toBe(2000);
  });
});
