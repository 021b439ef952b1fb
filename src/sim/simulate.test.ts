import { describe, expect, it } from 'vitest';
import type { Step } from '../cp/types.js';
import { makeKernelModel } from './kernel-model.js';
import { chromeTrace, simulatePlan, type SimResult } from './simulate.js';
import { attnMs, buf, plan, program, roundCluster, syntheticRingPlan } from './testing.js';
import { resolveCluster, type Cluster } from './hardware.js';
import type { Plan } from '../cp/types.js';
import { planCp } from '../cp/plan/index.js';
import { generateMask } from '../mask/families/index.js';

const GB = 1e9;

function sim(p: Plan, cluster: Cluster = roundCluster(), overlap = true, trace = false): SimResult {
  return simulatePlan(p, cluster, makeKernelModel(cluster, null), { direction: 'fwd', overlap, trace });
}

function allGather(group: number[], input = 'x', output = 'y', handle?: string): Step {
  return handle ? { kind: 'all_gather', group, input, output, handle } : { kind: 'all_gather', group, input, output };
}

describe('network model against hand-computed cases', () => {
  it('ring all-gather of 2 ranks on one node: latency + chunk / bandwidth', () => {
    // 1 GB chunks over NVLink at 100 GB/s, 5 us per step: (n-1) * 5us + (n-1)/n * 2GB / 100GB/s.
    const p = plan([0, 1].map((r) => program(r, [allGather([0, 1])], [buf('x', GB), buf('y', 2 * GB)])));
    const res = sim(p);
    expect(res.makespanMs).toBeCloseTo(10 + 0.005, 9);
    expect(res.ranks.map((r) => r.bytesSent)).toEqual([GB, GB]);
    expect(res.breakdown.exposedCommMs).toBeCloseTo(10.005, 9);
    expect(res.breakdown.computeMs).toBe(0);
  });

  it('ring all-gather of 2 ranks across nodes goes over InfiniBand, striped over the NICs', () => {
    const c1 = roundCluster({ gpusPerNode: 1, ib: { nicsPerNode: 1 } });
    const p = plan([0, 1].map((r) => program(r, [allGather([0, 1])], [buf('x', GB), buf('y', 2 * GB)])));
    expect(sim(p, c1).makespanMs).toBeCloseTo(20 + 0.01, 9); // 1 GB at 50 GB/s + 10 us
    const c4 = roundCluster({ gpusPerNode: 1, ib: { nicsPerNode: 4 } });
    expect(sim(p, c4).makespanMs).toBeCloseTo(5 + 0.01, 9); // 4 NICs carry a quarter each
  });

  it('ring reduce-scatter of 4 ranks: (n-1) steps of latency, (n-1)/n of the data', () => {
    // output chunk 1 GB per rank, input 4 GB: each ring edge carries 3 GB at 100 GB/s.
    const p = plan(
      [0, 1, 2, 3].map((r) =>
        program(r, [{ kind: 'reduce_scatter', group: [0, 1, 2, 3], input: 'x', output: 'y' }], [buf('x', 4 * GB), buf('y', GB)]),
      ),
    );
    expect(sim(p).makespanMs).toBeCloseTo(30 + 3 * 0.005, 9);
  });

  it('all-to-all on one node: each rank sends (P-1)/P of its data through its NVLink port', () => {
    const P = 4;
    const sends = ['s0', 's1', 's2', 's3'];
    const recvs = ['r0', 'r1', 'r2', 'r3'];
    const p = plan(
      [0, 1, 2, 3].map((r) =>
        program(
          r,
          [{ kind: 'all_to_all', group: [0, 1, 2, 3], send: sends, recv: recvs }],
          [...sends.map((s) => buf(s, GB)), ...recvs.map((s) => buf(s, GB))],
        ),
      ),
    );
    const res = sim(p);
    // 3 GB out of every GPU at 100 GB/s, one message latency.
    expect(res.makespanMs).toBeCloseTo(((P - 1) * GB) / (100 * GB) * 1e3 + 0.005, 9);
    expect(res.ranks.every((r) => r.bytesSent === 3 * GB)).toBe(true);
  });

  it('all-to-all across 2 nodes: inter-node bytes leave through the rail NIC', () => {
    // 2 nodes of 2 GPUs, 1 NIC per node; each rank sends 1 GB to each of the 3 others.
    const c = roundCluster({ gpusPerNode: 2, ib: { nicsPerNode: 1 } });
    const names = ['a', 'b', 'c', 'd'];
    const p = plan(
      [0, 1, 2, 3].map((r) => program(r, [{ kind: 'all_to_all', group: [0, 1, 2, 3], send: names, recv: names }], names.map((n) => buf(n, GB)))),
    );
    // NIC of node 0 carries 2 ranks x 2 GB = 4 GB at 50 GB/s = 80 ms (NVLink part is 10 ms).
    expect(sim(p, c).makespanMs).toBeCloseTo(80 + 0.01, 9);
  });

  it('p2p over NVLink and over InfiniBand', () => {
    const c = roundCluster({ gpusPerNode: 2 });
    const mk = (peer: number) =>
      plan([
        program(0, [{ kind: 'p2p', ops: [{ op: 'send', peer, buf: 'x' }] }], [buf('x', GB)]),
        ...[1, 2].map((r) => program(r, r === peer ? [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }] : [], [buf('x', GB)])),
      ]);
    expect(sim(mk(1), c).makespanMs).toBeCloseTo(10.005, 9);
    expect(sim(mk(2), c).makespanMs).toBeCloseTo(20.01, 9);
  });

  it('contention: two ranks sharing one NIC take twice as long as with a NIC each', () => {
    // Node 0 = ranks 0,1; node 1 = ranks 2,3. Ranks 0 and 1 send 1 GB to ranks 2 and 3 at once.
    const mk = () =>
      plan([
        program(0, [{ kind: 'p2p', ops: [{ op: 'send', peer: 2, buf: 'x' }] }], [buf('x', GB)]),
        program(1, [{ kind: 'p2p', ops: [{ op: 'send', peer: 3, buf: 'x' }] }], [buf('x', GB)]),
        program(2, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }], [buf('x', GB)]),
        program(3, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 1, buf: 'x' }] }], [buf('x', GB)]),
      ]);
    const shared = sim(mk(), roundCluster({ gpusPerNode: 2, ib: { nicsPerNode: 1 } }));
    const own = sim(mk(), roundCluster({ gpusPerNode: 2, ib: { nicsPerNode: 2 } }));
    expect(own.makespanMs).toBeCloseTo(20 + 0.01, 9);
    expect(shared.makespanMs).toBeCloseTo(40 + 0.01, 9);
    expect(shared.makespanMs - 0.01).toBeCloseTo(2 * (own.makespanMs - 0.01), 9);
  });

  it('a flow that starts while another drains gets its share only while both run', () => {
    // Rank 0 sends 1 GB at t=0; rank 1 computes 5 ms then sends 1 GB; both through one NIC (50 GB/s).
    // 0..5 ms: flow A alone moves 0.25 GB; then both at 25 GB/s: A's remaining 0.75 GB takes 30 ms
    // (ends at 35), B has moved 0.75 GB by then and its last 0.25 GB at 50 GB/s takes 5 ms (ends 40).
    const c = roundCluster({ gpusPerNode: 2, ib: { nicsPerNode: 1, latencyUs: 0 } });
    const p = plan([
      program(0, [{ kind: 'p2p', ops: [{ op: 'send', peer: 2, buf: 'x' }] }], [buf('x', GB)]),
      program(1, [attnMs(5), { kind: 'p2p', ops: [{ op: 'send', peer: 3, buf: 'x' }] }], [buf('x', GB)]),
      program(2, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }], [buf('x', GB)]),
      program(3, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 1, buf: 'x' }] }], [buf('x', GB)]),
    ]);
    const res = sim(p, c);
    expect(res.ranks[0].endMs).toBeCloseTo(35, 9);
    expect(res.ranks[1].endMs).toBeCloseTo(40, 9);
    expect(res.ranks[3].endMs).toBeCloseTo(40, 9);
  });
});

