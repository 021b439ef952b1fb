// Mask generation speed: generate + maskArea + blockMap(B=128) for causal_document at 1M and 16M
// tokens (target: 16M under 200 ms; the work is O(documents + block rows)). Median of `runs` after
// one warm-up run.
import { generateMask } from '../mask/families/index.js';
import { blockMap, maskArea } from '../mask/slices.js';

export interface MaskBenchRow {
  readonly family: string;
  readonly seqlen: number;
  readonly docs: number;
  readonly slices: number;
  readonly generateMs: number;
  readonly areaMs: number;
  readonly blockMapMs: number;
  /** Median of the per-run totals (not the sum of the medians). */
  readonly totalMs: number;
  readonly runs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function benchMaskGeneration(
  opts: { family?: string; seqlens?: readonly number[]; runs?: number; block?: number } = {},
): MaskBenchRow[] {
  const family = opts.family ?? 'causal_document';
  const runs = opts.runs ?? 5;
  const block = opts.block ?? 128;
  return (opts.seqlens ?? [1 << 20, 16 << 20]).map((seqlen) => {
    const t = { gen: [] as number[], area: [] as number[], map: [] as number[], total: [] as number[] };
    let docs = 0;
    let slices = 0;
    for (let r = 0; r <= runs; r++) {
      const t0 = performance.now();
      const g = generateMask(family, seqlen, { seed: r });
      const t1 = performance.now();
      for (const m of g.heads) maskArea(m);
      const t2 = performance.now();
      for (const m of g.heads) blockMap(m, block);
      const t3 = performance.now();
      if (r === 0) continue; // warm-up
      t.gen.push(t1 - t0);
      t.area.push(t2 - t1);
      t.map.push(t3 - t2);
      t.total.push(t3 - t0);
      docs = g.docLens?.length ?? 0;
      slices = g.heads[0].slices.length;
    }
    return {
      family,
      seqlen,
      docs,
      slices,
      generateMs: median(t.gen),
      areaMs: median(t.area),
      blockMapMs: median(t.map),
      totalMs: median(t.total),
      runs,
    };
  });
}
