import { describe, expect, it } from 'vitest';
import { planCp } from '../cp/plan/index.js';
import type { CpLayout } from '../cp/types.js';
import { generateMask } from '../mask/families/index.js';
import type { ResultRow } from '../results/schema.js';
import { calibrate } from './calibrate.js';
import { resolveCluster } from './hardware.js';
import { curveMs, hasCurve, makeKernelModel, type KernelCall, type KernelCurve, type KernelModel } from './kernel-model.js';
import { simulatePlan } from './simulate.js';
import { isVirtualRanks } from '../results/rows.js';
import { CP_PATH, cpObservations, cpTokensLines, validateCp, type CpValidationDeps } from './validate.js';

const shape = { headsQ: 8, headsKv: 2, headDim: 64, dtypeBytes: 2 };
const deps: CpValidationDeps = {
  plan: planCp,
  generate: (family, seqlen, seed, params) => generateMask(family, seqlen, { seed, params: { ...params } }),
  clusterFor: (gpu) => resolveCluster(gpu),
  kernelsFor: (cluster) => makeKernelModel(cluster, null),
};

function cpRow(over: Partial<ResultRow>, ms: number): ResultRow {
  return {
    schema: 1,
    id: `cp-row-${Math.random()}`,
    suite: 'cp',
    executor: 'torch',
    kernel: 'flex',
    scheme: 'ring_p2p',
    family: 'causal',
    maskParams: {},
    seed: 0,
    seqlen: 8192,
    batch: 1,
    headsQ: shape.headsQ,
    headsKv: shape.headsKv,
    headDim: shape.headDim,
    dtype: 'bfloat16',
    direction: 'fwd',
    world: 4,
    layout: { sharding: 'zigzag' },
    status: 'ok',
    message: null,
    area: 0,
    flops: 0,
    times: { medianMs: ms, p20Ms: ms, p80Ms: ms, samples: 20 },
    tflops: null,
    memory: null,
    error: null,
    simulated: false,
    env: { host: 'gpu', gpu: 'NVIDIA H100 80GB HBM3', driver: null, cuda: null, libs: {}, gitRev: null, date: '2026-01-01' },
    ...over,
  };
}

