// Tables (pure): a small table model, its renderings (terminal, Markdown, CSV, JSON, HTML), and the
// tables of key numbers the CLI and the report print from result rows.
import Table from 'cli-table3';
import type { Direction, ResultRow, Status } from '../results/schema.js';
import { STATUSES } from '../results/schema.js';
import { formatTokens } from '../util/parse.js';
import { isVirtualRanks } from '../results/rows.js';
import { BWD_FLOPS_FACTOR } from '../results/flops.js';
import { maxAbsError } from '../store/columns.js';
import {
  SUPPORT_CLASSES,
  byDirection,
  byFamily,
  byKernel,
  byScheme,
  distinct,
  roleParam,
  pairSimulated,
  supportMatrix,
  type SimPair,
} from './points.js';

export interface TableModel {
  readonly title?: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** A line under the table (legend of marks). */
  readonly note?: string;
}

export const TABLE_FORMATS = ['table', 'md', 'csv', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export function formatTable(t: TableModel, format: TableFormat): string {
  switch (format) {
    case 'table':
      return toTerminal(t);
    case 'md':
      return toMarkdown(t);
    case 'csv':
      return toCsv(t);
    case 'json':
      return JSON.stringify(toObjects(t), null, 2);
  }
}

export function toTerminal(t: TableModel): string {
  const table = new Table({
    head: [...t.head],
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' }, // no rule between rows
  });
  for (const r of t.rows) table.push([...r]);
  return [t.title, table.toString(), t.note].filter((x) => x).join('\n');
}

const mdCell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function toMarkdown(t: TableModel): string {
  const lines = [
    `| ${t.head.map(mdCell).join(' | ')} |`,
    `| ${t.head.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
  ];
  return [t.title ? `**${t.title}**\n` : '', lines.join('\n'), t.note ? `\n${t.note}` : ''].filter((x) => x).join('\n');
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

export function toCsv(t: TableModel): string {
  return [t.head, ...t.rows].map((r) => r.map(csvCell).join(',')).join('\n');
}

export function toObjects(t: TableModel): Record<string, string>[] {
  return t.rows.map((r) => Object.fromEntries(t.head.map((h, i) => [h, r[i] ?? ''])));
}

export function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export function toHtml(t: TableModel): string {
  const head = `<tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td${cellClass(c)}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return [
    t.title ? `<h4>${escapeHtml(t.title)}</h4>` : '',
    `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`,
    t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : '',
  ]
    .filter((x) => x)
    .join('\n');
}

/** Status words and over-tolerance marks get a class so the HTML report can colour them. */
function cellClass(c: string): string {
  if (c.endsWith('!')) return ' class="bad"';
  if ((STATUSES as readonly string[]).includes(c) && c !== 'ok') return ` class="st-${c}"`;
  return '';
}

// ---- numbers ----------------------------------------------------------------------------------

export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return v.toFixed(2);
  return a === 0 ? '0' : v.toExponential(1);
}

export const fmtBytesGiB = (b: number) => `${fmtNumber(b / 1024 ** 3)}`;

/** TFLOP/s of an ok row (with `!` when its error exceeds the tolerance), else its status. */
export function tflopsCell(r: ResultRow | undefined): string {
  if (!r) return '';
  if (r.status !== 'ok') return r.status;
  const v = r.tflops === null ? '?' : fmtNumber(r.tflops);
  return r.error?.exceedsTolerance ? `${v}!` : v;
}

const TOLERANCE_NOTE = '! = numerical error above the tolerance of its dtype (see the error table)';

// ---- tables of key numbers --------------------------------------------------------------------

/** Measured single-device rows of a suite. */
function measured(rows: readonly ResultRow[], suite: ResultRow['suite']): ResultRow[] {
  return rows.filter((r) => r.suite === suite && !r.simulated && r.kernel);
}

/**
 * Pivot: kernels x seqlen -> TFLOP/s for one family and direction (status word where it did not
 * run). Rows with another head setting or dtype get their own line, labelled.
 */
export function tflopsPivot(rows: readonly ResultRow[], family: string, direction: Direction): TableModel {
  const rs = measured(rows, 'kernel').filter((r) => r.family === family && r.direction === direction);
  const seqlens = distinct(rs.map((r) => r.seqlen)).sort((a, b) => a - b);
  const variants = distinct(rs.map((r) => `${r.headsQ}:${r.headsKv} ${r.dtype}`));
  const label = (r: ResultRow) => (variants.length > 1 ? `${r.kernel} (${r.headsQ}:${r.headsKv} ${r.dtype})` : r.kernel!);
  const byLine = new Map<string, Map<number, ResultRow>>();
  const sorted = [...rs].sort((a, b) => byKernel(a.kernel!, b.kernel!) || a.headsKv - b.headsKv || a.env.date.localeCompare(b.env.date));
  for (const r of sorted) {
    const k = label(r);
    if (!byLine.has(k)) byLine.set(k, new Map());
    byLine.get(k)!.set(r.seqlen, r); // newest wins
  }
  return {
    title: `${family} · ${direction} (TFLOP/s)`,
    head: ['kernel', ...seqlens.map(formatTokens)],
    rows: [...byLine].map(([k, bySeq]) => [k, ...seqlens.map((s) => tflopsCell(bySeq.get(s)))]),
    note: rs.some((r) => r.error?.exceedsTolerance) ? TOLERANCE_NOTE : undefined,
  };
}

/** Every (family, direction) pivot of the kernel suite, in family order. */
export function tflopsPivots(rows: readonly ResultRow[]): TableModel[] {
  const rs = measured(rows, 'kernel');
  const pairs = distinct(rs.map((r) => `${r.family}\u0000${r.direction}`))
    .map((k) => k.split('\u0000') as [string, Direction])
    .sort(([fa, da], [fb, db]) => byFamily(fa, fb) || byDirection(da, db));
  return pairs.map(([f, d]) => tflopsPivot(rows, f, d));
}

/** Kernel x status counts over the measured kernel and sparse suites. */
export function statusTable(rows: readonly ResultRow[]): TableModel {
  const rs = rows.filter((r) => !r.simulated && r.kernel && !r.scheme);
  const kernels = distinct(rs.map((r) => r.kernel!)).sort(byKernel);
  const present = STATUSES.filter((s) => rs.some((r) => r.status === s));
  return {
    title: 'Statuses (cases per kernel)',
    head: ['kernel', ...present],
    rows: kernels.map((k) => [k, ...present.map((s) => String(rs.filter((r) => r.kernel === k && r.status === s).length || ''))]),
  };
}

/** Kernel x family support classes (both directions: "fwd/bwd" when they differ). */
export function supportTable(rows: readonly ResultRow[]): TableModel {
  const cells = supportMatrix(rows);
  const kernels = distinct(cells.map((c) => c.kernel)).sort(byKernel);
  const families = distinct(cells.map((c) => c.family)).sort(byFamily);
  const cell = (k: string, f: string) => {
    const fwd = cells.find((c) => c.kernel === k && c.family === f && c.direction === 'fwd');
    const bwd = cells.find((c) => c.kernel === k && c.family === f && c.direction === 'bwd');
    if (!fwd && !bwd) return '';
    if (!fwd || !bwd || fwd.support === bwd.support) return (fwd ?? bwd)!.support;
    return `${fwd.support}/${bwd.support}`;
  };
  return {
    title: 'Support matrix (kernel x family)',
    head: ['kernel', ...families],
    rows: kernels.map((k) => [k, ...families.map((f) => cell(k, f))]),
    note: `classes: ${SUPPORT_CLASSES.join(', ')}; "a/b" = forward a, backward b`,
  };
}

/** The measured rows that `pick` flags, by kernel, family and S (the order of the problem tables). */
function flaggedRows(rows: readonly ResultRow[], pick: (r: ResultRow) => boolean): ResultRow[] {
  return rows
    .filter((r) => !r.simulated && pick(r))
    .sort((a, b) => byKernel(a.kernel ?? '', b.kernel ?? '') || byFamily(a.family, b.family) || a.seqlen - b.seqlen);
}

/** Rows whose error exceeds the dtype tolerance: marked, not hidden. */
export function toleranceTable(rows: readonly ResultRow[]): TableModel {
  const bad = flaggedRows(rows, (r) => r.error?.exceedsTolerance === true);
  return {
    title: 'Numerical error above tolerance',
    head: ['kernel/scheme', 'family', 'dir', 'S', 'dtype', 'max abs error', 'reference'],
    rows: bad.map((r) => [
      r.scheme ?? r.kernel ?? '',
      r.family,
      r.direction,
      formatTokens(r.seqlen),
      r.dtype,
      fmtNumber(maxAbsError(r) ?? NaN),
      r.error!.reference,
    ]),
  };
}

/** Rows that failed (error / timeout) with their one-line message. */
export function failureTable(rows: readonly ResultRow[], statuses: readonly Status[] = ['error', 'timeout']): TableModel {
  const bad = flaggedRows(rows, (r) => statuses.includes(r.status));
  return {
    title: 'Failures',
    head: ['kernel/scheme', 'family', 'dir', 'S', 'P', 'status', 'message'],
    rows: bad.map((r) => [
      r.scheme ?? r.kernel ?? '',
      r.family,
      r.direction,
      formatTokens(r.seqlen),
      String(r.world),
      r.status,
      (r.message ?? '').split('\n')[0].slice(0, 160),
    ]),
  };
}

/**
 * TFLOP/s of a block-sparse row by the paper's nominal count, 4 x S^2 x heads x head dim x s (x 2.5
 * backward), instead of our real area (definitions 4): they differ where top-k rounds and where
 * blocks vary in size. null without a time or a kept fraction.
 */
export function nominalTflops(r: ResultRow, s: number | undefined): number | null {
  if (r.status !== 'ok' || !r.times || !(r.times.medianMs > 0) || s === undefined) return null;
  const flops = 4 * r.seqlen * r.seqlen * r.headsQ * r.headDim * s * (r.direction === 'bwd' ? BWD_FLOPS_FACTOR : 1) * (r.batch ?? 1);
  return flops / (r.times.medianMs * 1e-3) / 1e12;
}

/** Block-sparse sweep: one line per (kernel, family, direction, S, block), columns = kept fraction;
 * a cell is TFLOP/s by the real area / by the nominal 4 S^2 H D s. */
export function sparsityTable(rows: readonly ResultRow[]): TableModel {
  const rs = measured(rows, 'sparse');
  const kept = (r: ResultRow) => roleParam(r, 'kept') ?? '';
  const block = (r: ResultRow) => roleParam(r, 'block') ?? '';
  const fractions = distinct(rs.map((r) => String(kept(r)))).sort((a, b) => Number(a) - Number(b));
  const lines = new Map<string, Map<string, ResultRow>>();
  const sorted = [...rs].sort(
    (a, b) =>
      byKernel(a.kernel!, b.kernel!) ||
      byFamily(a.family, b.family) ||
      byDirection(a.direction, b.direction) ||
      a.seqlen - b.seqlen ||
      Number(block(a)) - Number(block(b)),
  );
  for (const r of sorted) {
    const k = [r.kernel, r.family, r.direction, formatTokens(r.seqlen), String(block(r))].join('\u0000');
    if (!lines.has(k)) lines.set(k, new Map());
    lines.get(k)!.set(String(kept(r)), r);
  }
  const cell = (r: ResultRow | undefined): string => {
    const real = tflopsCell(r);
    const nominal = r ? nominalTflops(r, Number(kept(r))) : null;
    return nominal === null ? real : `${real} / ${fmtNumber(nominal)}`;
  };
  return {
    title: 'Block-sparse sweeps (TFLOP/s: real area / nominal 4 S^2 H D s, by kept fraction)',
    head: ['kernel', 'family', 'dir', 'S', 'block', ...fractions],
    rows: [...lines].map(([k, m]) => [...k.split('\u0000'), ...fractions.map((f) => cell(m.get(f)))]),
    note: 'real: FLOPs of the unmasked area of the masks drawn (averaged over KV heads); nominal: the paper\'s count 4 x S^2 x H x D x s (x 2.5 backward). They differ where floor(s x blocks) rounds and where blocks vary in size (docs/definitions.md, section 4).',
  };
}

/** CP rows: per scheme, family, direction and P; TFLOP/s per GPU (slowest rank and mean rank). */
export function cpTable(rows: readonly ResultRow[]): TableModel {
  const rs = rows
    .filter((r) => r.scheme)
    .sort(
      (a, b) =>
        byScheme(a.scheme!, b.scheme!) ||
        byFamily(a.family, b.family) ||
        byDirection(a.direction, b.direction) ||
        a.world - b.world ||
        a.seqlen - b.seqlen ||
        Number(a.simulated) - Number(b.simulated),
    );
  return {
    title: 'Context parallelism (TFLOP/s per GPU)',
    head: ['scheme', 'kernel', 'family', 'dir', 'P', 'S', 'source', 'status', 'TFLOP/s (slowest rank)', 'TFLOP/s (mean rank)', 'median ms'],
    rows: rs.map((r) => [
      r.scheme!,
      r.kernel ?? '',
      r.family,
      r.direction,
      String(r.world),
      formatTokens(r.seqlen),
      r.simulated ? 'simulated' : 'measured',
      r.status,
      r.tflops === null ? '' : fmtNumber(r.tflops),
      r.tflopsMeanRank == null ? '' : fmtNumber(r.tflopsMeanRank),
      r.times ? fmtNumber(r.times.medianMs) : '',
    ]),
  };
}

/** Max abs error of a row, short (`3e-4`), with `*` above its dtype tolerance. */
function errCell(r: ResultRow | undefined): string {
  const e = r && r.status === 'ok' ? maxAbsError(r) : null;
  if (e === null || e === undefined) return '';
  return `${e === 0 ? '0' : e.toExponential(0)}${r!.error?.exceedsTolerance ? '*' : ''}`;
}

/** One measured CP setting: what a scheme x family pivot holds fixed. */
function cpSetting(r: ResultRow): string {
  const where = r.env.gpu ?? 'CPU';
  const backend = r.env.libs?.backend;
  const how = isVirtualRanks(r) ? 'virtual ranks' : backend && backend !== 'none' ? `${backend} processes` : r.executor;
  return `P=${r.world} · S=${formatTokens(r.seqlen)} · ${r.headsQ}:${r.headsKv} heads · d=${r.headDim} · ${r.dtype} · ${r.kernel ?? ''} · ${how} · ${where}`;
}

/**
 * Pivots of the measured CP rows: scheme x family -> `fwd / bwd` TFLOP/s per GPU (slowest rank)
 * and the max abs error of each direction, one table per setting (world, S, shape, dtype, kernel,
 * executor, device). The newest row of a cell wins.
 */
export function cpPivots(rows: readonly ResultRow[]): TableModel[] {
  const rs = rows.filter((r) => r.suite === 'cp' && r.scheme && !r.simulated).sort((a, b) => a.env.date.localeCompare(b.env.date));
  const groups = new Map<string, ResultRow[]>();
  for (const r of rs) {
    const k = cpSetting(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const order = [...groups.values()].sort((a, b) => a[0].world - b[0].world || a[0].seqlen - b[0].seqlen || cpSetting(a[0]).localeCompare(cpSetting(b[0])));
  return order.map((g) => {
    const families = distinct(g.map((r) => r.family)).sort(byFamily);
    const schemes = distinct(g.map((r) => r.scheme!)).sort(byScheme);
    const cell = new Map<string, ResultRow>();
    for (const r of g) cell.set(`${r.scheme}|${r.family}|${r.direction}`, r); // newest wins
    const text = (s: string, f: string) => {
      const [fw, bw] = (['fwd', 'bwd'] as const).map((d) => cell.get(`${s}|${f}|${d}`));
      if (!fw && !bw) return '–';
      const errs = [errCell(fw), errCell(bw)];
      return `${tflopsCell(fw) || '–'} / ${tflopsCell(bw) || '–'}${errs.some(Boolean) ? ` (${errs.map((e) => e || '–').join(' / ')})` : ''}`;
    };
    return {
      title: `CP ${cpSetting(g[0])}: TFLOP/s per ${g[0].env.gpu ? 'GPU' : 'rank'} fwd / bwd (max abs error)`,
      head: ['scheme', ...families],
      rows: schemes.map((s) => [s, ...families.map((f) => text(s, f))]),
      note: g.some((r) => r.error?.exceedsTolerance) ? '! and * = numerical error above the tolerance of its dtype' : undefined,
    };
  });
}

export function simPairTable(pairs: readonly SimPair[]): TableModel {
  const abs = pairs.map((p) => Math.abs(p.relError)).sort((a, b) => a - b);
  const median = abs.length ? abs[Math.floor((abs.length - 1) / 2)] : NaN;
  return {
    title: 'Simulator vs measurement',
    head: ['kind', 'kernel/scheme', 'family', 'dir', 'S', 'P', 'measured ms', 'predicted ms', 'error'],
    rows: pairs.map((p) => [
      p.kind,
      p.name,
      p.family,
      p.direction,
      formatTokens(p.seqlen),
      String(p.world),
      fmtNumber(p.measuredMs),
      fmtNumber(p.predictedMs),
      `${p.relError >= 0 ? '+' : ''}${(p.relError * 100).toFixed(1)}%`,
    ]),
    note: pairs.length ? `${pairs.length} configurations; median |error| ${(median * 100).toFixed(1)}%` : undefined,
  };
}

export function simTable(rows: readonly ResultRow[]): TableModel {
  return simPairTable(pairSimulated(rows));
}

/** One line per row: the default listing of `attnbench results`. */
export function rowsTable(rows: readonly ResultRow[]): TableModel {
  return {
    head: ['suite', 'kernel/scheme', 'family', 'dir', 'S', 'P', 'status', 'median ms', 'TFLOP/s', 'peak GiB', 'max err', 'sim'],
    rows: rows.map((r) => [
      r.suite,
      r.scheme ? `${r.scheme}${r.kernel ? `+${r.kernel}` : ''}` : (r.kernel ?? ''),
      r.family,
      r.direction,
      formatTokens(r.seqlen),
      String(r.world),
      r.status,
      r.times ? fmtNumber(r.times.medianMs) : '',
      tflopsCell(r.status === 'ok' ? r : undefined),
      r.memory ? fmtBytesGiB(r.memory.peakTotalBytes) : '',
      maxAbsError(r) === null ? '' : fmtNumber(maxAbsError(r)!),
      r.simulated ? 'yes' : '',
    ]),
    note: rows.some((r) => r.error?.exceedsTolerance) ? TOLERANCE_NOTE : undefined,
  };
}

/** Table of arbitrary query results (from --sql). */
export function objectsTable(objs: readonly Record<string, unknown>[]): TableModel {
  const head = distinct(objs.flatMap((o) => Object.keys(o)));
  const text = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'number' ? String(v) : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return { head, rows: objs.map((o) => head.map((h) => text(o[h]))) };
}
