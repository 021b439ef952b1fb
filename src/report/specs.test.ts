import type { TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../results/schema.js';
import { syntheticKernelSweep, syntheticRow } from './fixtures.js';
import { pairKey, pairSimulated, sparsityPoints, supportMatrix } from './points.js';
import { pngSize, specToSvg, svgToPng } from './render.js';
import {
  PLOTS,
  cpScalingSpec,
  cpSeqlenSpec,
  kernelTflopsSpec,
  log2Ticks,
  simVsMeasuredSpec,
  sparsitySpec,
  supportMatrixSpec,
} from './specs.js';

/** Count of point symbols (one per data point) and of rect marks in a rendered Vega SVG. */
const count = (svg: string, role: string) => svg.split(`aria-roledescription="${role}"`).length - 1;
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

type Loose = { data: { values: Record<string, unknown>[] }; facet: { sort: string[] } };
const values = (spec: TopLevelSpec) => (spec as unknown as Loose).data.values;
const facetSort = (spec: TopLevelSpec) => (spec as unknown as Loose).facet.sort;

function cpRows(): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const scheme of ['ring_p2p', 'ulysses'] as const)
    for (const world of [2, 4, 8])
      for (const simulated of [false, true])
        rows.push(syntheticRow({ scheme, kernel: 'sdpa_flash', world, seqlen: 8192 * world, simulated, tflops: 300 - world * 10 + (simulated ? 7 : 0) }));
  return rows;
}