describe('CP validation', () => {
  const cluster = resolveCluster('h100');
  const plan = planCp('ring_p2p', generateMask('causal', 8192, { seed: 0 }).heads[0], 4, { sharding: 'zigzag' }, shape);
  const real = simulatePlan(plan, cluster, makeKernelModel(cluster, null), { direction: 'fwd' });
  const virt = simulatePlan(plan, cluster, makeKernelModel(cluster, null), { direction: 'fwd', network: 'none' });
  const slowestCompute = Math.max(...virt.ranks.map((r) => r.computeMs));

  it('re-plans measured multi-GPU rows and compares the iteration time', () => {
    const { predictions, skipped } = validateCp([cpRow({}, real.makespanMs * 1.25)], deps);
    expect(skipped).toEqual([]);
    expect(predictions.length).toBe(1);
    expect(predictions[0].virtualRanks).toBe(false);
    expect(predictions[0].predictedMs).toBeCloseTo(real.makespanMs, 9);
    expect(predictions[0].errorPct).toBeCloseTo(-20, 9);
  });

  it('compares virtual-rank rows with the slowest rank compute time, without the executor layout key', () => {
    const row = cpRow({ layout: { sharding: 'zigzag', virtualRanks: 4 } }, slowestCompute);
    expect(isVirtualRanks(row)).toBe(true);
    const { predictions } = validateCp([row], deps);
    expect(predictions[0].virtualRanks).toBe(true);
    expect(predictions[0].errorPct).toBeCloseTo(0, 9);
  });

  it("pairs each recorded rank's time with its simulated compute time (virtual ranks only)", () => {
    const ranks = virt.ranks.map((x, rank) => ({ rank, ms: x.computeMs * (rank === 2 ? 2 : 1), flops: 0, bytesSent: 0 }));
    const row = cpRow({ layout: { sharding: 'zigzag', virtualRanks: 4 }, ranks }, Math.max(...ranks.map((x) => x.ms)));
    const p = validateCp([row], deps).predictions[0];
    expect(p.ranks?.map((x) => x.rank)).toEqual([0, 1, 2, 3]);
    for (const x of p.ranks!) expect(x.predictedMs).toBeCloseTo(virt.ranks[x.rank].computeMs, 9);
    expect(p.ranks![2].measuredMs).toBeCloseTo(2 * virt.ranks[2].computeMs, 9);
    expect(validateCp([cpRow({ ranks }, real.makespanMs)], deps).predictions[0].ranks).toBeUndefined();
  });

  it("re-plans rows whose layout records an older planner's outcome (dispatch's achieved imbalance) as the plan they ran", () => {
    const layout = { sharding: 'contiguous', comm: 'p2p', granule: 128, chunks: 1 };
    const dplan = planCp('dispatch', generateMask('causal', 8192, { seed: 0 }).heads[0], 4, layout, shape);
    const want = simulatePlan(dplan, cluster, makeKernelModel(cluster, null), { direction: 'fwd' }).makespanMs;
    const row = cpRow({ scheme: 'dispatch', layout: { ...layout, imbalance: 1.0001 } }, want);
    const { predictions, skipped } = validateCp([row], deps);
    expect(skipped).toEqual([]);
    expect(predictions[0].errorPct).toBeCloseTo(0, 9);
  });

  it('splits CP errors by tokens per rank and direction', () => {
    const pred = (seqlen: number, world: number, direction: 'fwd' | 'bwd', errorPct: number) =>
      ({ row: cpRow({ seqlen, world, direction }, 1), virtualRanks: true, predictedMs: 1, errorPct, fallback: false, heldOut: false }) as const;
    const lines = cpTokensLines([pred(4096, 2, 'fwd', 30), pred(8192, 4, 'fwd', -40), pred(8192, 4, 'bwd', 5), pred(32768, 4, 'fwd', 2)]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^flex, 2k tokens per rank, bwd: n=1 median \|err\| 5\.0%/);
    expect(lines[1]).toMatch(/^flex, 2k tokens per rank, fwd: n=2 median \|err\| 35\.0%.*max 40\.0%/);
    expect(lines[2]).toMatch(/^flex, 8k tokens per rank, fwd: n=1 median \|err\| 2\.0%/);
    const other = { ...pred(8192, 4, 'fwd', 50), row: cpRow({ seqlen: 8192, world: 4, direction: 'fwd', kernel: 'triton_ranges' }, 1) };
    expect(cpTokensLines([pred(8192, 4, 'fwd', 10), other])).toHaveLength(2);
  });

  it('skips rows that are not GPU measurements, and reports configurations it cannot re-plan', () => {
    const rows = [
      cpRow({ executor: 'cpu' }, 1),
      cpRow({ simulated: true }, 1),
      cpRow({ world: 1 }, 1),
      cpRow({ status: 'oom', times: null }, 1),
      cpRow({ id: 'bad', layout: { nonsense: 1 } }, 1),
    ];
    const { predictions, skipped } = validateCp(rows, deps);
    expect(predictions).toEqual([]);
    expect(skipped.map((s) => s.id)).toEqual(['bad']);
    expect(skipped[0].reason).toMatch(/unknown layout key 'nonsense'/);
  });
});

