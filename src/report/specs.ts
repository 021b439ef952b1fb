// Plot specs (pure): result rows in, Vega-Lite specs out. Rendering lives in render.ts; the report
// and the dashboard both draw from PLOTS, so a plot has one id (its file name) everywhere.
import type { TopLevelSpec } from 'vega-lite';
import type { ResultRow } from '../results/schema.js';
import {
  SUPPORT_CLASSES,
  byDirection,
  byFamily,
  byKernel,
  byScheme,
  cpPoints,
  distinct,
  kernelPoints,
  pairSimulated,
  kernelPanels,
  sparsityPoints,
  supportMatrix,
} from './points.js';
import { paramsLabel, rangesRatios, sameRun } from './ranges-panel.js';

const PANEL_W = 210;
const PANEL_H = 150;
const COLUMNS = 4;

/** Axis labels in tokens: 1024 -> 1k, 1048576 -> 1M. */
const TOKENS_LABEL =
  "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + 'M' : datum.value >= 1024 ? format(datum.value / 1024, '~g') + 'k' : format(datum.value, '~g')";

const BASE = {
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
} as const;

/**
 * Tick values of a log2 axis: the data values themselves when there are few, else powers of two
 * inside their range, every 2nd or 4th power when there are many, so that at most 6 ticks remain
 * and every one gets its label (vega's own log ticks land on values like 1.17k, and its overlap
 * rule dropped labels such as 128k and 512k).
 */
export function log2Ticks(values: readonly number[]): number[] {
  const xs = distinct(values.filter((v) => v > 0)).sort((a, b) => a - b);
  if (xs.length <= 6) return xs;
  const lo = Math.ceil(Math.log2(xs[0]));
  const hi = Math.floor(Math.log2(xs[xs.length - 1]));
  const step = Math.max(1, Math.ceil((hi - lo + 1) / 6));
  const out: number[] = [];
  for (let e = lo; e <= hi; e += step) out.push(2 ** e);
  return out;
}

function log2X(field: string, title: string, values: readonly number[], labelExpr?: string) {
  return {
    field,
    type: 'quantitative',
    title,
    scale: { type: 'log', base: 2 },
    axis: { values: log2Ticks(values), labelOverlap: false, ...(labelExpr ? { labelExpr } : {}) },
  } as const;
}

function seqlenX(values: readonly number[]) {
  return log2X('seqlen', 'sequence length S (tokens)', values, TOKENS_LABEL);
}

function colorBy(field: string, domain: string[], title: string) {
  return { field, type: 'nominal', title, scale: { domain, scheme: domain.length <= 10 ? 'tableau10' : 'tableau20' }, sort: domain } as const;
}

/**
 * Lines in small panels: one panel per value of the points' `panel` field, in the order `panels`
 * gives, COLUMNS to a row. `filled`: filled point markers; `resolve`: vega's per-panel scales.
 */
function panelLines(
  title: { text: string; subtitle: string },
  points: readonly object[],
  panels: readonly string[],
  encoding: Record<string, unknown>,
  opts: { filled: boolean; resolve?: Record<string, unknown> },
): TopLevelSpec {
  return {
    ...BASE,
    title,
    data: { values: points },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
    columns: COLUMNS,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
    spec: {
      width: PANEL_W,
      height: PANEL_H,
      mark: { type: 'line', point: opts.filled ? { filled: true, size: 30 } : { size: 30 }, strokeWidth: 1.5 },
      encoding,
    },
  } as TopLevelSpec;
}

/** A kernel metric vs S, a line per kernel, one panel per mask family and direction. */
function kernelLines(
  rows: readonly ResultRow[],
  y: { field: 'tflops' | 'peakGiB'; title: string; log: boolean; format: string },
  title: { text: string; subtitle: string },
): TopLevelSpec | null {
  const all = kernelPoints(rows);
  const points = all.filter((p) => p[y.field] !== null && (!y.log || p[y.field]! > 0));
  if (!points.length) return null;
  // Colours from every kernel that has points in any kernel plot, so both plots colour alike.
  const kernels = distinct(all.map((p) => p.kernel)).sort(byKernel);
  const encoding = {
    x: seqlenX(points.map((p) => p.seqlen)),
    y: { field: y.field, type: 'quantitative', title: y.title, ...(y.log ? { scale: { type: 'log' } } : {}) },
    color: colorBy('kernel', kernels, 'kernel'),
    tooltip: [
      { field: 'kernel' },
      { field: 'seqlen', title: 'S' },
      { field: y.field, format: y.format, title: y.title },
      { field: 'medianMs', format: '.3f', title: 'median ms' },
      { field: 'accuracy' },
    ],
  };
  return panelLines(title, points, kernelPanels(points), encoding, { filled: true });
}

