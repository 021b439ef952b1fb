import { describe, expect, it } from 'vitest';
import { FluidNetwork, type FlowSpec } from './fluid.js';

/** Runs transfers (start ms, flows, latency) to completion; returns each transfer's done time by index. */
function run(bandwidth: number[], transfers: { start: number; flows: FlowSpec[]; latency?: number }[]): number[] {
  const done = new Array<number>(transfers.length).fill(Number.NaN);
  const net = new FluidNetwork(Float64Array.from(bandwidth), (t, tag) => {
    done[tag as number] = t;
  });
  transfers.forEach((x, i) => net.schedule(x.start, x.flows, x.latency ?? 0, i));
  while (net.step());
  return done;
}

describe('fluid network: both resources of a flow are charged', () => {
  it('one sender to N receivers through one egress: N x bytes / egress bandwidth (receivers bind at the start)', () => {
    // Resource 0: the sender's egress (100 B/ms); 1..4: receivers' ingress links (50 B/ms each). Each
    // flow alone would be limited by its receiver (50 < 100), but four of them need 4 x 100 B of the egress.
    const flows = [1, 2, 3, 4].map((r) => ({ r0: 0, r1: r, bytes: 100 }));
    const [t] = run([100, 50, 50, 50, 50], [{ start: 0, flows }]);
    expect(t).toBeCloseTo(4, 9);
    // One transfer per receiver, all posted at once: the last one ends at 4 ms too.
    const each = run([100, 50, 50, 50, 50], flows.map((f) => ({ start: 0, flows: [f] })));
    expect(Math.max(...each)).toBeCloseTo(4, 9);
    // ... and none ends before its own receiver could take it (2 ms).
    for (const x of each) expect(x).toBeGreaterThanOrEqual(2 - 1e-9);
  });

  it('N senders into one ingress: N x bytes / ingress bandwidth (senders bind at the start)', () => {
    // 0..3: senders' egress (50 B/ms), 4: the receiver's ingress (100 B/ms).
    const flows = [0, 1, 2, 3].map((r) => ({ r0: r, r1: 4, bytes: 100 }));
    const [t] = run([50, 50, 50, 50, 100], [{ start: 0, flows }]);
    expect(t).toBeCloseTo(4, 9);
  });

  it('a sender whose egress is the bottleneck from the start: processor sharing, unchanged', () => {
    const flows = [1, 2, 3, 4].map((r) => ({ r0: 0, r1: r, bytes: 100 }));
    const [t] = run([100, 200, 200, 200, 200], [{ start: 0, flows }]);
    expect(t).toBeCloseTo(4, 9);
  });

  it('a ring where both sides are equal: bytes / bandwidth per hop, plus latency', () => {
    // 4 ranks: egress i = resource i, ingress i = resource 4 + i; rank i sends to rank i + 1.
    const bw = [100, 100, 100, 100, 100, 100, 100, 100];
    const flows = [0, 1, 2, 3].map((i) => ({ r0: i, r1: 4 + ((i + 1) % 4), bytes: 300 }));
    const [t] = run(bw, [{ start: 0, flows, latency: 0.5 }]);
    expect(t).toBeCloseTo(3.5, 9);
    // Three ring steps one after another (each starts when the previous ends): 3 x 3 ms.
    const steps = run(bw, [0, 3, 6].map((s) => ({ start: s, flows })));
    expect(steps.map((x) => Number(x.toFixed(9)))).toEqual([3, 6, 9]);
  });

  it('a short flow that starts while a long one drains shares the egress equally from then on (unchanged)', () => {
    // Egress 0 at 100 B/ms, fast receivers. A: 1000 B at 0; B: 10 B at 1 ms. From 1 ms each gets 50 B/ms:
    // B ends at 1.2 ms, A has 890 B left then and ends at 10.1 ms.
    const [a, b] = run([100, 1000, 1000], [
      { start: 0, flows: [{ r0: 0, r1: 1, bytes: 1000 }] },
      { start: 1, flows: [{ r0: 0, r1: 2, bytes: 10 }] },
    ]);
    expect(b).toBeCloseTo(1.2, 9);
    expect(a).toBeCloseTo(10.1, 9);
  });
});