describe('plan simulation', () => {
  // Each rank: post an async exchange (2 ms on the wire), compute 1 ms, wait, compute 1 ms.
  const ring2 = () =>
    plan(
      [0, 1].map((r) =>
        program(
          r,
          [
            { kind: 'p2p', ops: [{ op: 'send', peer: 1 - r, buf: 'x' }, { op: 'recv', peer: 1 - r, buf: 'y' }], handle: 'h' },
            attnMs(1),
            { kind: 'wait', handle: 'h' },
            attnMs(1),
          ],
          [buf('x', 0.2 * GB), buf('y', 0.2 * GB)],
        ),
      ),
    );

  it('overlap on: communication hides behind compute until its wait', () => {
    const res = sim(ring2(), roundCluster({ nvlink: { latencyUs: 0 } }), true, true);
    // transfer 0..2 ms (0.2 GB at 100 GB/s) ; compute 0..1, stall 1..2, compute 2..3
    expect(res.makespanMs).toBeCloseTo(3, 9);
    expect(res.breakdown.computeMs).toBeCloseTo(2, 9);
    expect(res.breakdown.exposedCommMs).toBeCloseTo(1, 9);
    expect(res.breakdown.idleMs).toBeCloseTo(0, 9);
    const r0 = res.trace!.filter((e) => e.pid === 0 && e.ph === 'X').map((e) => [e.name, e.tid, e.ts, e.dur]);
    expect(r0).toEqual([
      ['attn', 0, 0, 1000],
      ['p2p', 1, 0, 2000],
      ['attn', 0, 2000, 1000],
    ]);
  });

  it('writes traces that the report timeline reader takes, with compute and communication lanes', async () => {
    const { laneOf, parseTrace, timelineSvg } = await import('../report/timeline.js');
    const res = sim(ring2(), roundCluster({ nvlink: { latencyUs: 0 } }), true, true);
    const trace = parseTrace(JSON.parse(JSON.stringify(chromeTrace(res))));
    const lanes = trace.traceEvents.filter((e) => e.ph === 'X').map((e) => `${e.name}:${laneOf(e)}`);
    expect(lanes).toContain('attn:compute');
    expect(lanes).toContain('p2p:comm');
    expect(timelineSvg(trace)).toContain('<svg');
  });

  it('overlap off: communication and compute serialize', () => {
    const res = sim(ring2(), roundCluster({ nvlink: { latencyUs: 0 } }), false, true);
    expect(res.makespanMs).toBeCloseTo(4, 9);
    expect(res.breakdown.exposedCommMs).toBeCloseTo(2, 9);
    const r1 = res.trace!.filter((e) => e.pid === 1 && e.ph === 'X').map((e) => [e.name, e.tid, e.ts, e.dur]);
    expect(r1).toEqual([
      ['p2p', 1, 0, 2000],
      ['attn', 0, 2000, 1000],
      ['attn', 0, 3000, 1000],
    ]);
  });

  it('imbalance shows up as idle time of the lighter rank at the collective', () => {
    const p = plan(
      [3, 1].map((ms, r) => program(r, [attnMs(ms), allGather([0, 1])], [buf('x', 0.1 * GB), buf('y', 0.2 * GB)])),
    );
    const res = sim(p, roundCluster({ nvlink: { latencyUs: 0 } }));
    // both start the all-gather at 3 ms (1 ms on the wire): end at 4 ms.
    expect(res.makespanMs).toBeCloseTo(4, 9);
    expect(res.ranks[1].idleMs).toBeCloseTo(2, 9);
    expect(res.ranks[0].idleMs).toBeCloseTo(0, 9);
    for (const r of res.ranks) expect(r.computeMs + r.exposedCommMs + r.idleMs).toBeCloseTo(res.makespanMs, 9);
    expect(res.slowestRank).toBe(0);
    // TFLOP/s per GPU from the slowest rank, and from the mean rank time (both ranks end at 4 ms).
    expect(res.tflopsPerGpu).toBeCloseTo((4e12 / 4e-3 / 1e12) / 2, 6);
  });

  it('a rank that finishes early is idle until the slowest rank ends', () => {
    const p = plan([program(0, [attnMs(5)]), program(1, [attnMs(2)])]);
    const res = sim(p);
    expect(res.makespanMs).toBeCloseTo(5, 9);
    expect(res.meanRankMs).toBeCloseTo(3.5, 9);
    expect(res.ranks[1].idleMs).toBeCloseTo(3, 9);
    expect(res.tflopsPerGpu).toBeCloseTo(7e12 / 5e-3 / 1e12 / 2, 6);
    expect(res.tflopsPerGpuMeanRank).toBeCloseTo(7e12 / 3.5e-3 / 1e12 / 2, 6);
  });

  it('ring of 4 with p2p: sends wait for their receivers, per-step exchange times add up', () => {
    const P = 4;
    const steps = (r: number): Step[] => {
      const out: Step[] = [];
      for (let s = 0; s < P - 1; s++) {
        out.push({ kind: 'p2p', ops: [{ op: 'send', peer: (r + 1) % P, buf: 'x' }, { op: 'recv', peer: (r + P - 1) % P, buf: 'x' }], handle: `h${s}` });
        out.push(attnMs(1));
        out.push({ kind: 'wait', handle: `h${s}` });
      }
      out.push(attnMs(1));
      return out;
    };
    const p = plan([0, 1, 2, 3].map((r) => program(r, steps(r), [buf('x', 0.05 * GB)])));
    // each exchange 0.5 ms < 1 ms compute: fully hidden -> 4 ms
    expect(sim(p, roundCluster({ nvlink: { latencyUs: 0 } })).makespanMs).toBeCloseTo(4, 9);
    expect(sim(p, roundCluster({ nvlink: { latencyUs: 0 } }), false).makespanMs).toBeCloseTo(4 + 3 * 0.5, 9);
  });

  it('collectives on a smaller group get their own channel; p2p steps share the default one', () => {
    // nodes of 2: ranks 0,1 | 2,3. Rank 0: all-gather on {0,1} (10 ms on NVLink) and a send of
    // 1 GB to rank 2 (20 ms on IB), both async: on separate channels they overlap.
    const c = roundCluster({ gpusPerNode: 2 });
    const overlapPlan = plan([
      program(0, [allGather([0, 1], 'x', 'y', 'h1'), { kind: 'p2p', ops: [{ op: 'send', peer: 2, buf: 'x' }], handle: 'h2' }, { kind: 'wait', handle: 'h1' }, { kind: 'wait', handle: 'h2' }], [buf('x', GB), buf('y', 2 * GB)]),
      program(1, [allGather([0, 1])], [buf('x', GB), buf('y', 2 * GB)]),
      program(2, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }], [buf('x', GB)]),
      program(3, []),
    ]);
    expect(sim(overlapPlan, c).makespanMs).toBeCloseTo(20.01, 9);
    // two async sends (to rank 2 over IB, then to rank 1 over NVLink) queue on the default channel
    const serialPlan = plan([
      program(0, [{ kind: 'p2p', ops: [{ op: 'send', peer: 2, buf: 'x' }], handle: 'h2' }, { kind: 'p2p', ops: [{ op: 'send', peer: 1, buf: 'x' }], handle: 'h1' }, { kind: 'wait', handle: 'h2' }, { kind: 'wait', handle: 'h1' }], [buf('x', GB)]),
      program(1, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }], [buf('x', GB)]),
      program(2, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }], [buf('x', GB)]),
      program(3, []),
    ]);
    const res = sim(serialPlan, c, true, true);
    expect(res.makespanMs).toBeCloseTo(20.01 + 10.005, 9);
    expect(res.trace!.filter((e) => e.ph === 'M' && e.pid === 0 && e.name === 'thread_name').map((e) => e.args!.name)).toEqual(['compute', 'comm']);
  });

  it("a step's sends to one peer wait in order, each with its size, for their receives", () => {
    // Rank 0: one step sending 1 GB then 2 GB to rank 1 (NVLink, 100 GB/s). Rank 1 receives the
    // first (alone on the link: 10 ms), computes 1 ms and only then posts the second receive, which
    // starts the 2 GB send (20 ms).
    const p = plan([
      program(0, [{ kind: 'p2p', ops: [{ op: 'send', peer: 1, buf: 'a' }, { op: 'send', peer: 1, buf: 'b' }] }], [buf('a', GB), buf('b', 2 * GB)]),
      program(
        1,
        [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'a' }] }, attnMs(1), { kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'b' }] }],
        [buf('a', GB), buf('b', 2 * GB)],
      ),
    ]);
    const res = sim(p, roundCluster({ nvlink: { latencyUs: 0 } }), true, true);
    expect(res.ranks[0].bytesSent).toBe(3 * GB);
    expect(res.makespanMs).toBeCloseTo(10 + 1 + 20, 9);
    const recvs = res.trace!.filter((e) => e.pid === 1 && e.name === 'p2p').map((e) => [e.ts, e.dur]);
    expect(recvs).toEqual([
      [0, 10000],
      [11000, 20000],
    ]);
  });

  it('reports a deadlock instead of hanging', () => {
    const p = plan([
      program(0, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 1, buf: 'x' }] }], [buf('x', 1)]),
      program(1, [{ kind: 'p2p', ops: [{ op: 'recv', peer: 0, buf: 'x' }] }], [buf('x', 1)]),
    ]);
    expect(() => sim(p)).toThrow(/deadlock: rank 0/);
  });

  it('flags the roofline fallback and uses calibrated curves when given', () => {
    // HBM fast enough that the kernel model's memory floor stays below the compute time
    const c = roundCluster({ gpus: { h100: { peakTflops: { bfloat16: 1000 }, memBandwidthGBps: 1e6 } } });
    const p = plan([program(0, [attnMs(1)])]);
    const rf = sim(p, c);
    expect(rf.fallback).toBe(true);
    expect(rf.makespanMs).toBeCloseTo(1, 9);
    const cal = {
      version: 2 as const,
      uncalibrated: [],
      blockSize: 128,
      model: '',
      holdout: '',
      rows: 1,
      holdoutMedianAbsPct: null,
      fitMedianAbsPct: 0,
      curves: [
        {
          gpu: 'h100', kernel: 'k', direction: 'fwd' as const, dtype: 'bfloat16', slots: 1, c0Ms: 0.5, msPerProgram: 0,
          msPerTflopFull: 2, msPerTflopPartial: 3, msPerTflopEmpty: 0, assumed: [], fitRows: 3, fitMedianAbsPct: 0,
          holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
        },
      ],
    };
    const res = simulatePlan(p, c, makeKernelModel(c, cal), { direction: 'fwd' });
    expect(res.fallback).toBe(false);
    expect(res.kernel).toBe('k');
    // the 128x128 full mask is one full block: W_full = 4 * 128 * 1 * 128 * 128 FLOPs
    expect(res.makespanMs).toBeCloseTo(0.5 + (2 * 4 * 128 * 128 * 128) / 1e12, 12);
  });
  it('uses a compute-class curve (h100+h200) and adds the forward recompute to backward calls when asked', () => {
    const c = roundCluster({ gpus: { h100: { peakTflops: { bfloat16: 1000 }, memBandwidthGBps: 1e6 } } });
    const curve = (direction: 'fwd' | 'bwd', c0Ms: number) => ({
      gpu: 'h100+h200', kernel: 'k', direction, dtype: 'bfloat16', slots: 1, c0Ms, msPerProgram: 0,
      msPerTflopFull: 2, msPerTflopPartial: 3, msPerTflopEmpty: 0, assumed: [], fitRows: 3, fitMedianAbsPct: 0,
      holdoutRows: 0, holdoutMedianAbsPct: null, seen: { heads: [], seqlenMin: 0, seqlenMax: 0, families: [] },
    });
    const cal = {
      version: 2 as const, uncalibrated: [], blockSize: 128, model: '', holdout: '', rows: 2, holdoutMedianAbsPct: null, fitMedianAbsPct: 0,
      curves: [curve('fwd', 0.5), curve('bwd', 0.25)],
    };
    const fwdFlops = 4 * 128 * 128 * 128; // one full 128x128 block, 1 head, d=128
    const step: Step = {
      kind: 'attn_bwd', q: 'q', kv: 'kv', o: 'o', lse: 'o', dout: 'o', dq: 'q', dkv: 'kv',
      mask: { seqlenQ: 128, seqlenK: 128, slices: [{ qStart: 0, qEnd: 128, kStart: 0, kEnd: 128, kind: 'full' }] },
      heads: { start: 0, end: 1 }, flops: 2.5 * fwdFlops,
    };
    const prog = { ...program(0, []), backward: [step] };
    const p = plan([prog]);
    const km = makeKernelModel(c, cal);
    expect(km.kernel).toBe('k');
    const plain = simulatePlan(p, c, km, { direction: 'bwd' });
    expect(plain.fallback).toBe(false);
    expect(plain.makespanMs).toBeCloseTo(0.25 + (2 * 2.5 * fwdFlops) / 1e12, 12);
    const rec = simulatePlan(p, c, km, { direction: 'bwd', bwdRecomputesForward: true });
    expect(rec.makespanMs).toBeCloseTo(0.25 + (2 * 2.5 * fwdFlops) / 1e12 + 0.5 + (2 * fwdFlops) / 1e12, 12);
  });
});

