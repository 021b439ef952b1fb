import { describe, expect, it } from 'vitest';
import type { KernelObservation } from './calibrate.js';
import { kernelCall, tileProfile } from './kernel-model.js';
import { replicateLines, replicatePairs } from './replicates.js';

const call = (direction: 'fwd' | 'bwd' = 'fwd') =>
  kernelCall(tileProfile([{ mask: { seqlenQ: 1024, seqlenK: 1024, slices: [{ qStart: 0, qEnd: 1024, kStart: 0, kEnd: 1024, kind: 'causal' }] }, weight: 1 }]), 64, 128, direction, 'bfloat16', 1, 8);

function obs(id: string, gpu: string, ms: number, over: Partial<KernelObservation> = {}): KernelObservation {
  return { id, gpu, kernel: 'flex', family: 'causal', seqlen: 1024, headsQ: 64, headsKv: 8, world: 1, call: call(), ms, heldOut: false, spreadPct: 0.2, ...over };
}

describe('replicates across GPU types of one compute class', () => {
  it('pairs a case id measured on the h100 and the h200, not two rows of one GPU or of two curves', () => {
    const pairs = replicatePairs([
      obs('a', 'h100', 0.148, { spreadPct: 36.4 }),
      obs('a', 'h200', 0.0815),
      obs('b', 'h200', 1),
      obs('c', 'h100', 2),
      obs('c', 'h100', 2.2),
      obs('d', 'h100', 1, { kernel: 'sdpa_flash' }),
      obs('d', 'h200', 1, { kernel: 'sdpa_cudnn' }),
      obs('e', 'h100', 1, { call: call('bwd') }),
      obs('e', 'h200', 1.02, { call: call('bwd') }),
    ]);
    expect(pairs.map((p) => p.a.id)).toEqual(['a', 'e']);
    expect(pairs[0].a.gpu).toBe('h100');
    expect(pairs[0].ratio).toBeCloseTo(0.0815 / 0.148, 9);
  });

  it('reports the median ratio and lists the pairs apart by more than the threshold with their spreads', () => {
    const lines = replicateLines([obs('a', 'h100', 0.148, { spreadPct: 36.4 }), obs('a', 'h200', 0.0815), obs('e', 'h100', 1), obs('e', 'h200', 1.02), obs('f', 'h100', 1), obs('f', 'h200', 1.05)], 10);
    expect(lines[1]).toContain('h200 / h100: n=3 case(s), time ratio median 1.020');
    expect(lines[1]).toContain('apart by > 10%: 1');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('0.55x  flex causal 1024 fwd: h100 0.148 ms (spread 36.4%), h200 0.0815 ms (spread 0.2%)');
    expect(replicateLines([obs('a', 'h200', 1)])).toEqual([]);
  });
});
