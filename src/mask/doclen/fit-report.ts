// fitReport: the real document-length histograms beside our built-in fits (mean, p50, p90, p99 and
// the largest CDF gap at the real bucket edges). Reads ../shared/data by path; missing files are
// skipped. Run: npx tsx src/mask/doclen/fit-report.ts [dir]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_DOCLENS, BUILTIN_FITS, builtinHistogram, mixtureCdf } from './builtin.js';
import { histogramStats, type Histogram, type HistogramStats } from './histogram.js';
import { loadHistogram } from './load.js';

export interface FitRow {
  readonly name: string;
  readonly real: HistogramStats;
  readonly fit: HistogramStats;
  /** max over real bucket edges of |real CDF - fitted CDF|. */
  readonly ks: number;
}

/** Largest gap between a real histogram's CDF and a built-in fit's, at the real bucket edges. */
export function fitGap(real: Histogram, name: keyof typeof BUILTIN_FITS): number {
  const m = BUILTIN_FITS[name];
  const f0 = mixtureCdf(m, 1);
  const fitCdf = (x: number) => (mixtureCdf(m, Math.min(Math.max(x, 1), m.maxLen)) - f0) / (mixtureCdf(m, m.maxLen) - f0);
  const total = real.buckets.reduce((a, b) => a + b.weight, 0);
  let acc = 0;
  let gap = 0;
  for (const b of real.buckets) {
    acc += b.weight / total;
    gap = Math.max(gap, Math.abs(acc - fitCdf(b.hi)));
  }
  return gap;
}

export function fitReportRows(dir = '../shared/data'): FitRow[] {
  const rows: FitRow[] = [];
  for (const name of BUILTIN_DOCLENS) {
    const path = join(dir, `doclen-${name}.json`);
    if (!existsSync(path)) continue;
    const real = loadHistogram(path);
    rows.push({ name, real: histogramStats(real), fit: histogramStats(builtinHistogram(name)), ks: fitGap(real, name) });
  }
  return rows;
}

/** Markdown table of `fitReportRows` (empty string when no histogram file is found). */
export function fitReport(dir = '../shared/data'): string {
  const rows = fitReportRows(dir);
  if (rows.length === 0) return '';
  const r = (x: number) => String(Math.round(x));
  const lines = [
    '| distribution | mean real / fit | p50 real / fit | p90 real / fit | p99 real / fit | max CDF gap |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const { name, real, fit, ks } of rows)
    lines.push(
      `| ${name} | ${r(real.mean)} / ${r(fit.mean)} | ${r(real.p50)} / ${r(fit.p50)} | ${r(real.p90)} / ${r(fit.p90)} | ${r(real.p99)} / ${r(fit.p99)} | ${ks.toFixed(4)} |`,
    );
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${fitReport(process.argv[2])}\n`);
}
