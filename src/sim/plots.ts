// Plot specs of projections (pure): scaling efficiency of every CP scheme vs GPUs and vs S, one
// panel per mask family and direction. TFLOP/s per GPU vs P and vs S come from the report's own
// specs (src/report/specs.ts: cp-scaling, cp-seqlen), so both draw the same rows alike.
//
// Scaling efficiency of a series (scheme, family, direction, and tokens per GPU when x = P, or P
// when x = S) is its TFLOP/s per GPU divided by the series' value at its smallest x: 1.0 means the
// per-GPU throughput of the smallest configuration is kept (weak scaling vs P).
import { FAMILY_IDS, SCHEME_IDS } from '../ids.js';
import type { TopLevelSpec } from 'vega-lite';
import type { ResultRow } from '../results/schema.js';

export interface EfficiencyPoint {
  readonly scheme: string;
  readonly family: string;
  readonly direction: string;
  readonly panel: string;
  readonly world: number;
  readonly seqlen: number;
  readonly tokensPerGpu: number;
  readonly series: string;
  readonly tflops: number;
  readonly efficiency: number;
  readonly baseline: number;
}

// Registry orders (src/cp/plan, src/mask/families).
const SCHEME_ORDER: readonly string[] = SCHEME_IDS;
const FAMILY_ORDER: readonly string[] = FAMILY_IDS;

function order(list: readonly string[]) {
  return (a: string, b: string) => {
    const ia = list.indexOf(a);
    const ib = list.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || a.localeCompare(b);
  };
}

export function efficiencyPoints(rows: readonly ResultRow[], x: 'world' | 'seqlen'): EfficiencyPoint[] {
  const ok = rows.filter((r) => r.scheme && r.simulated && r.status === 'ok' && r.tflops !== null && r.tflops > 0);
  const series = new Map<string, ResultRow[]>();
  for (const r of ok) {
    const other = x === 'world' ? `t${Math.round(r.seqlen / r.world)}` : `P${r.world}`;
    const k = `${r.scheme}|${r.family}|${r.direction}|${other}`;
    let s = series.get(k);
    if (!s) series.set(k, (s = []));
    s.push(r);
  }
  const out: EfficiencyPoint[] = [];
  for (const [k, rs] of series) {
    rs.sort((a, b) => a[x] - b[x]);
    const base = rs[0].tflops!;
    for (const r of rs) {
      out.push({
        scheme: r.scheme!,
        family: r.family,
        direction: r.direction,
        panel: `${r.family} · ${r.direction}`,
        world: r.world,
        seqlen: r.seqlen,
        tokensPerGpu: Math.round(r.seqlen / r.world),
        series: k,
        tflops: r.tflops!,
        efficiency: r.tflops! / base,
        baseline: rs[0][x],
      });
    }
  }
  return out;
}

function log2Ticks(values: readonly number[]): number[] {
  const xs = [...new Set(values)].sort((a, b) => a - b);
  if (xs.length <= 8) return xs;
  const out: number[] = [];
  for (let p = 2 ** Math.ceil(Math.log2(xs[0])); p <= xs[xs.length - 1]; p *= 2) out.push(p);
  return out;
}

const TOKENS_LABEL =
  "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + 'M' : datum.value >= 1024 ? format(datum.value / 1024, '~g') + 'k' : format(datum.value, '~g')";

/** Scaling efficiency vs P (or vs S), a line per scheme, one panel per family and direction. */
export function scalingEfficiencySpec(rows: readonly ResultRow[], x: 'world' | 'seqlen'): TopLevelSpec | null {
  const points = efficiencyPoints(rows, x);
  if (!points.length) return null;
  const schemes = [...new Set(points.map((p) => p.scheme))].sort(order(SCHEME_ORDER));
  const panels = [...new Set(points.map((p) => p.panel))].sort((a, b) => {
    const [fa, da] = a.split(' · ');
    const [fb, db] = b.split(' · ');
    return order(FAMILY_ORDER)(fa, fb) || da.localeCompare(db) * -1;
  });
  const values = points.map((p) => p[x]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      view: { stroke: '#ddd' },
      header: { labelFontSize: 11, labelFontWeight: 'bold' },
      axis: { labelFontSize: 10, titleFontSize: 11 },
      legend: { labelFontSize: 10, titleFontSize: 11 },
      title: { fontSize: 14, anchor: 'start' },
    },
    title:
      x === 'world'
        ? { text: 'Simulated CP scaling efficiency vs GPUs', subtitle: 'TFLOP/s per GPU relative to the smallest P of each series (same tokens per GPU)' }
        : { text: 'Simulated CP scaling efficiency vs sequence length', subtitle: 'TFLOP/s per GPU relative to the shortest S of each series (same P)' },
    data: { values: points },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
    columns: 4,
    spec: {
      width: 210,
      height: 150,
      mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 1.5 },
      encoding: {
        x: {
          field: x,
          type: 'quantitative',
          title: x === 'world' ? 'GPUs (P)' : 'sequence length S (tokens)',
          scale: { type: 'log', base: 2 },
          axis: { values: log2Ticks(values), ...(x === 'seqlen' ? { labelExpr: TOKENS_LABEL } : {}) },
        },
        y: { field: 'efficiency', type: 'quantitative', title: 'scaling efficiency', scale: { zero: true } },
        color: { field: 'scheme', type: 'nominal', title: 'scheme', scale: { domain: schemes, scheme: 'tableau10' }, sort: schemes },
        detail: { field: 'series', type: 'nominal' },
        tooltip: [
          { field: 'scheme' },
          { field: 'world', title: 'P' },
          { field: 'seqlen', title: 'S' },
          { field: 'tflops', format: '.1f', title: 'TFLOP/s per GPU' },
          { field: 'efficiency', format: '.3f' },
        ],
      },
    },
  } as TopLevelSpec;
}
