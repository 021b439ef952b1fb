// `attnbench report`: rows (from the database or JSONL files) -> DIR/report.md, DIR/report.html and
// one PNG + SVG + Vega-Lite JSON per plot, under fixed names (DIR/<plot id>.png) that a README can
// link to. Plots without rows are not drawn, and their files from an earlier report are removed.
import fs from 'node:fs';
import path from 'node:path';
import type { ResultRow } from '../results/schema.js';
import { buildSections, reportHtml, reportMarkdown, type ReportMeta } from './document.js';
import { specToSvg, svgToPng } from './render.js';
import { sortRows } from './points.js';
import { PLOTS } from './specs.js';
import { parseTrace, timelineSvg, type Trace } from './timeline.js';
import { badInput } from '../errors.js';

export interface NamedTrace {
  /** Becomes the file name timeline-<name>.png. */
  readonly name: string;
  readonly trace: Trace;
}

export interface ReportResult {
  readonly files: readonly string[];
  /** Plot ids drawn. */
  readonly plots: readonly string[];
}

const PLOT_EXTS = ['.png', '.svg', '.vl.json'] as const;

/** A file-name-safe trace name: letters, digits, dot, dash, underscore. */
export function traceName(file: string): string {
  return path.basename(file).replace(/\.json$/i, '').replace(/\.trace$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

export function readTrace(file: string): NamedTrace {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw badInput(`cannot read trace ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return { name: traceName(file), trace: parseTrace(value, file) };
  } catch (e) {
    throw badInput((e as Error).message);
  }
}

export async function writeReport(
  input: readonly ResultRow[],
  outDir: string,
  meta: ReportMeta,
  traces: readonly NamedTrace[] = [],
): Promise<ReportResult> {
  const rows = sortRows(input);
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const f = path.join(outDir, name);
    fs.writeFileSync(f, data);
    files.push(f);
  };
  const svgs = new Map<string, string>();
  for (const p of PLOTS) {
    const spec = p.spec(rows);
    if (!spec) {
      for (const ext of PLOT_EXTS) fs.rmSync(path.join(outDir, `${p.id}${ext}`), { force: true });
      continue;
    }
    const svg = await specToSvg(spec);
    svgs.set(p.id, svg);
    write(`${p.id}.svg`, svg);
    write(`${p.id}.png`, svgToPng(svg));
    write(`${p.id}.vl.json`, `${JSON.stringify(spec, null, 1)}\n`);
  }
  const timelines: string[] = [];
  for (const t of traces) {
    const id = `timeline-${t.name}`;
    const svg = timelineSvg(t.trace, { title: `CP timeline: ${t.name}` });
    svgs.set(id, svg);
    timelines.push(id);
    write(`${id}.svg`, svg);
    write(`${id}.png`, svgToPng(svg));
  }
  const sections = buildSections(rows, new Set(svgs.keys()), timelines);
  write('report.md', reportMarkdown(meta, sections));
  write('report.html', reportHtml(meta, sections, svgs));
  return { files, plots: PLOTS.filter((p) => svgs.has(p.id)).map((p) => p.id) };
}
