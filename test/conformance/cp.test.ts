// Conformance: every CP scheme x every dense mask family x P in {2, 4, 8} x every valid layout of
// the scheme (the 2-D layouts of usp and loongtrain included). Each plan must pass the checker,
// its statistics must add up, and running it must reproduce the single-rank float64 reference
// (output, lse, dQ, dK, dV) within the float32 tolerance:
//   - every plan runs in-process (all ranks in one thread over the LocalBus transport);
//   - a subset runs on real worker threads (MessagePorts): every scheme x P, every family at
//     least once, plus 2-D layouts of usp and loongtrain.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPlan } from '../../src/cp/check.js';
import { createCpuExecutor } from '../../src/cp/exec/cpu.js';
import { assemble, compare, randomInputs, rankInputs, reference, runLocal, type Reference } from '../../src/cp/exec/harness.js';
import { planCp, SCHEMES, sharedMask } from '../../src/cp/plan/index.js';
import { planStats } from '../../src/cp/stats.js';
import type { CpLayout, CpShape, Plan } from '../../src/cp/types.js';
import { DENSE_FAMILIES, generateMask, maskFlops, type FamilyId } from '../../src/mask/families/index.js';
import type { GeneratedMask, Mask } from '../../src/mask/types.js';
import { toleranceFor } from '../../src/util/tolerance.js';

const S = 256;
const WORLDS = [2, 4, 8] as const;
// 8 query heads so that Ulysses reaches P = 8; 2 KV heads so that it must replicate them beyond P = 2.
const SHAPE: CpShape = { headsQ: 8, headsKv: 2, headDim: 16, dtypeBytes: 4 };
const TOL = toleranceFor('float32');

// Short documents, so that S = 256 holds several of them.
const SMALL_DOCS = join(mkdtempSync(join(tmpdir(), 'attnbench-cp-')), 'small-docs.json');
writeFileSync(SMALL_DOCS, JSON.stringify({ '[8,24)': 2, '[24,64)': 1, '[64,120)': 0.5 }));

function paramsFor(id: FamilyId): Record<string, number> {
  if (id === 'sliding_window' || id === 'sliding_window_causal') return { w: 24 };
  if (id === 'block_causal_document') return { block: 16 };
  return {};
}

const masks = new Map<string, { gm: GeneratedMask; mask: Mask; ref: Reference }>();
const inputs = randomInputs(S, SHAPE, 7);
function maskOf(family: FamilyId) {
  let m = masks.get(family);
  if (!m) {
    const gm = generateMask(family, S, { seed: 3, params: paramsFor(family), docLens: SMALL_DOCS });
    const mask = sharedMask(gm);
    m = { gm, mask, ref: reference(mask, SHAPE, inputs) };
    masks.set(family, m);
  }
  return m;
}

const label = (l: CpLayout) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') || 'default';

function expectStatsAddUp(plan: Plan, gm: GeneratedMask): void {
  const s = planStats(plan);
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  expect(sum(s.flopsFwd)).toBeCloseTo(maskFlops(gm, SHAPE.headsQ, SHAPE.headDim, 'fwd'), 6);
  expect(sum(s.flopsBwd)).toBeCloseTo(maskFlops(gm, SHAPE.headsQ, SHAPE.headDim, 'bwd'), 6);
  expect(sum(s.bytesSentFwd)).toBe(sum(s.bytesRecvFwd));
  expect(sum(s.bytesSentBwd)).toBe(sum(s.bytesRecvBwd));
  expect(s.imbalance).toBeGreaterThanOrEqual(1);
}

function expectMatches(plan: Plan, ref: Reference, outputs: Parameters<typeof assemble>[1]): void {
  const e = compare(assemble(plan, outputs), ref);
  for (const k of ['out', 'lse', 'dq', 'dk', 'dv'] as const) expect(e[k]!.maxAbs, k).toBeLessThanOrEqual(TOL);
}

describe.each(SCHEMES.map((s) => s.id))('%s', (scheme) => {
  const def = SCHEMES.find((s) => s.id === scheme)!;
  for (const P of WORLDS) {
    const layouts = def.layouts(P, SHAPE);
    it(`has valid layouts at P=${P}`, () => expect(layouts.length).toBeGreaterThan(0));
    // Result rows record plan.layout; the simulator and re-runs plan from it again.
    it(`at P=${P} a plan's recorded layout gives the same plan again`, () => {
      const { mask } = maskOf('causal_document');
      for (const layout of layouts) {
        const plan = planCp(scheme, mask, P, layout, SHAPE);
        expect(planCp(scheme, mask, P, plan.layout, SHAPE)).toEqual(plan);
      }
    });
    describe.each(DENSE_FAMILIES)(`P=${P} %s`, (family) => {
      it.each(layouts.map((l) => [label(l), l] as const))('layout %s: checker passes, stats add up, run matches the reference', async (_, layout) => {
        const { gm, mask, ref } = maskOf(family);
        const plan = planCp(scheme, mask, P, layout, SHAPE);
        expect(checkPlan(plan, mask)).toEqual([]);
        expectStatsAddUp(plan, gm);
        const run = await runLocal(plan, rankInputs(plan, inputs));
        expectMatches(plan, ref, run.outputs);
      });
    });
  }
});

describe('worker threads (MessagePort ranks)', () => {
  const executor = createCpuExecutor();
  afterAll(() => executor.close());
  // Every scheme x P, families rotating so that each appears; the richest layout of each (2-D
  // degrees, a real double ring), plus a few more 2-D layouts of usp / loongtrain.
  const richness = (l: CpLayout) =>
    Number(Number(l.ulysses ?? l.hp ?? 1) > 1) + Number(Number(l.ring ?? l.cp ?? 1) > 1) + Number(Number(l.window ?? 0) > 1 && l.window !== l.cp);
  const richest = (ls: CpLayout[]) => ls.reduce((a, b) => (richness(b) > richness(a) ? b : a));
  const cases: [string, number, FamilyId, CpLayout][] = [];
  let f = 0;
  for (const def of SCHEMES)
    for (const P of WORLDS) cases.push([def.id, P, DENSE_FAMILIES[f++ % DENSE_FAMILIES.length], richest(def.layouts(P, SHAPE))]);
  cases.push(['usp', 8, 'causal_document', { ulysses: 2, ring: 4 }]);
  cases.push(['loongtrain', 8, 'prefix_lm_document', { hp: 2, cp: 4, window: 2, placement: 'head_first' }]);
  cases.push(['loongtrain', 8, 'causal', { hp: 1, cp: 8, window: 4 }]);
  it('covers every dense family', () => expect(new Set(cases.map((c) => c[2])).size).toBe(DENSE_FAMILIES.length));
  it.each(cases.map((c) => [`${c[0]} P=${c[1]} ${c[2]} ${label(c[3])}`, ...c] as const))('%s', async (_, scheme, P, family, layout) => {
    const { gm, mask } = maskOf(family);
    const plan = planCp(scheme, mask, P, layout, SHAPE);
    const r = await executor.run({ plan, mask, family, maskParams: gm.params, seed: 7, check: true, timeoutMs: 60_000 });
    expect(r.rows.map((row) => row.direction)).toEqual(['fwd', 'bwd']);
    for (const row of r.rows) {
      expect(row.status).toBe('ok');
      expect(row.error?.exceedsTolerance).toBe(false);
      expect(row.ranks).toHaveLength(P);
      expect(row.world).toBe(P);
    }
    expect(r.trace!.traceEvents.some((e) => e.ph === 'X' && e.cat === 'compute')).toBe(true);
  });
});
