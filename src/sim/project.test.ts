import { describe, expect, it } from 'vitest';
import { planCp } from '../cp/plan/index.js';
import { generateMask } from '../mask/families/index.js';
import { ResultRowSchema } from '../results/schema.js';
import { resolveCluster } from './hardware.js';
import { makeKernelModel } from './kernel-model.js';
import { CP_PRESETS, expandProjection, projectCase, type ProjectDeps } from './project.js';
import { simulatePlan } from './simulate.js';

const preset = CP_PRESETS['paper-cp'];
const cluster = resolveCluster('h100');
const env = { host: 'test', gpu: 'NVIDIA H100 SXM5 80GB (simulated)', driver: null, cuda: null, libs: {}, gitRev: null, date: '2026-01-01' };

function deps(over: Partial<ProjectDeps> = {}): ProjectDeps {
  return {
    plan: planCp,
    generate: (family, seqlen, seed) => generateMask(family, seqlen, { seed }),
    cluster,
    kernels: makeKernelModel(cluster, null),
    env,
    overlap: true,
    directions: ['fwd', 'bwd'],
    ranksUpTo: 128,
    ...over,
  };
}

describe('projections with the CP planners', () => {
  it('expands the paper-cp preset: every scheme x family x P, S = 8k x P', () => {
    const cases = expandProjection(preset, { gpus: [8, 16] });
    expect(cases.length).toBe(preset.schemes.length * preset.families.length * 2);
    expect(cases.every((c) => c.seqlen === 8192 * c.world)).toBe(true);
    expect(cases.find((c) => c.scheme === 'ulysses' && c.world === 16)!.layout).toEqual({ replicate_kv: 1 });
    const sweep = expandProjection(preset, { gpus: [64], seqlens: [1 << 20, 1 << 22], schemes: ['usp'], families: ['causal'] });
    expect(sweep.map((c) => c.seqlen)).toEqual([1 << 20, 1 << 22]);
    // --layout goes over each scheme's default layout (ulysses keeps its K/V replication)
    const laid = expandProjection(preset, { gpus: [16], schemes: ['dispatch', 'ulysses'], families: ['causal'], layout: { sharding: 'granules' } });
    expect(laid.find((c) => c.scheme === 'dispatch')!.layout).toEqual({ sharding: 'granules' });
    expect(laid.find((c) => c.scheme === 'ulysses')!.layout).toEqual({ replicate_kv: 1, sharding: 'granules' });
  });

  it('a layout given to the projection is the plan it simulates and part of the row id', () => {
    const base = { scheme: 'dispatch' as const, family: 'causal_document', world: 8, seqlen: 8 * 1024, seed: 0 };
    const docs = projectCase({ ...base, layout: {} }, preset, deps());
    const gran = projectCase({ ...base, layout: { sharding: 'granules' } }, preset, deps());
    // granules is the old placement, which the planner records by its resolved name
    expect(gran[0].layout?.sharding).toBe('chunked');
    expect(docs[0].layout?.sharding).toBe('documents');
    expect(gran[0].id).not.toBe(docs[0].id);
  });

  it('simulates every scheme and family at P=8 and P=16 into valid simulated rows', () => {
    for (const c of expandProjection(preset, { gpus: [8, 16] })) {
      const rows = projectCase({ ...c, seqlen: 1024 * c.world }, preset, deps());
      expect(rows.length).toBe(2);
      for (const row of rows) {
        expect(() => ResultRowSchema.parse(row)).not.toThrow();
        expect(row.simulated).toBe(true);
        expect(row.suite).toBe('cp');
        expect(row.executor).toBe('sim');
        if (row.status !== 'ok') {
          expect(row.message).toBeTruthy();
          continue;
        }
        // the roofline caps throughput at 0.5 x 989 TFLOP/s
        expect(row.tflops!).toBeGreaterThan(0);
        expect(row.tflops!).toBeLessThanOrEqual(0.5 * 989 + 1e-6);
        expect(row.tflopsMeanRank!).toBeGreaterThanOrEqual(row.tflops! - 1e-9);
        expect(row.notes!.some((n) => n.startsWith('fallback'))).toBe(true);
        expect(row.ranks!.length).toBe(c.world);
      }
    }
  });

  it('conserves work: simulated FLOPs equal the mask FLOPs, and every rank accounts for the iteration', () => {
    const g = generateMask('causal_document', 16 * 1024, { seed: 3 });
    for (const scheme of preset.schemes) {
      const plan = planCp(scheme, g.heads[0], 8, {}, preset.shape);
      const res = simulatePlan(plan, cluster, makeKernelModel(cluster, null), { direction: 'fwd' });
      let area = 0;
      for (const s of g.heads[0].slices) {
        const sq = s.qEnd - s.qStart;
        area += s.kind === 'full' ? sq * (s.kEnd - s.kStart) : (sq * (sq + 1)) / 2;
      }
      expect(res.totalFlops).toBeCloseTo(4 * area * 64 * 128, -3);
      for (const r of res.ranks) expect(r.computeMs + r.exposedCommMs + r.idleMs).toBeCloseTo(res.makespanMs, 6);
    }
  });

  it('overlap off is never faster than overlap on', () => {
    const g = generateMask('causal', 32 * 1024, { seed: 0 });
    for (const scheme of preset.schemes) {
      const plan = planCp(scheme, g.heads[0], 16, scheme === 'ulysses' ? { replicate_kv: 1 } : {}, preset.shape);
      for (const direction of ['fwd', 'bwd'] as const) {
        const on = simulatePlan(plan, cluster, makeKernelModel(cluster, null), { direction });
        const off = simulatePlan(plan, cluster, makeKernelModel(cluster, null), { direction, overlap: false });
        expect(off.makespanMs).toBeGreaterThanOrEqual(on.makespanMs - 1e-9);
      }
    }
  });

  it('records planner refusals as unsupported rows with the reason', () => {
    // 96 ranks cannot split 64 query heads, even with K/V replication.
    const rows = projectCase({ scheme: 'ulysses', family: 'causal', world: 96, seqlen: 96 * 1024, seed: 0, layout: { replicate_kv: 1 } }, preset, deps());
    expect(rows.map((r) => r.status)).toEqual(['unsupported', 'unsupported']);
    expect(rows[0].message).toMatch(/head/);
  });

  it('rejects a cluster that cannot hold the world size', () => {
    const small = resolveCluster('h100', { nodes: 1 });
    expect(() => projectCase(expandProjection(preset, { gpus: [16] })[0], preset, deps({ cluster: small }))).toThrow(/holds 8 ranks, the plan needs 16/);
  });
});
