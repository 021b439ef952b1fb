// The one result-row builder (SPEC 6). Every executor hands over what it measured (an outcome, or a
// CP measurement record from the python ranks) and the case; the id, FLOPs and TFLOP/s are derived
// here, once: ids by ./case-id.ts, FLOPs by ./flops.ts. Simulated rows too (buildSimRow).
import type { Environment, ErrorMetrics, ResultRow, Status, Times, Direction } from './schema.js';
import { caseId, type CaseKey } from './case-id.js';
import { attentionFlops, tflopsPerGpu } from './flops.js';
import type { Dtype } from '../ids.js';

export type Memory = NonNullable<ResultRow['memory']>;
export type RankEntry = NonNullable<ResultRow['ranks']>[number];

/** What a run says about one case and direction (everything else of the row comes from the case). */
export interface Outcome {
  readonly status: Status;
  readonly message: string | null;
  /** Times of the case (CP: of the slowest rank). */
  readonly times: Times | null;
  readonly memory: Memory | null;
  readonly error: ErrorMetrics | null;
  readonly notes?: readonly string[];
  /** CP: per-rank entries; tflopsMeanRank is derived from them. */
  readonly ranks?: readonly RankEntry[] | null;
  /** CP: the mean rank's time, when the per-rank entries are not kept (simulated rows at large P). */
  readonly meanRankMs?: number | null;
}

/**
 * The row of `key` with `area` unmasked pairs per head (mean over heads for per-head masks).
 * `layout` overrides the key's layout in the row (CP virtual ranks record `virtualRanks` there);
 * `id` is the case's id when the case already carries it (made by the same grammar).
 */
export function buildRow(key: CaseKey, area: number, o: Outcome, env: Environment, layout = key.layout, id = caseId(key)): ResultRow {
  const flops = attentionFlops(area, key.headsQ, key.headDim, key.direction) * key.batch;
  const ok = o.status === 'ok' && o.times !== null;
  const row: ResultRow = {
    schema: 1,
    id,
    suite: key.suite,
    executor: key.executor,
    kernel: key.kernel,
    scheme: key.scheme,
    family: key.family,
    maskParams: { ...key.maskParams },
    seed: key.seed,
    seqlen: key.seqlen,
    batch: key.batch,
    headsQ: key.headsQ,
    headsKv: key.headsKv,
    headDim: key.headDim,
    dtype: key.dtype,
    direction: key.direction,
    world: key.world,
    layout: layout === null ? null : { ...layout },
    status: o.status,
    message: o.message,
    area,
    flops,
    times: o.times,
    tflops: ok ? tflopsPerGpu(flops, o.times!.medianMs, key.world) : null,
    memory: o.memory,
    error: o.error,
    notes: o.notes ? [...o.notes] : undefined,
    simulated: key.executor === 'sim',
    env,
  };
  if (key.scheme === null) return row;
  const ms = o.ranks?.map((r) => r.ms) ?? [];
  const mean = o.meanRankMs ?? (ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : 0);
  return { ...row, tflopsMeanRank: ok && mean > 0 ? tflopsPerGpu(flops, mean, key.world) : null, ranks: o.ranks ? [...o.ranks] : null, notes: row.notes ?? [] };
}

// ---- simulated rows (src/sim's projections and predictions: the same builder, executor 'sim') ----

/** What a simulation says about one case and direction. */
export interface SimOutcome {
  readonly status: Status;
  readonly message: string | null;
  /** The modelled makespan (the slowest rank's end), ms; null when nothing was simulated. */
  readonly makespanMs: number | null;
  /** CP: the mean rank's end, ms (tflopsMeanRank). */
  readonly meanRankMs?: number | null;
  readonly ranks?: readonly RankEntry[] | null;
  readonly notes?: readonly string[];
}

/**
 * A simulated row (simulated: true): buildRow with the key's executor 'sim', times = the makespan
 * (one sample), FLOPs from the area and TFLOP/s per GPU by the one rule. `id` is the simulator's
 * (its cases name the modelled cluster, or the measured row they predict).
 */
export function buildSimRow(key: CaseKey, area: number, o: SimOutcome, env: Environment, id: string, layout = key.layout): ResultRow {
  const m = o.makespanMs;
  const times = m === null ? null : { medianMs: m, p20Ms: m, p80Ms: m, samples: 1 };
  return buildRow({ ...key, executor: 'sim' }, area, { status: o.status, message: o.message, times, memory: null, error: null, notes: o.notes, ranks: o.ranks ?? null, meanRankMs: o.meanRankMs }, env, layout, id);
}

// ---- CP measurement records (python/attnbench_worker/cp returns these; TypeScript builds the row) ----

/** One CP case and direction as the python ranks measured it. */
export interface CpRecord {
  /** The manifest's case id (echoed back, to match the record to its case). */
  readonly case: string;
  readonly direction: Direction;
  readonly status: Status;
  readonly message: string | null;
  /** The partial-attention kernel that ran (null: the case never reached one). */
  readonly kernel: string | null;
  /** The dtype that ran (a --dtype override of the manifest's). */
  readonly dtype?: Dtype;
  /** One timing summary per rank (null when the case did not run to the end). */
  readonly perRank: readonly Times[] | null;
  /** Compilation included in the first (warm-up) run, ms. */
  readonly compileMs?: number | null;
  readonly error: ErrorMetrics | null;
  readonly memory: Memory | null;
  readonly notes?: readonly string[];
}

/** A CP case as the row needs it: the key (less kernel, direction, dtype: the record says) and plan facts. */
export interface CpRowCase {
  readonly key: Omit<CaseKey, 'kernel' | 'direction' | 'suite' | 'executor' | 'dtype'> & { readonly executor: CaseKey['executor']; readonly dtype: Dtype };
  /** Unmasked pairs of the whole mask. */
  readonly area: number;
  /** Planned FLOPs and bytes sent by each rank, per direction. */
  readonly rankFlops: Readonly<Record<Direction, readonly number[]>>;
  readonly rankBytesSent: Readonly<Record<Direction, readonly number[]>>;
  /** Layout as the row records it (virtual ranks add `virtualRanks`). */
  readonly rowLayout?: Readonly<Record<string, number | string>>;
}

/** The result row of one CP measurement record: times of the slowest rank, TFLOP/s per GPU. */
export function buildCpRow(m: CpRecord, c: CpRowCase, env: Environment): ResultRow {
  const key: CaseKey = { ...c.key, suite: 'cp', kernel: m.kernel, direction: m.direction, dtype: m.dtype ?? c.key.dtype };
  let times: Times | null = null;
  let ranks: RankEntry[] | null = null;
  if (m.perRank && m.perRank.length) {
    const ms = m.perRank.map((t) => t.medianMs);
    const slow = ms.indexOf(Math.max(...ms));
    times = m.compileMs !== undefined && m.compileMs !== null ? { ...m.perRank[slow], compileMs: m.compileMs } : m.perRank[slow];
    ranks = ms.map((t, r) => ({ rank: r, ms: t, flops: c.rankFlops[m.direction][r] ?? 0, bytesSent: c.rankBytesSent[m.direction][r] ?? 0 }));
  }
  return buildRow(key, c.area, { status: m.status, message: m.message, times, memory: m.memory, error: m.error, notes: m.notes, ranks }, env, c.rowLayout ?? key.layout);
}
