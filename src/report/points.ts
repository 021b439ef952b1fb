// Result rows reshaped for plots and tables (pure): orderings, panel labels, the support class of a
// (kernel, family) cell, sparsity parameters, and the pairing of simulated with measured rows.
import { FAMILY_IDS, isFamilyId, KERNEL_IDS, SCHEME_IDS } from '../ids.js';
import { getFamily, type ParamSpec } from '../mask/families/index.js';
import type { Direction, ResultRow, Status } from '../results/schema.js';
import { formatTokens } from '../util/parse.js';

/** Registry order (src/mask/families/index.ts); families not listed sort after, by name. */
export const FAMILY_ORDER: readonly string[] = FAMILY_IDS;

/** Registry order (src/kernels/registry.ts); other kernel values of rows (the CP `reference`,
 * simulator curves `<id>@cp`) sort after, by name. */
export const KERNEL_ORDER: readonly string[] = KERNEL_IDS;

export const SCHEME_ORDER: readonly string[] = SCHEME_IDS;

export function orderedBy(order: readonly string[]): (a: string, b: string) => number {
  const rank = (x: string) => {
    const i = order.indexOf(x);
    return i < 0 ? order.length : i;
  };
  return (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export const byFamily = orderedBy(FAMILY_ORDER);
export const byKernel = orderedBy(KERNEL_ORDER);
export const byScheme = orderedBy(SCHEME_ORDER);
const DIRECTIONS: readonly Direction[] = ['fwd', 'bwd'];
export const byDirection = orderedBy(DIRECTIONS);

export function distinct<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A fixed order of rows, so plots and tables do not depend on the order rows were read in. */
export function sortRows(rows: readonly ResultRow[]): ResultRow[] {
  return [...rows].sort(
    (a, b) =>
      cmp(a.suite, b.suite) ||
      byFamily(a.family, b.family) ||
      byKernel(a.kernel ?? '', b.kernel ?? '') ||
      byScheme(a.scheme ?? '', b.scheme ?? '') ||
      byDirection(a.direction, b.direction) ||
      a.world - b.world ||
      a.seqlen - b.seqlen ||
      cmp(a.id, b.id) ||
      Number(a.simulated) - Number(b.simulated) ||
      cmp(a.env.date, b.env.date),
  );
}

/** Panel of a kernel plot: family and direction, plus the head setting when rows mix several. */
export function panelOf(r: ResultRow, withHeads: boolean): string {
  return [r.family, r.direction, ...(withHeads ? [`${r.headsQ}:${r.headsKv}`] : [])].join(' · ');
}

function mixesHeads(rows: readonly ResultRow[]): boolean {
  return distinct(rows.map((r) => `${r.headsQ}:${r.headsKv}`)).length > 1;
}

export type Accuracy = 'within tolerance' | 'over tolerance' | 'not checked';

export function accuracyOf(r: ResultRow): Accuracy {
  if (!r.error) return 'not checked';
  return r.error.exceedsTolerance ? 'over tolerance' : 'within tolerance';
}

/** One measured point of a kernel plot. */
export interface KernelPoint {
  readonly kernel: string;
  readonly family: string;
  readonly direction: Direction;
  readonly panel: string;
  readonly headsKv: number;
  readonly seqlen: number;
  readonly tflops: number | null;
  readonly peakGiB: number | null;
  readonly medianMs: number | null;
  readonly accuracy: Accuracy;
}

const GIB = 1024 ** 3;

/** Measured single-device kernel rows (suite kernel), status ok. */
export function kernelPoints(rows: readonly ResultRow[]): KernelPoint[] {
  const ok = rows.filter((r) => r.suite === 'kernel' && !r.simulated && r.status === 'ok' && r.kernel);
  const withHeads = mixesHeads(ok);
  return ok.map((r) => ({
    kernel: r.kernel!,
    family: r.family,
    direction: r.direction,
    panel: panelOf(r, withHeads),
    headsKv: r.headsKv,
    seqlen: r.seqlen,
    tflops: r.tflops,
    peakGiB: r.memory ? r.memory.peakTotalBytes / GIB : null,
    medianMs: r.times?.medianMs ?? null,
    accuracy: accuracyOf(r),
  }));
}

/** Panels of kernel points in display order: family order, direction, then GQA before MHA. */
export function kernelPanels(points: readonly KernelPoint[]): string[] {
  const sorted = [...points].sort(
    (a, b) => byFamily(a.family, b.family) || byDirection(a.direction, b.direction) || a.headsKv - b.headsKv,
  );
  return distinct(sorted.map((p) => p.panel));
}

// ---- support matrix -------------------------------------------------------------------------

export const SUPPORT_CLASSES = ['native', 'adapter', 'unsupported', 'unavailable', 'oom', 'timeout', 'error'] as const;
export type SupportClass = (typeof SUPPORT_CLASSES)[number];

/**
 * A row took the mask through an adapter when the executor says so in its notes: a note that
 * starts with "via " (e.g. "via nested tensors", "via dense mask", "via BlockMask") or names an
 * adapter. Otherwise the kernel took the mask natively (is_causal, window, varlen, ...).
 */
export function throughAdapter(r: ResultRow): boolean {
  return (r.notes ?? []).some((n) => /^via\b/i.test(n.trim()) || /\badapter\b/i.test(n));
}

/** Among cells with no ok row, the status that describes the cell (first present wins). */
const FAILURE_PRIORITY: readonly Exclude<Status, 'ok'>[] = ['unsupported', 'unavailable', 'error', 'timeout', 'oom'];

const SHORT_LABEL: Readonly<Record<SupportClass, string>> = {
  native: 'ok',
  adapter: 'ok',
  unsupported: 'unsup',
  unavailable: 'n/a',
  oom: 'oom',
  timeout: 't/o',
  error: 'err',
};

export interface SupportCell {
  readonly kernel: string;
  readonly family: string;
  readonly direction: Direction;
  readonly support: SupportClass;
  /** Short text for the cell: the largest S that ran (e.g. "≤48k"), or the status. */
  readonly label: string;
  readonly counts: Readonly<Partial<Record<Status, number>>>;
}

/** Kernel x family x direction: one cell per combination present in the (measured) kernel rows. */
export function supportMatrix(rows: readonly ResultRow[]): SupportCell[] {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    if (r.simulated || !r.kernel || r.scheme || (r.suite !== 'kernel' && r.suite !== 'sparse')) continue;
    const k = `${r.kernel}\u0000${r.family}\u0000${r.direction}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const cells: SupportCell[] = [];
  for (const [k, rs] of groups) {
    const [kernel, family, direction] = k.split('\u0000') as [string, string, Direction];
    const counts: Partial<Record<Status, number>> = {};
    for (const r of rs) counts[r.status] = (counts[r.status] ?? 0) + 1;
    const ok = rs.filter((r) => r.status === 'ok');
    let support: SupportClass;
    let label: string;
    if (ok.length) {
      support = ok.some(throughAdapter) ? 'adapter' : 'native';
      label = `≤${formatTokens(Math.max(...ok.map((r) => r.seqlen)))}`;
    } else {
      support = FAILURE_PRIORITY.find((s) => counts[s]) ?? 'error';
      label = SHORT_LABEL[support];
    }
    cells.push({ kernel, family, direction, support, label, counts });
  }
  return cells.sort(
    (a, b) => byKernel(a.kernel, b.kernel) || byFamily(a.family, b.family) || byDirection(a.direction, b.direction),
  );
}

// ---- sparsity sweeps --------------------------------------------------------------------------

/**
 * The row's value of its family's parameter with this role (ParamSpec.role: the kept fraction or
 * the block size of a block-sparse mask), as the family names it; null when it has none.
 */
export function roleParam(r: ResultRow, role: NonNullable<ParamSpec['role']>): number | null {
  const spec = isFamilyId(r.family) ? getFamily(r.family).params.find((p) => p.role === role) : undefined;
  const v = spec ? r.maskParams[spec.name] : undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

export interface SparsityPoint {
  readonly kernel: string;
  readonly family: string;
  readonly direction: Direction;
  readonly seqlen: number;
  readonly kept: number;
  readonly block: number;
  readonly panel: string;
  readonly series: string;
  readonly tflops: number;
  readonly medianMs: number | null;
}

/** Measured ok rows of the sparse suite with a kept fraction and a block size. */
export function sparsityPoints(rows: readonly ResultRow[]): SparsityPoint[] {
  const out: SparsityPoint[] = [];
  for (const r of rows) {
    if (r.suite !== 'sparse' || r.simulated || r.status !== 'ok' || !r.kernel || r.tflops === null) continue;
    const kept = roleParam(r, 'kept');
    const block = roleParam(r, 'block');
    if (kept === null || block === null) continue;
    out.push({
      kernel: r.kernel,
      family: r.family,
      direction: r.direction,
      seqlen: r.seqlen,
      kept,
      block,
      panel: `${r.family} · ${r.direction} · S=${formatTokens(r.seqlen)}`,
      series: `${r.kernel} B=${block}`,
      tflops: r.tflops,
      medianMs: r.times?.medianMs ?? null,
    });
  }
  return out;
}

// ---- context parallelism --------------------------------------------------------------------

export type Source = 'measured' | 'simulated';

export interface CpPoint {
  readonly scheme: string;
  readonly family: string;
  readonly direction: Direction;
  /** family · direction · hardware: measured and simulated series of different hardware never share an axis. */
  readonly panel: string;
  /** Where the row was measured or what it simulates: the GPU name, or 'CPU ranks (<host>)'. */
  readonly hardware: string;
  readonly world: number;
  readonly seqlen: number;
  readonly tokensPerGpu: number;
  readonly source: Source;
  readonly tflops: number;
  readonly tflopsMeanRank: number | null;
}

/** The hardware of a row, for panels: its GPU (simulated rows: the GPU they model), or the CPU executor. */
export function hardwareOf(r: ResultRow): string {
  if (r.env.gpu) return r.env.gpu;
  return r.executor === 'cpu' ? 'CPU ranks' : (r.env.host ?? r.executor);
}

/** ok rows with a CP scheme, measured or simulated. */
export function cpPoints(rows: readonly ResultRow[]): CpPoint[] {
  return rows
    .filter((r) => r.scheme && r.status === 'ok' && r.tflops !== null)
    .map((r) => ({
      scheme: r.scheme!,
      family: r.family,
      direction: r.direction,
      panel: `${r.family} · ${r.direction} · ${hardwareOf(r)}`,
      hardware: hardwareOf(r),
      world: r.world,
      seqlen: r.seqlen,
      tokensPerGpu: Math.round(r.seqlen / r.world),
      source: r.simulated ? 'simulated' : 'measured',
      tflops: r.tflops!,
      tflopsMeanRank: r.tflopsMeanRank ?? null,
    }));
}

// ---- simulated vs measured ------------------------------------------------------------------

/**
 * The configuration a simulated row predicts, as a key a measured row of the same configuration
 * shares: kind (cp when a scheme is set, else kernel), scheme, kernel, family, mask parameters,
 * seqlen, world, layout, direction, heads, head dim, dtype and GPU. The suite is not part of it (a
 * projection may be filed under suite `sim`), nor the seed (document samples differ per seed; the
 * prediction is for the configuration).
 */
export function pairKey(r: ResultRow): string {
  const sorted = (o: Record<string, unknown> | null) =>
    o ? Object.keys(o).sort().map((k) => `${k}=${String(o[k])}`).join(',') : '';
  return [
    r.scheme ? 'cp' : 'kernel',
    r.scheme ?? '',
    r.kernel ?? '',
    r.family,
    sorted(r.maskParams),
    r.seqlen,
    r.world,
    sorted(r.layout),
    r.direction,
    `${r.headsQ}:${r.headsKv}x${r.headDim}`,
    r.dtype,
    gpuOf(r),
  ].join('|');
}

/** The GPU a row was measured on or predicts for, without the "(simulated)" suffix. */
function gpuOf(r: ResultRow): string {
  return (r.env.gpu ?? '').replace(/\s*\(simulated\)$/, '').trim();
}

export interface SimPair {
  readonly key: string;
  readonly kind: 'kernel' | 'cp';
  readonly name: string; // scheme (cp) or kernel
  readonly family: string;
  readonly direction: Direction;
  readonly seqlen: number;
  readonly world: number;
  readonly measuredMs: number;
  readonly predictedMs: number;
  /** (predicted - measured) / measured. */
  readonly relError: number;
}

/** Pairs every ok simulated row with the newest ok measured row of the same pairKey. */
export function pairSimulated(rows: readonly ResultRow[]): SimPair[] {
  const measured = new Map<string, ResultRow>();
  for (const r of rows) {
    if (r.simulated || r.status !== 'ok' || !r.times) continue;
    const k = pairKey(r);
    const prev = measured.get(k);
    if (!prev || prev.env.date < r.env.date) measured.set(k, r);
  }
  const pairs: SimPair[] = [];
  for (const s of rows) {
    if (!s.simulated || s.status !== 'ok' || !s.times) continue;
    const key = pairKey(s);
    const m = measured.get(key);
    if (!m) continue;
    const measuredMs = m.times!.medianMs;
    const predictedMs = s.times.medianMs;
    pairs.push({
      key,
      kind: s.scheme ? 'cp' : 'kernel',
      name: s.scheme ?? s.kernel ?? '',
      family: s.family,
      direction: s.direction,
      seqlen: s.seqlen,
      world: s.world,
      measuredMs,
      predictedMs,
      relError: (predictedMs - measuredMs) / measuredMs,
    });
  }
  return pairs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
