// Projections: plan every (scheme, family, P, S) of a preset with the CP planners, simulate it on a
// modelled cluster, and write the outcome as result rows marked simulated (suite 'cp', executor
// 'sim'), so the report compares them with measured CP rows of the same case.
import { CP_STUDIES, type CpStudy } from '../config/cp-presets.js';
import { SCHEME_IDS, type Dtype, type SchemeId } from '../ids.js';
import { AttnbenchError } from '../errors.js';
import type { CpLayout, CpShape, Plan } from '../cp/types.js';
import { maskArea } from '../mask/slices.js';
import type { GeneratedMask, Mask } from '../mask/types.js';
import { buildSimRow } from '../results/build.js';
import type { CaseKey } from '../results/case-id.js';
import type { Direction, Environment, ResultRow } from '../results/schema.js';
import { checkWorld, type Cluster } from './hardware.js';
import type { KernelModel } from './kernel-model.js';
import { PairsCache, simulatePlan, type SimResult } from './simulate.js';

export interface CpPreset {
  readonly description: string;
  /** Tokens per GPU when no --seqlen is given: S = tokensPerGpu * P. */
  readonly tokensPerGpu: number;
  readonly shape: CpShape;
  readonly dtype: Dtype;
  readonly families: readonly string[];
  readonly schemes: readonly SchemeId[];
  readonly gpus: readonly number[];
  readonly seed: number;
}

/** The simulator's view of a CP study (src/config/cp-presets.ts): its shape, families, schemes and projected world sizes. */
export function projectionPreset(study: CpStudy): CpPreset {
  return {
    description: `${study.description}; projected on nodes of 8`,
    tokensPerGpu: study.tokensPerGpu,
    shape: { headsQ: study.headsQ, headsKv: study.headsKv, headDim: study.headDim, dtypeBytes: study.dtype === 'float32' ? 4 : 2 },
    dtype: study.dtype,
    families: study.families,
    schemes: study.schemes,
    gpus: study.projectedWorlds,
    seed: study.seed,
  };
}

export const CP_PRESETS: Readonly<Record<string, CpPreset>> = Object.fromEntries(Object.entries(CP_STUDIES).map(([name, f]) => [name, projectionPreset(f())]));

export interface ProjectionCase {
  readonly scheme: SchemeId;
  readonly family: string;
  readonly world: number;
  readonly seqlen: number;
  readonly seed: number;
  readonly layout: CpLayout;
}

/** Layout per scheme: planner defaults (Ulysses degree 8 inside a node for usp / loongtrain);
 * plain Ulysses past the KV heads asks for K/V replication (the planner refuses what it cannot do). */
export function defaultLayout(scheme: string, world: number, shape: CpShape): CpLayout {
  if (scheme === 'ulysses' && world > shape.headsKv) return { replicate_kv: 1 };
  return {};
}

export function expandProjection(
  preset: CpPreset,
  opts: { gpus?: readonly number[]; seqlens?: readonly number[]; families?: readonly string[]; schemes?: readonly SchemeId[]; seed?: number; layout?: CpLayout },
): ProjectionCase[] {
  const out: ProjectionCase[] = [];
  const gpus = opts.gpus ?? preset.gpus;
  for (const scheme of opts.schemes ?? preset.schemes)
    for (const family of opts.families ?? preset.families)
      for (const world of gpus)
        for (const seqlen of opts.seqlens ?? [preset.tokensPerGpu * world])
          out.push({ scheme, family, world, seqlen, seed: opts.seed ?? preset.seed, layout: { ...defaultLayout(scheme, world, preset.shape), ...opts.layout } });
  return out;
}

export interface ProjectDeps {
  readonly plan: (scheme: string, mask: Mask, world: number, layout: CpLayout, shape: CpShape) => Plan;
  readonly generate: (family: string, seqlen: number, seed: number) => GeneratedMask;
  readonly cluster: Cluster;
  readonly kernels: KernelModel;
  readonly env: Environment;
  readonly overlap: boolean;
  readonly directions: readonly Direction[];
  /** Keep per-rank entries in rows up to this world size (they grow the file linearly). */
  readonly ranksUpTo: number;
  /** Called with each plan's timings (planning and simulation ms) for progress and benchmarks. */
  readonly onTiming?: (c: ProjectionCase, planMs: number, simMs: number) => void;
  readonly now?: () => number;
  /** Simulations with a trace for one case, when wanted. */
  readonly trace?: (c: ProjectionCase) => boolean;
  readonly onTrace?: (c: ProjectionCase, r: SimResult) => void;
}