describe('simulator results do not move with its speed work', () => {
  // Expected values computed with the simulator before the allocation-free event loop (objects per
  // transfer / flow / event, Maps per message); the rewrite must give the same numbers. The link
  // efficiencies are pinned to the defaults of then (NVLink 0.8, IB 0.9; now fitted to published
  // NCCL figures) so that this stays a test of the engine, not of the defaults.
  // 2026-12-05 (fluid.ts charges both sides of every flow): each flow now ends once on each of its two
  // resources, so network events grow (ring 8064 -> 12096, 16256 -> 24384; usp 3792 -> 5592) with the
  // same times (both sides equal); dispatch, whose senders' egress was never charged once receivers'
  // links bound, moves 24.998 -> 30.819 ms (overlap) and 27.696 -> 33.016 ms.
  const h100 = resolveCluster('h100', { nvlink: { efficiency: 0.8 }, ib: { efficiency: 0.9 } });
  const km = makeKernelModel(h100, null);
  const shape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };
  const same = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want));
  type Want = [makespan: number, meanRank: number, exposedComm: number, idle: number, networkEvents: number, transfers: number];
  const check = (p: Plan, direction: 'fwd' | 'bwd', overlap: boolean, want: Want) => {
    const r = simulatePlan(p, h100, km, { direction, overlap });
    same(r.makespanMs, want[0]);
    same(r.meanRankMs, want[1]);
    same(r.breakdown.exposedCommMs, want[2]);
    same(r.breakdown.idleMs, want[3]);
    expect(r.stats.networkEvents).toBe(want[4]);
    expect(r.stats.transfers).toBe(want[5]);
  };

  it('synthetic ring of 64 ranks (8 nodes), overlap on and off', () => {
    const p = syntheticRingPlan(64, 16384);
    check(p, 'fwd', true, [1158.5942392455484, 1158.5942392455477, 0, 0, 12096, 4032]);
    check(p, 'fwd', false, [1253.1766488455482, 1251.2118069788817, 32.689890800001265, 61.892518799998804, 12096, 4032]);
  });

  it('ring_p2p backward on causal, 64 ranks at 1M tokens', () => {
    const p = planCp('ring_p2p', generateMask('causal', 1 << 20, { seed: 0 }).heads[0], 64, {}, shape);
    check(p, 'bwd', true, [1519.1132684781294, 1517.1484266114628, 33.20877795555795, 62.874939733330805, 24384, 8128]);
    check(p, 'bwd', false, [1613.6956780781295, 1611.7308362114634, 65.89866875556058, 124.76745853332845, 24384, 8128]);
  });

  it('dispatch backward on causal_document (many flows sharing links), 64 ranks', () => {
    const p = planCp('dispatch', generateMask('causal_document', 1 << 20, { seed: 0 }).heads[0], 64, { sharding: 'granules', exchange: 'direct' }, shape); // the placement and routes these numbers were taken with (before issue 14)
    check(p, 'bwd', true, [30.818946741139484, 28.619573456163167, 13.36269797545589, 5.188916635599515, 15834, 3884]);
    check(p, 'bwd', false, [33.016195766844426, 30.40365367694346, 15.724047973174986, 5.024815663585362, 15955, 3884]);
  });

  it('usp backward (all-to-all in groups of 8 + ring across them), 64 ranks', () => {
    const p = planCp('usp', generateMask('causal', 1 << 20, { seed: 0 }).heads[0], 64, { ulysses: 8, ring: 8 }, shape);
    check(p, 'bwd', true, [1437.9295248734848, 1437.929524873485, 13.493471111111266, 0, 5592, 984]);
    check(p, 'bwd', false, [1448.438681495707, 1448.4386814957093, 24.002627733333536, 0, 5592, 984]);
  });
});