describe('plot specs', () => {
  it('kernel throughput: one point per ok kernel row, one panel per family and direction, in SPEC order', async () => {
    const rows = [
      ...syntheticKernelSweep(['flex', 'sdpa_flash'], ['causal', 'full']),
      syntheticRow({ kernel: 'torch_naive', status: 'oom', seqlen: 8192 }), // not a point
      syntheticRow({ kernel: 'flex', simulated: true }), // not a point
    ];
    const spec = kernelTflopsSpec(rows)!;
    expect(values(spec)).toHaveLength(24);
    expect(facetSort(spec)).toEqual(['full · fwd', 'full · bwd', 'causal · fwd', 'causal · bwd']);
    const svg = await specToSvg(spec);
    expect(count(svg, 'point')).toBe(24);
    const t = texts(svg);
    for (const panel of ['full · fwd', 'full · bwd', 'causal · fwd', 'causal · bwd']) expect(t).toContain(panel);
    expect(t).toContain('Kernel throughput');
    // Legend in kernel order (sdpa_flash before flex), and the x axis labelled in tokens.
    expect(t.indexOf('sdpa_flash')).toBeLessThan(t.indexOf('flex'));
    expect(t).toContain('2k');
    // The data point's own label carries its value.
    expect(svg).toContain('TFLOP/s: 100; kernel: flex; S: 1024');
  });

  it('labels panels with the head setting when GQA and MHA rows are mixed', () => {
    const rows = [syntheticRow({ headsKv: 8 }), syntheticRow({ headsKv: 64 })];
    expect(facetSort(kernelTflopsSpec(rows)!)).toEqual(['causal · fwd · 64:8', 'causal · fwd · 64:64']);
  });

  it('returns null for a plot without rows, and every plot id is unique', () => {
    expect(kernelTflopsSpec([])).toBeNull();
    expect(cpScalingSpec(syntheticKernelSweep())).toBeNull();
    expect(new Set(PLOTS.map((p) => p.id)).size).toBe(PLOTS.length);
  });

  it('log2 ticks: data values when few, powers of two otherwise', () => {
    expect(log2Ticks([2, 8, 4, 4])).toEqual([2, 4, 8]);
    expect(log2Ticks([1, 2, 4, 8, 16, 24, 32, 40, 48].map((k) => k * 1024))).toEqual([1, 2, 4, 8, 16, 32].map((k) => k * 1024));
  });

  it('support matrix: native, adapter and failure classes from statuses and notes', async () => {
    const rows = [
      syntheticRow({ kernel: 'sdpa_flash', family: 'causal', seqlen: 1024 }),
      syntheticRow({ kernel: 'sdpa_flash', family: 'causal', seqlen: 49152, status: 'oom' }),
      syntheticRow({ kernel: 'sdpa_cudnn', family: 'causal_document', notes: ['via nested tensors'] }),
      syntheticRow({ kernel: 'torch_naive', family: 'causal', status: 'oom' }),
      syntheticRow({ kernel: 'fa3', family: 'causal', status: 'unavailable' }),
      syntheticRow({ kernel: 'sdpa_flash', family: 'share_question', status: 'unsupported' }),
      syntheticRow({ kernel: 'flex', family: 'causal', status: 'error' }),
      syntheticRow({ kernel: 'flex', family: 'causal', direction: 'bwd', status: 'timeout' }),
    ];
    const cells = supportMatrix(rows);
    const get = (k: string, f: string, d = 'fwd') => cells.find((c) => c.kernel === k && c.family === f && c.direction === d);
    expect(get('sdpa_flash', 'causal')).toMatchObject({ support: 'native', label: '≤1k', counts: { ok: 1, oom: 1 } });
    expect(get('sdpa_cudnn', 'causal_document')?.support).toBe('adapter');
    expect(get('torch_naive', 'causal')?.support).toBe('oom');
    expect(get('fa3', 'causal')?.support).toBe('unavailable');
    expect(get('sdpa_flash', 'share_question')?.support).toBe('unsupported');
    expect(get('flex', 'causal')?.support).toBe('error');
    expect(get('flex', 'causal', 'bwd')?.support).toBe('timeout');
    const svg = await specToSvg(supportMatrixSpec(rows)!);
    expect(count(svg, 'rect mark')).toBe(cells.length);
    expect(texts(svg)).toEqual(expect.arrayContaining(['fwd', 'bwd', 'native', 'adapter', 'oom', 'unsupported', '≤1k']));
  });

  it('sparsity sweep: TFLOP/s vs kept fraction per block size and S', async () => {
    const rows: ResultRow[] = [];
    for (const seqlen of [16384, 49152])
      for (const sparsity of [0.1, 0.5, 1])
        for (const block of [64, 128])
          rows.push(syntheticRow({ suite: 'sparse', kernel: 'flex', family: 'block_sparse', seqlen, maskParams: { s: sparsity, block } }));
    rows.push(syntheticRow({ suite: 'sparse', kernel: 'flex', family: 'block_sparse', maskParams: {} })); // no params: skipped
    expect(sparsityPoints(rows)).toHaveLength(12);
    const spec = sparsitySpec(rows)!;
    const svg = await specToSvg(spec);
    expect(count(svg, 'point')).toBe(12);
    expect(texts(svg)).toEqual(expect.arrayContaining(['block_sparse · fwd · S=16k', 'block_sparse · fwd · S=48k', 'flex B=64', 'flex B=128']));
  });

  it('CP scaling marks measured and simulated differently', async () => {
    const spec = cpScalingSpec(cpRows())!;
    expect(values(spec)).toHaveLength(12);
    expect(new Set(values(spec).map((p) => p.source))).toEqual(new Set(['measured', 'simulated']));
    const svg = await specToSvg(spec);
    expect(count(svg, 'point')).toBe(12);
    expect(texts(svg)).toEqual(expect.arrayContaining(['measured', 'simulated', 'ring_p2p', 'ulysses', 'causal · fwd · Synthetic GPU']));
    // measured lines solid, simulated dashed
    expect(svg).toMatch(/stroke-dasharray="4,3"/);
  });

  it('CP plots: other hardware gets its own panel and y scale; the S plot draws its lines; log ticks all labelled (issue 17)', async () => {
    const cpu = (world: number) => {
      const r = syntheticRow({ scheme: 'ring_p2p', kernel: 'cpu_tiled', world, seqlen: 8192 * world, tflops: 0.002 });
      return { ...r, executor: 'cpu' as const, env: { ...r.env, gpu: null } };
    };
    const rows = [...cpRows(), cpu(2), cpu(4)];
    const spec = cpScalingSpec(rows)! as unknown as { resolve: unknown; data: { values: { panel: string }[] } };
    expect(new Set(spec.data.values.map((p) => p.panel))).toEqual(new Set(['causal · fwd · Synthetic GPU', 'causal · fwd · CPU ranks']));
    expect(spec.resolve).toEqual({ scale: { y: 'independent' } });
    // S = 8k x P: one S per P; the S plot joins the points of one tokens-per-GPU setting, so lines are drawn (dashed for simulated)
    const svg = await specToSvg(cpSeqlenSpec(cpRows())!);
    expect(count(svg, 'line mark')).toBeGreaterThan(0);
    expect(svg).toMatch(/stroke-dasharray="4,3"/);
    expect(log2Ticks([8, 16, 32, 64, 128, 256, 512, 1024].map((k) => k * 1024))).toEqual([8, 32, 128, 512].map((k) => k * 1024));
    const wide = await specToSvg(cpSeqlenSpec(cpRows().concat([16, 32, 64, 128].flatMap((w) => [syntheticRow({ scheme: 'ring_p2p', kernel: 'sdpa_flash', world: w, seqlen: 8192 * w })])))!);
    expect(texts(wide)).toEqual(expect.arrayContaining(['16k', '64k', '256k', '1M'])); // every tick labelled
  });

  it('pairs simulated rows with measured rows of the same configuration', async () => {
    const rows = cpRows();
    // A measured row of another configuration (P=16) has no prediction; a prediction with no measurement is unpaired.
    rows.push(syntheticRow({ scheme: 'ring_p2p', kernel: 'sdpa_flash', world: 16, seqlen: 8192 * 16 }));
    rows.push(syntheticRow({ scheme: 'usp', kernel: 'sdpa_flash', world: 4, seqlen: 32768, simulated: true }));
    const pairs = pairSimulated(rows);
    expect(pairs).toHaveLength(6);
    for (const p of pairs) expect(p.predictedMs).toBeLessThan(p.measuredMs); // simulated tflops were higher
    const one = pairs.find((p) => p.name === 'ulysses' && p.world === 4)!;
    expect(one.relError).toBeCloseTo(260 / 267 - 1, 6);
    // The key ignores the suite (a projection may be filed under 'sim').
    const m = syntheticRow({ kernel: 'flex' });
    expect(pairKey({ ...m, suite: 'sim', simulated: true })).toBe(pairKey(m));
    const svg = await specToSvg(simVsMeasuredSpec(rows)!);
    expect(count(svg, 'point')).toBe(6);
  });

  it('renders a PNG at twice the SVG size', async () => {
    const svg = await specToSvg(kernelTflopsSpec(syntheticKernelSweep())!);
    const [, w, h] = /<svg[^>]*width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const png = svgToPng(svg);
    expect(pngSize(png)).toEqual({ width: 2 * w, height: 2 * h });
    expect(pngSize(svgToPng(svg, 1))).toEqual({ width: w, height: h });
  });
});