export function caseId(c: ProjectionCase, cluster: Cluster, direction: Direction, overlap: boolean): string {
  const layout = Object.entries(c.layout)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return ['sim', 'cp', cluster.gpu, `g${cluster.gpusPerNode}`, c.scheme, c.family, `S${c.seqlen}`, `P${c.world}`, direction, `seed${c.seed}`, layout || '-', overlap ? 'overlap' : 'no-overlap'].join(':');
}

/** Simulates one case in every direction; planner refusals become 'unsupported' rows (rows: src/results buildSimRow). */
export function projectCase(c: ProjectionCase, preset: CpPreset, deps: ProjectDeps): ResultRow[] {
  const now = deps.now ?? (() => Date.now());
  checkWorld(deps.cluster, c.world);
  const key = (direction: Direction, kernel: string, maskParams: CaseKey['maskParams']) => caseKey(c, preset, direction, kernel, maskParams);
  const id = (direction: Direction) => caseId(c, deps.cluster, direction, deps.overlap);
  let g: GeneratedMask;
  let plan: Plan;
  const t0 = now();
  try {
    g = deps.generate(c.family, c.seqlen, c.seed);
    if (g.heads.length !== 1) throw new AttnbenchError('unsupported', `${c.family} has per-head masks; CP plans take one mask`);
    plan = deps.plan(c.scheme, g.heads[0], c.world, c.layout, preset.shape);
  } catch (e) {
    if (!(e instanceof AttnbenchError) || (e.code !== 'bad_input' && e.code !== 'unsupported')) throw e;
    const message = e.message;
    return deps.directions.map((d) => buildSimRow(key(d, deps.kernels.kernel, {}), 0, { status: 'unsupported', message, makespanMs: null }, deps.env, id(d)));
  }
  const planMs = now() - t0;
  const area = maskArea(g.heads[0]);
  const cache = new PairsCache();
  let simMs = 0;
  const rows = deps.directions.map((direction): ResultRow => {
    const t1 = now();
    const traced = deps.trace?.(c) ?? false;
    const r = simulatePlan(plan, deps.cluster, deps.kernels, { direction, overlap: deps.overlap, dtype: preset.dtype, trace: traced }, cache);
    simMs += now() - t1;
    if (traced) deps.onTrace?.(c, r);
    const outcome = {
      status: 'ok' as const,
      message: null,
      makespanMs: r.makespanMs,
      meanRankMs: r.meanRankMs,
      ranks: c.world <= deps.ranksUpTo ? r.ranks.map((x) => ({ rank: x.rank, ms: x.endMs, flops: x.flops, bytesSent: x.bytesSent })) : null,
      notes: simNotes(r, deps),
    };
    return buildSimRow(key(direction, r.kernel, g.params), area, outcome, deps.env, id(direction), plan.layout);
  });
  deps.onTiming?.(c, planMs, simMs);
  return rows;
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(3) : ms.toPrecision(3);
}

export function simNotes(r: SimResult, deps: Pick<ProjectDeps, 'cluster' | 'kernels' | 'overlap'>): string[] {
  const c = deps.cluster;
  const b = r.breakdown;
  const notes = [
    `simulated on a modelled ${c.gpuSpec.name} cluster: ${c.gpusPerNode} GPUs/node, NVLink ${c.nvlink.bandwidthGBps} GB/s x ${c.nvlink.efficiency}, IB ${c.ib.nicsPerNode} x ${c.ib.bandwidthGBps} GB/s x ${c.ib.efficiency} per node`,
    `kernel model: ${deps.kernels.describe()}`,
    `breakdown (mean over ranks, ms): compute=${fmt(b.computeMs)} exposed_comm=${fmt(b.exposedCommMs)} idle=${fmt(b.idleMs)}; slowest rank ${r.slowestRank}`,
  ];
  if (r.fallback) notes.push('fallback: roofline kernel time (no calibrated curve for this GPU/kernel/direction)');
  if (!deps.overlap) notes.push('overlap off: every communication step blocks compute');
  return notes;
}

/** The case key of a projected row (its id is the simulator's: caseId above, with the cluster). */
function caseKey(c: ProjectionCase, preset: CpPreset, direction: Direction, kernel: string, maskParams: CaseKey['maskParams']): CaseKey {
  const { headsQ, headsKv, headDim } = preset.shape;
  return {
    suite: 'cp', executor: 'sim', kernel, scheme: c.scheme, family: c.family, maskParams, seed: c.seed, seqlen: c.seqlen, batch: 1,
    headsQ, headsKv, headDim, dtype: preset.dtype, direction, world: c.world, layout: c.layout,
  };
}
