// The report as data (pure): sections of text, figures (plot ids) and tables, built from result
// rows; then written out as Markdown (figures linked as PNG) or as one HTML file (SVG inline).
import type { ResultRow } from '../results/schema.js';
import { STATUSES, SUITES } from '../results/schema.js';
import { PLOTS } from './specs.js';
import {
  cpPivots,
  cpTable,
  escapeHtml,
  failureTable,
  simTable,
  sparsityTable,
  statusTable,
  supportTable,
  toHtml,
  toMarkdown,
  toleranceTable,
  tflopsPivots,
  type TableModel,
} from './tables.js';
import { distinct } from './points.js';
import { rangesTable } from './ranges-panel.js';

export interface Figure {
  /** File name without extension (DIR/<id>.png, DIR/<id>.svg). */
  readonly id: string;
  readonly caption: string;
}

export interface Section {
  readonly title: string;
  readonly text: readonly string[];
  readonly figures: readonly Figure[];
  readonly tables: readonly TableModel[];
}

export interface ReportMeta {
  readonly title: string;
  /** Where the rows came from (database path or JSONL files). */
  readonly sources: readonly string[];
}

function environmentTable(rows: readonly ResultRow[]): TableModel {
  const measured = rows.filter((r) => !r.simulated);
  const list = (xs: (string | null)[]) => distinct(xs.filter((x): x is string => !!x)).sort().join(', ') || '-';
  const dates = measured.map((r) => r.env.date).sort();
  const libs = new Map<string, Set<string>>();
  for (const r of measured) for (const [k, v] of Object.entries(r.env.libs)) (libs.get(k) ?? libs.set(k, new Set()).get(k)!).add(v);
  return {
    title: 'Environment',
    head: ['field', 'value'],
    rows: [
      ['GPU', list(measured.map((r) => r.env.gpu))],
      ['driver', list(measured.map((r) => r.env.driver))],
      ['CUDA', list(measured.map((r) => r.env.cuda))],
      ['hosts', list(measured.map((r) => r.env.host))],
      ['executors', list(measured.map((r) => r.executor))],
      ['git revisions', list(measured.map((r) => r.env.gitRev))],
      ['run dates', dates.length ? `${dates[0]} .. ${dates[dates.length - 1]}` : '-'],
      ...[...libs].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort().join(', ')]),
    ],
  };
}

function countsTable(rows: readonly ResultRow[]): TableModel {
  const suites = SUITES.filter((s) => rows.some((r) => r.suite === s));
  const statuses = STATUSES.filter((s) => rows.some((r) => r.status === s));
  return {
    title: 'Rows by suite and status',
    head: ['suite', 'simulated', ...statuses, 'total'],
    rows: suites.flatMap((s) =>
      [false, true]
        .filter((sim) => rows.some((r) => r.suite === s && r.simulated === sim))
        .map((sim) => {
          const rs = rows.filter((r) => r.suite === s && r.simulated === sim);
          return [s, sim ? 'yes' : 'no', ...statuses.map((st) => String(rs.filter((r) => r.status === st).length)), String(rs.length)];
        }),
    ),
  };
}

const CAPTIONS: Readonly<Record<string, string>> = Object.fromEntries(PLOTS.map((p) => [p.id, p.title]));

/**
 * Sections of the report. `figures` are the plot ids that were drawn (a plot with no rows is not),
 * `timelines` the ids of the CP timeline pictures.
 */