/** TFLOP/s vs S per kernel; one panel per mask family and direction. */
export function kernelTflopsSpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  return kernelLines(
    rows,
    { field: 'tflops', title: 'TFLOP/s', log: false, format: '.1f' },
    { text: 'Kernel throughput', subtitle: 'TFLOP/s vs sequence length; one panel per mask family and direction' },
  );
}

/** Peak memory (total, GiB) vs S per kernel; one panel per mask family and direction. */
export function kernelMemorySpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  return kernelLines(
    rows,
    { field: 'peakGiB', title: 'peak memory (GiB)', log: true, format: '.2f' },
    { text: 'Kernel memory', subtitle: 'peak allocated GPU memory during the call vs sequence length' },
  );
}

export const SUPPORT_COLORS: Readonly<Record<(typeof SUPPORT_CLASSES)[number], string>> = {
  native: '#2ca02c',
  adapter: '#98df8a',
  unsupported: '#c7c7c7',
  unavailable: '#f2f2f2',
  oom: '#ff9f40',
  timeout: '#9467bd',
  error: '#d62728',
};

/** Kernel x family heatmap of support classes (native / adapter / unsupported / oom / ...), per direction. */
export function supportMatrixSpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  const cells = supportMatrix(rows);
  if (!cells.length) return null;
  const kernels = distinct(cells.map((c) => c.kernel)).sort(byKernel);
  const families = distinct(cells.map((c) => c.family)).sort(byFamily);
  const values = cells.map((c) => ({ ...c, counts: JSON.stringify(c.counts) }));
  return {
    ...BASE,
    title: { text: 'Support matrix', subtitle: 'what each kernel did with each mask family (label: largest S that ran)' },
    data: { values },
    facet: { column: { field: 'direction', type: 'nominal', title: null, sort: ['fwd', 'bwd'] } },
    spec: {
      width: { step: 34 },
      height: { step: 20 },
      encoding: {
        x: { field: 'family', type: 'nominal', title: 'mask family', sort: families, axis: { labelAngle: -45 } },
        y: { field: 'kernel', type: 'nominal', title: 'kernel', sort: kernels },
      },
      layer: [
        {
          mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
          encoding: {
            color: {
              field: 'support',
              type: 'nominal',
              title: 'support',
              scale: { domain: [...SUPPORT_CLASSES], range: SUPPORT_CLASSES.map((c) => SUPPORT_COLORS[c]) },
            },
            tooltip: [{ field: 'kernel' }, { field: 'family' }, { field: 'support' }, { field: 'label' }, { field: 'counts' }],
          },
        },
        { mark: { type: 'text', fontSize: 7 }, encoding: { text: { field: 'label' } } },
      ],
    },
  } as TopLevelSpec;
}

/** Block-sparse sweeps: TFLOP/s vs kept fraction per kernel and block size; panel per S and direction. */
export function sparsitySpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  const points = sparsityPoints(rows);
  if (!points.length) return null;
  const sorted = [...points].sort((a, b) => byFamily(a.family, b.family) || byDirection(a.direction, b.direction) || a.seqlen - b.seqlen);
  const series = distinct([...points].sort((a, b) => byKernel(a.kernel, b.kernel) || a.block - b.block).map((p) => p.series));
  return panelLines(
    { text: 'Block-sparse sweeps', subtitle: 'TFLOP/s (on the kept blocks) vs kept fraction, per kernel and block size' },
    points,
    distinct(sorted.map((p) => p.panel)),
    {
      x: { field: 'kept', type: 'quantitative', title: 'kept fraction', scale: { domain: [0, 1] } },
      y: { field: 'tflops', type: 'quantitative', title: 'TFLOP/s' },
      color: colorBy('series', series, 'kernel, block'),
      tooltip: [{ field: 'series' }, { field: 'kept' }, { field: 'seqlen', title: 'S' }, { field: 'tflops', format: '.1f' }],
    },
    { filled: true },
  );
}