describe("the CP executor's own call curve ('<kernel>@cp')", () => {
  // A made-up executor whose partial calls follow the wave model: 2 programs per SM (264 slots),
  // c0 + aFull W_full + aPartial W_partial over the waves (kernel-model.ts).
  const truth = { c0: 0.4, aFull: 3, aPartial: 7 };
  const truthCurve: KernelCurve = {
    gpu: 'h100', kernel: 'truth', direction: 'fwd', dtype: 'bfloat16', slots: 264, c0Ms: truth.c0, msPerProgram: 0,
    msPerTflopFull: truth.aFull, msPerTflopPartial: truth.aPartial, msPerTflopEmpty: 0, assumed: [], fitRows: 0,
    fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
  };
  const callMs = (c: KernelCall) => curveMs({ ...truthCurve, keyTileBound: c.direction === 'bwd' }, c); // flex's backward form (keyTileBackward)
  const executor: KernelModel = { kernel: 'truth', predict: (c) => ({ ms: callMs(c), fallback: false }), describe: () => 'truth', missing: () => null };
  const cluster = resolveCluster('h100');
  const rows: ResultRow[] = [];
  for (const scheme of ['ulysses', 'ring_allgather', 'ring_p2p', 'dispatch'] as const)
    for (const family of ['full', 'causal', 'causal_document'])
      for (const world of [2, 4])
        for (const direction of ['fwd', 'bwd'] as const) {
          const seqlen = (family === 'causal_document' ? 2048 : 4096) * world;
          // dispatch's document placement gives a rank up to 1.5x the mean tokens: more programs than
          // one wave of the truth's slots, so its granules.
          const layout: CpLayout = scheme === 'ulysses' ? { replicate_kv: 1 } : scheme === 'dispatch' ? { sharding: 'granules' } : {};
          const plan = planCp(scheme, generateMask(family, seqlen, { seed: 0 }).heads[0], world, layout, shape);
          const sim = simulatePlan(plan, cluster, executor, { direction, network: 'none' });
          const ms = sim.ranks.map((r) => r.computeMs);
          rows.push(
            cpRow(
              { id: `${scheme}/${family}/${world}/${direction}`, scheme, family, seqlen, world, direction, layout: { ...plan.layout, virtualRanks: world },
                ranks: ms.map((t, rank) => ({ rank, ms: t, flops: 0, bytesSent: 0 })) },
              Math.max(...ms),
            ),
          );
        }

  it('observes one call per rank with a single attention step, its elementwise steps taken off', () => {
    const { observations, skipped } = cpObservations(rows, deps);
    expect(skipped).toEqual([]);
    expect(observations.length).toBeGreaterThan(40);
    for (const o of observations) {
      expect(o.kernel).toBe(`flex${CP_PATH}`);
      expect(o.ms).toBeCloseTo(callMs(o.call), 6);
    }
  });

  it('fits that curve back, and validation then predicts the rows through it', () => {
    const cal = calibrate(cpObservations(rows, deps).observations);
    for (const d of ['fwd', 'bwd']) {
      const c = cal.curves.find((x) => x.kernel === `flex${CP_PATH}` && x.direction === d)!;
      // 8 heads x 32 query tiles per rank on full / causal: one wave of 133-264 programs, 2 on some
      // SMs, which pins the slots (a launch of at most 132 runs each program at a whole SM whatever
      // the slots); 16 tiles on causal_document: 128 programs, one per SM, which tells c0 from aProg.
      expect(c.slots).toBe(264);
      expect(c.c0Ms).toBeCloseTo(truth.c0, 4);
      expect(c.msPerProgram).toBeCloseTo(0, 6);
      expect(c.msPerTflopFull).toBeCloseTo(truth.aFull, 4);
      expect(c.msPerTflopPartial).toBeCloseTo(truth.aPartial, 4);
    }
    expect(hasCurve(cal, `flex${CP_PATH}`, 'h100')).toBe(true);
    const { predictions } = validateCp(rows, { ...deps, kernelsFor: (cl) => makeKernelModel(cl, cal, `flex${CP_PATH}`) });
    expect(predictions).toHaveLength(rows.length);
    for (const p of predictions) expect(Math.abs(p.errorPct)).toBeLessThan(1);
  });
});
