// The forward anatomy of a plan (docs/cp.md, issue 14): copy runs as the python executor launches
// them, attention steps' work lists, merges; checked against the plan's own statistics.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { planCp, sharedMask } from '../cp/plan/index.js';
import { planStats } from '../cp/stats.js';
import { generateMask } from '../mask/families/index.js';
import { pythonDir } from '../worker/client.js';
import { forwardAnatomy, joinedRuns, overlapRuns, parseLayout } from './cp-anatomy.js';

const r = (start: number, end: number) => ({ start, end });

describe('copy runs', () => {
  it('one run per overlapping range pair; joined when they continue each other in both buffers', () => {
    // a rank's own K/V (two ranges) into the front of a concatenated buffer: one launch after joining
    expect(overlapRuns([r(0, 4), r(10, 12)], [r(0, 4), r(10, 12)])).toEqual([[0, 0, 4], [4, 4, 2]]);
    expect(joinedRuns([r(0, 4), r(10, 12)], [r(0, 4), r(10, 12)])).toEqual([[0, 0, 6]]);
    // the same tokens in another order: nothing to join
    expect(joinedRuns([r(10, 12), r(0, 4)], [r(0, 4), r(10, 12)])).toEqual([[0, 4, 2], [2, 0, 4]]);
    // a sub-range and a gap
    expect(overlapRuns([r(2, 6)], [r(0, 3), r(5, 9)])).toEqual([[0, 2, 1], [3, 3, 1]]);
  });

  it('agrees with the python executor (cp/logic.py overlap_runs / coalesced_runs)', () => {
    const cases = [
      [[r(0, 4), r(10, 12)], [r(0, 4), r(10, 12)]],
      [[r(10, 12), r(0, 4)], [r(0, 4), r(10, 12)]],
      [[r(2, 6), r(7, 9)], [r(0, 3), r(5, 9)]],
    ];
    const script = [
      'import json, sys',
      'from attnbench_worker.cp.logic import overlap_runs, coalesced_runs',
      'cs = json.loads(sys.argv[1])',
      't = lambda rs: [(x["start"], x["end"]) for x in rs]',
      'print(json.dumps([[overlap_runs(t(a), t(b)), coalesced_runs(t(a), t(b))] for a, b in cs]))',
    ].join('\n');
    const p = spawnSync('python3', ['-c', script, JSON.stringify(cases)], { env: { ...process.env, PYTHONPATH: pythonDir() }, encoding: 'utf8', timeout: 60_000 });
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toEqual(cases.map(([a, b]) => [overlapRuns(a, b), joinedRuns(a, b)]));
  });
});

describe('forwardAnatomy', () => {
  const shape = { headsQ: 8, headsKv: 1, headDim: 64, dtypeBytes: 2 };
  const mask = sharedMask(generateMask('causal_document', 4096, { seed: 0, docLens: 'prolong64k' }));

  it("dispatch overlap: each rank's attention GFLOP is its planned forward FLOPs; merges and copies as planned", () => {
    const plan = planCp('dispatch', mask, 4, parseLayout('sharding=documents,split=zigzag,steps=overlap'), shape);
    const stats = planStats(plan);
    const a = forwardAnatomy(plan);
    expect(a).toHaveLength(4);
    for (const rank of a) {
      expect(rank.attn.reduce((s, x) => s + x.gflop, 0) * 1e9).toBeCloseTo(stats.flopsFwd[rank.rank], -3);
      expect(rank.copyLaunches.joined).toBeLessThanOrEqual(rank.copyLaunches.perRange);
      const steps = plan.ranks[rank.rank].forward;
      expect(rank.merges).toBe(steps.filter((s) => s.kind === 'merge').length);
      expect(rank.copies).toBe(steps.filter((s) => s.kind === 'copy').length);
      for (const x of rank.attn) {
        expect(x.density).toBeGreaterThan(0);
        expect(x.density).toBeLessThanOrEqual(1);
        // the LPT makespan is at least the ideal share of the full tiles
        expect(x.lpt).toBeGreaterThanOrEqual(x.fullTiles / 132);
      }
    }
    expect(a.some((x) => x.merges > 0 && x.mergeRows > 0)).toBe(true);
  });

  it('ring_allgather: one call per rank over every key, no copies or merges', () => {
    const a = forwardAnatomy(planCp('ring_allgather', mask, 4, { sharding: 'zigzag' }, shape));
    for (const x of a) {
      expect(x.attn).toHaveLength(1);
      expect(x.attn[0].k).toBe(4096);
      expect(x.copies + x.merges).toBe(0);
    }
  });
});