function cpSpec(rows: readonly ResultRow[], x: 'world' | 'seqlen'): TopLevelSpec | null {
  const points = cpPoints(rows);
  if (!points.length) return null;
  const schemes = distinct(points.map((p) => p.scheme)).sort(byScheme);
  const panels = distinct(
    [...points].sort((a, b) => byFamily(a.family, b.family) || byDirection(a.direction, b.direction) || a.hardware.localeCompare(b.hardware)).map((p) => p.panel),
  );
  const xEnc =
    x === 'world' ? log2X('world', 'GPUs (P)', points.map((p) => p.world)) : seqlenX(points.map((p) => p.seqlen));
  // Lines join the points of one scheme and source along x, the other variable fixed: tokens per GPU
  // on the P axis; on the S axis the world size where a sweep has several S at one P, else tokens
  // per GPU (the paper's setting: S = 8k x P, one S per P).
  const sameP = points.some((p) => points.some((q) => q !== p && q.world === p.world && q.seqlen !== p.seqlen && q.scheme === p.scheme && q.source === p.source));
  const detail = x === 'world' || !sameP ? 'tokensPerGpu' : 'world';
  const sim = points.some((p) => p.source === 'simulated');
  const legend = sim ? '; solid = measured, dashed = simulated' : '';
  const title =
    x === 'world'
      ? { text: 'Context parallelism: scaling', subtitle: `TFLOP/s per GPU (slowest rank) vs number of GPUs, one panel per family, direction and hardware${legend}` }
      : { text: 'Context parallelism: sequence length', subtitle: `TFLOP/s per GPU (slowest rank) vs S, one panel per family, direction and hardware${legend}` };
  const encoding = {
    x: xEnc,
    y: { field: 'tflops', type: 'quantitative', title: 'TFLOP/s per GPU' },
    color: colorBy('scheme', schemes, 'scheme'),
    strokeDash: { field: 'source', type: 'nominal', title: 'source', scale: { domain: ['measured', 'simulated'], range: [[1, 0], [4, 3]] } },
    shape: { field: 'source', type: 'nominal', title: 'source', scale: { domain: ['measured', 'simulated'], range: ['circle', 'triangle-up'] } },
    // One line per scheme, source and the other variable (tokens per GPU, or P).
    detail: { field: detail, type: 'nominal' },
    tooltip: [
      { field: 'scheme' },
      { field: 'source' },
      { field: 'hardware' },
      { field: 'world', title: 'P' },
      { field: 'seqlen', title: 'S' },
      { field: 'tflops', format: '.1f', title: 'TFLOP/s per GPU' },
      { field: 'tflopsMeanRank', format: '.1f', title: 'mean-rank TFLOP/s' },
    ],
  };
  // Each panel its own y scale: CPU ranks (~0.002 TFLOP/s) never share an axis with GPUs (~400).
  return panelLines(title, points, panels, encoding, { filled: false, resolve: { scale: { y: 'independent' } } });
}

/** CP throughput per GPU vs world size, per scheme; one panel per family and direction. */
export function cpScalingSpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  return cpSpec(rows, 'world');
}

/** CP throughput per GPU vs S, per scheme; one panel per family and direction. */
export function cpSeqlenSpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  return cpSpec(rows, 'seqlen');
}

