// Synthetic result rows for tests of the store, tables, plots and dashboard. Made-up numbers with a
// known shape (so tests can count marks and cells); never written to results/.
import { attentionFlops } from '../results/flops.js';
import type { SchemeId } from '../ids.js';
import type { Direction, ResultRow, Status } from '../results/schema.js';

const ENV: ResultRow['env'] = {
  host: 'synthetic',
  gpu: 'Synthetic GPU',
  driver: null,
  cuda: null,
  libs: {},
  gitRev: 'abc123',
  date: '2026-01-01T00:00:00.000Z',
};

export interface RowSpec {
  readonly suite?: ResultRow['suite'];
  readonly kernel?: string | null;
  readonly scheme?: SchemeId | null;
  readonly family?: string;
  readonly seqlen?: number;
  readonly direction?: Direction;
  readonly world?: number;
  readonly status?: Status;
  readonly tflops?: number;
  readonly simulated?: boolean;
  readonly maskParams?: ResultRow['maskParams'];
  readonly notes?: string[];
  readonly exceedsTolerance?: boolean;
  readonly date?: string;
  readonly message?: string | null;
  readonly headsQ?: number;
  readonly headsKv?: number;
}

/** One valid row; time follows from flops and the requested TFLOP/s. */
export function syntheticRow(s: RowSpec = {}): ResultRow {
  const seqlen = s.seqlen ?? 4096;
  const family = s.family ?? 'causal';
  const direction = s.direction ?? 'fwd';
  const status = s.status ?? 'ok';
  const world = s.world ?? 1;
  const headsQ = s.headsQ ?? 64;
  const area = family === 'causal' ? (seqlen * (seqlen + 1)) / 2 : seqlen * seqlen;
  const flops = attentionFlops(area, headsQ, 128, direction);
  const tflops = status === 'ok' ? (s.tflops ?? 100) : null;
  const medianMs = tflops ? flops / (tflops * 1e12) / world * 1e3 : 0;
  const kernel = s.kernel === undefined ? 'sdpa_flash' : s.kernel;
  const scheme = s.scheme ?? null;
  const params = s.maskParams ?? {};
  const simulated = s.simulated ?? false;
  const idParts = [s.suite ?? 'kernel', kernel, scheme, family, JSON.stringify(params), seqlen, direction, world, headsQ, s.headsKv ?? 8];
  return {
    schema: 1,
    id: idParts.join('/'),
    suite: s.suite ?? (scheme ? 'cp' : 'kernel'),
    executor: simulated ? 'sim' : 'torch',
    kernel,
    scheme,
    family,
    maskParams: params,
    seed: 0,
    seqlen,
    batch: 1,
    headsQ,
    headsKv: s.headsKv ?? 8,
    headDim: 128,
    dtype: 'bfloat16',
    direction,
    world,
    layout: scheme ? { sharding: 'zigzag' } : null,
    status,
    message: s.message ?? (status === 'ok' ? null : `${status} at ${seqlen}`),
    area,
    flops,
    times: tflops ? { medianMs, p20Ms: medianMs * 0.98, p80Ms: medianMs * 1.02, samples: 20, compileMs: null } : null,
    tflops,
    memory: status === 'ok' ? { peakDeltaBytes: seqlen * 1e5, peakTotalBytes: seqlen * 2e5 } : null,
    error:
      status === 'ok' && seqlen <= 8192
        ? { reference: 'float32', out: { maxAbs: s.exceedsTolerance ? 0.5 : 0.004, meanAbs: 1e-4 }, exceedsTolerance: s.exceedsTolerance ?? false }
        : null,
    ranks: null,
    notes: s.notes,
    simulated,
    env: { ...ENV, date: s.date ?? ENV.date },
  };
}

/** kernels x families x seqlens x directions, all ok with distinct TFLOP/s. */
export function syntheticKernelSweep(
  kernels: readonly string[] = ['sdpa_flash', 'flex'],
  families: readonly string[] = ['causal', 'full'],
  seqlens: readonly number[] = [1024, 2048, 4096],
  directions: readonly Direction[] = ['fwd', 'bwd'],
): ResultRow[] {
  const rows: ResultRow[] = [];
  kernels.forEach((kernel, k) =>
    families.forEach((family, f) =>
      seqlens.forEach((seqlen, i) =>
        directions.forEach((direction) =>
          rows.push(syntheticRow({ kernel, family, seqlen, direction, tflops: 100 + 10 * k + f + i * 20 + (direction === 'bwd' ? 0.5 : 0) })),
        ),
      ),
    ),
  );
  return rows;
}
