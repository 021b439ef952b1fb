import { afterAll, describe, expect, it } from 'vitest';
import type { Mask } from '../../mask/types.js';
import { planCp } from '../plan/index.js';
import type { Plan, Step } from '../types.js';
import { createCpuExecutor } from './cpu.js';

const S = 128;
const mask: Mask = { seqlenQ: S, seqlenK: S, slices: [{ qStart: 0, qEnd: S, kStart: 0, kEnd: S, kind: 'causal' }] };
const shape = { headsQ: 4, headsKv: 2, headDim: 8, dtypeBytes: 4 };
const request = (plan: Plan, timeoutMs = 30_000) => ({ plan, mask, family: 'causal', maskParams: {}, seed: 1, check: true, timeoutMs });

describe('cpu executor failures', () => {
  const ex = createCpuExecutor();
  afterAll(() => ex.close());
  const plan = planCp('ring_p2p', mask, 4, {}, shape);

  it('a rank that throws stops the run with its error, and the executor recovers', async () => {
    const broken: Plan = {
      ...plan,
      ranks: plan.ranks.map((rp) =>
        rp.rank !== 1 ? rp : { ...rp, forward: rp.forward.map((s): Step => (s.kind === 'attn' ? { ...s, q: 'nope' } : s)) },
      ),
    };
    const step = broken.ranks[1].forward.findIndex((s) => s.kind === 'attn');
    const t0 = Date.now();
    await expect(ex.run(request(broken))).rejects.toThrow(new RegExp(`^rank 1 failed at step ${step} \\(attn\\): forward: buffer nope is not declared`));
    expect(Date.now() - t0).toBeLessThan(20_000);
    const ok = await ex.run(request(plan));
    expect(ok.rows.every((r) => r.status === 'ok' && r.error?.exceedsTolerance === false)).toBe(true);
  });

  it('a rank that never receives its message times out instead of hanging', async () => {
    // Rank 0 stops sending: rank 1 waits forever on its first receive.
    const starved: Plan = {
      ...plan,
      ranks: plan.ranks.map((rp) =>
        rp.rank !== 0 ? rp : { ...rp, forward: rp.forward.map((s): Step => (s.kind === 'p2p' ? { ...s, ops: s.ops.filter((o) => o.op === 'recv') } : s)) },
      ),
    };
    await expect(ex.run(request(starved, 1500))).rejects.toThrow(/did not finish within 1500 ms/);
  });
});