/** Predicted (simulated) vs measured median time for every configuration that has both. */
export function simVsMeasuredSpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  const pairs = pairSimulated(rows);
  if (!pairs.length) return null;
  const names = distinct(pairs.map((p) => p.name)).sort((a, b) => byScheme(a, b) || byKernel(a, b));
  const all = pairs.flatMap((p) => [p.measuredMs, p.predictedMs]);
  const lo = Math.min(...all) / 1.2;
  const hi = Math.max(...all) * 1.2;
  const values = pairs.map((p) => ({ ...p, relErrorPct: p.relError * 100 }));
  return {
    ...BASE,
    title: { text: 'Simulator vs measurement', subtitle: 'median time per configuration; on the diagonal the prediction is exact' },
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: [{ ms: lo }, { ms: hi }] },
        mark: { type: 'line', color: '#999', strokeDash: [4, 3] },
        encoding: {
          x: { field: 'ms', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] } },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] } },
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          x: { field: 'measuredMs', type: 'quantitative', title: 'measured median (ms)', scale: { type: 'log', domain: [lo, hi] } },
          y: { field: 'predictedMs', type: 'quantitative', title: 'predicted (ms)', scale: { type: 'log', domain: [lo, hi] } },
          color: colorBy('name', names, 'kernel / scheme'),
          shape: { field: 'kind', type: 'nominal', title: 'kind', scale: { domain: ['kernel', 'cp'], range: ['circle', 'square'] } },
          tooltip: [
            { field: 'name' },
            { field: 'family' },
            { field: 'direction' },
            { field: 'seqlen', title: 'S' },
            { field: 'world', title: 'P' },
            { field: 'measuredMs', format: '.3f' },
            { field: 'predictedMs', format: '.3f' },
            { field: 'relErrorPct', format: '+.1f', title: 'error %' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Issue 13's panel: triton_ranges' TFLOP/s as a ratio to flex and, where another kernel beat flex, to
 * that fastest other kernel of the same case; per case (family, mask parameters, S, heads), one panel
 * per direction; the rule at 1 is parity (right of it ours is faster). Bars pale where the other
 * kernel's row is from another run (the targets are ratios within one device call).
 */
export function rangesRatioSpec(rows: readonly ResultRow[]): TopLevelSpec | null {
  const values = rangesRatios(rows).flatMap(({ ours, best, flex }) => {
    const params = paramsLabel(ours.maskParams, ' ');
    const s = ours.seqlen >= 1024 ? `${ours.seqlen / 1024}k` : String(ours.seqlen);
    const label = [ours.family, params, s, `${ours.headsQ}:${ours.headsKv}`, `d${ours.headDim}`].filter(Boolean).join(' ');
    const point = (vs: string, other: ResultRow) => ({
      label,
      direction: ours.direction,
      vs,
      other: other.kernel,
      ratio: ours.tflops! / other.tflops!,
      ours: ours.tflops,
      theirs: other.tflops,
      sameRun: sameRun(ours, other) ? 'yes' : 'no (another run)',
    });
    return [...(flex ? [point('flex', flex)] : []), ...(best && best !== flex ? [point('best other', best)] : [])];
  });
  if (!values.length) return null;
  const labels = distinct(values.map((v) => v.label));
  return {
    ...BASE,
    title: { text: 'Our range kernel vs the others', subtitle: 'triton_ranges TFLOP/s / flex, and / the fastest other kernel where that is not flex (> 1: ours is faster)' },
    data: { values },
    facet: { column: { field: 'direction', type: 'nominal', title: null, sort: ['fwd', 'bwd'] } },
    spec: {
      width: 260,
      height: Math.max(60, labels.length * 18),
            layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            y: { field: 'label', type: 'nominal', title: null, sort: labels, axis: { labelLimit: 320 } },
            x: { field: 'ratio', type: 'quantitative', title: 'ours / other (TFLOP/s), bars from parity', scale: { type: 'log', base: 2 } },
            x2: { datum: 1 },
            yOffset: { field: 'vs', type: 'nominal', sort: ['flex', 'best other'] },
            color: { field: 'vs', type: 'nominal', title: 'against', scale: { domain: ['flex', 'best other'], range: ['#f58518', '#4c78a8'] } },
            opacity: { field: 'sameRun', type: 'ordinal', title: 'same run', scale: { domain: ['yes', 'no (another run)'], range: [1, 0.4] } },
            tooltip: [{ field: 'label', title: 'case' }, { field: 'vs' }, { field: 'sameRun', title: 'same run' }, { field: 'other', title: 'kernel' }, { field: 'ratio', format: '.2f' }, { field: 'ours', format: '.1f' }, { field: 'theirs', format: '.1f' }],
          },
        },
        { mark: { type: 'rule', color: '#333', strokeDash: [3, 2] }, encoding: { x: { datum: 1 } } },
      ],
    },
  } as TopLevelSpec;
}

export interface PlotDef {
  /** File name (without extension) in the report and the dashboard's plot kind. */
  readonly id: string;
  readonly title: string;
  readonly spec: (rows: readonly ResultRow[]) => TopLevelSpec | null;
}

export const PLOTS = [
  { id: 'kernels-tflops', title: 'Kernel throughput', spec: kernelTflopsSpec },
  { id: 'kernels-memory', title: 'Kernel memory', spec: kernelMemorySpec },
  { id: 'support-matrix', title: 'Support matrix', spec: supportMatrixSpec },
  { id: 'ranges-ratio', title: 'Our range kernel vs the others', spec: rangesRatioSpec },
  { id: 'sparsity', title: 'Block-sparse sweeps', spec: sparsitySpec },
  { id: 'cp-scaling', title: 'CP scaling vs P', spec: cpScalingSpec },
  { id: 'cp-seqlen', title: 'CP vs S', spec: cpSeqlenSpec },
  { id: 'sim-vs-measured', title: 'Simulator vs measured', spec: simVsMeasuredSpec },
] as const satisfies readonly PlotDef[];

export type PlotId = (typeof PLOTS)[number]['id'];

export function plotById(id: string): PlotDef | undefined {
  return PLOTS.find((p) => p.id === id);
}
