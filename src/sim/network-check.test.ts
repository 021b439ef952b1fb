import { describe, expect, it } from 'vitest';
import { busFactor, compareFigure, fittable, PUBLISHED, simulateOp, sizeBucket } from './network-check.js';
import { roundCluster } from './testing.js';

describe('network model vs nccl-tests figures', () => {
  it('reproduces the ring and all-to-all formulas: busbw tends to the link bandwidth for large messages', () => {
    // roundCluster: NVLink 100 GB/s (efficiency 1), 5 us per message / ring step; IB 50 GB/s, 10 us
    const c = roundCluster();
    const size = 2 ** 30;
    const ag = simulateOp(c, 'all_gather', 8, size);
    // 7 ring steps of size/8 bytes at 100 GB/s, 5 us each
    expect(ag.us).toBeCloseTo(7 * 5 + (7 * size) / 8 / 100e3, 3);
    expect(ag.busbwGBps).toBeCloseTo((size / (ag.us * 1e3)) * (7 / 8), 9);
    const ar = simulateOp(c, 'all_reduce', 8, size);
    expect(ar.us).toBeCloseTo(2 * ag.us, 3);
    expect(busFactor('all_reduce', 8)).toBeCloseTo(1.75, 12);
    const a2a = simulateOp(c, 'alltoall', 4, size);
    expect(a2a.busbwGBps).toBeGreaterThan(95);
    expect(a2a.busbwGBps).toBeLessThanOrEqual(100);
    const sr = simulateOp(c, 'sendrecv', 2, size);
    expect(sr.us).toBeCloseTo(5 + size / 100e3, 3);
  });

  it('keeps a source, a link and a date with every published figure, and buckets sizes', () => {
    expect(PUBLISHED.figures.length).toBeGreaterThan(10);
    for (const f of PUBLISHED.figures) {
      expect(f.url).toMatch(/^https:\/\/github\.com\//);
      expect(f.source.length).toBeGreaterThan(5);
      expect(f.date.length).toBeGreaterThan(3);
      expect(f.busbwGBps !== undefined || f.timeUs !== undefined).toBe(true);
    }
    expect(PUBLISHED.figures.filter(fittable).length).toBeGreaterThan(5);
    expect([2 ** 19, 2 ** 20, 2 ** 27, 2 ** 32].map(sizeBucket)).toEqual(['< 1 MiB', '1-64 MiB', '64 MiB-1 GiB', '>= 1 GiB']);
    const f = PUBLISHED.figures.find((x) => x.id === 'nvl-ring-busbw-sjeaugey')!;
    const r = compareFigure(roundCluster(), f);
    expect(r.errorPct!).toBeCloseTo(((r.predictedBusbwGBps - 370) / 370) * 100, 9);
  });
});