export function buildSections(rows: readonly ResultRow[], figures: ReadonlySet<string>, timelines: readonly string[] = []): Section[] {
  const fig = (...ids: string[]) => ids.filter((id) => figures.has(id)).map((id) => ({ id, caption: CAPTIONS[id] ?? id }));
  const sections: Section[] = [
    { title: 'Overview', text: [], figures: [], tables: [countsTable(rows), environmentTable(rows)] },
  ];
  const kernelRows = rows.filter((r) => r.suite === 'kernel' && !r.simulated);
  if (kernelRows.length) {
    sections.push({
      title: 'Kernel throughput',
      text: [
        'TFLOP/s = FLOPs of the unmasked area / median time (SPEC section 6). A cell shows the status where the case did not run; "!" marks a result whose numerical error exceeds the tolerance of its dtype (src/util/tolerance.ts).',
      ],
      figures: fig('kernels-tflops', 'kernels-memory'),
      tables: tflopsPivots(rows),
    });
    const ranges = rangesTable(rows);
    if (ranges.rows.length)
      sections.push({ title: 'Our range kernel (triton_ranges, issue 13)', text: ['Ours against the fastest other kernel of the same case and against flex.'], figures: fig('ranges-ratio'), tables: [ranges] });
    sections.push({
      title: 'Support matrix',
      text: [
        'native: the kernel took the mask in its own form; adapter: through a conversion noted by the executor ("via ..."); otherwise the status of the cases. Label: the largest S that ran.',
      ],
      figures: fig('support-matrix'),
      tables: [supportTable(rows), statusTable(rows)],
    });
  }
  const tol = toleranceTable(rows);
  const fail = failureTable(rows);
  if (rows.some((r) => !r.simulated))
    sections.push({
      title: 'Errors',
      text: [
        tol.rows.length ? `${tol.rows.length} result(s) exceed the numerical tolerance.` : 'No result exceeds the numerical tolerance.',
        fail.rows.length ? `${fail.rows.length} case(s) failed (error or timeout).` : 'No case failed with an error or a timeout.',
      ],
      figures: [],
      tables: [tol, fail].filter((t) => t.rows.length),
    });
  if (rows.some((r) => r.suite === 'sparse' && !r.simulated))
    sections.push({ title: 'Block-sparse sweeps', text: [], figures: fig('sparsity'), tables: [sparsityTable(rows)] });
  if (rows.some((r) => r.scheme))
    sections.push({
      title: 'Context parallelism',
      text: ['TFLOP/s per GPU = total FLOPs / (slowest rank time x P); the mean-rank figure is what the paper\'s code reported. Dashed lines are simulated. With virtual ranks (all ranks in one process on one GPU) a rank\'s time is its compute steps only.'],
      figures: fig('cp-scaling', 'cp-seqlen'),
      tables: [...cpPivots(rows), cpTable(rows)],
    });
  const sim = simTable(rows);
  if (sim.rows.length)
    sections.push({ title: 'Simulator vs measurement', text: [], figures: fig('sim-vs-measured'), tables: [sim] });
  if (timelines.length)
    sections.push({
      title: 'CP timelines',
      text: ['One lane per rank: compute on top, communication below.'],
      figures: timelines.map((id) => ({ id, caption: id.replace(/^timeline-/, 'timeline: ') })),
      tables: [],
    });
  return sections;
}

export function reportMarkdown(meta: ReportMeta, sections: readonly Section[]): string {
  const out = [`# ${meta.title}`, '', `Rows from: ${meta.sources.map((s) => `\`${s}\``).join(', ') || '-'}`, ''];
  for (const s of sections) {
    out.push(`## ${s.title}`, '');
    for (const t of s.text) out.push(t, '');
    for (const f of s.figures) out.push(`![${f.caption}](${f.id}.png)`, '', `[SVG](${f.id}.svg)`, '');
    for (const t of s.tables) out.push(toMarkdown(t), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const CSS = `body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1500px}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}td.bad{color:#b00;font-weight:bold}td.st-oom{color:#c60}td.st-error,td.st-timeout{color:#b00}
td.st-unsupported,td.st-unavailable{color:#888}.note{color:#555;font-size:12px;margin-top:-1em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:12px}
h4{margin:1em 0 .3em}`;

/** Prefixes the ids inside an SVG, so several inline SVGs in one page cannot resolve each other's clip paths. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/(\s)id="([^"]+)"/g, `$1id="${prefix}-$2"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

/** One self-contained HTML file: the SVGs inline (by figure id), tables as HTML. */
export function reportHtml(meta: ReportMeta, sections: readonly Section[], svgs: ReadonlyMap<string, string>): string {
  const out = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(meta.title)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(meta.title)}</h1>`,
    `<p>Rows from: ${meta.sources.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ') || '-'}</p>`,
  ];
  for (const s of sections) {
    out.push(`<section><h2>${escapeHtml(s.title)}</h2>`);
    for (const t of s.text) out.push(`<p>${escapeHtml(t)}</p>`);
    for (const f of s.figures) {
      const svg = svgs.has(f.id) ? scopeSvgIds(svgs.get(f.id)!, f.id) : undefined;
      out.push(
        `<figure id="fig-${escapeHtml(f.id)}">${svg ?? `<img src="${escapeHtml(f.id)}.png" alt="${escapeHtml(f.caption)}">`}<figcaption>${escapeHtml(f.caption)} (<a href="${escapeHtml(f.id)}.png">PNG</a>, <a href="${escapeHtml(f.id)}.svg">SVG</a>)</figcaption></figure>`,
      );
    }
    for (const t of s.tables) out.push(toHtml(t));
    out.push('</section>');
  }
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
