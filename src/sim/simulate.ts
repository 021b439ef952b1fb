// Plan simulation: every rank walks its steps with one compute stream and communication channels
// (NCCL streams), as a CUDA/NCCL program does.
//
//   compute step (attn, attn_bwd, merge, accumulate, copy): runs on the compute stream when the
//       previous compute step is done; its duration comes from the kernel model.
//   communication step (p2p, all_to_all, all_gather, reduce_scatter): *posted* when the compute
//       issued before it is done (NCCL's stream waits for the current stream at launch), *ready*
//       when its channel is free, *started* when every participant is ready (a collective waits
//       for its whole group, a send for its matching receive), and done when its flows have
//       crossed the network (network.ts, fluid.ts). Channels follow the torch executor
//       (python/attnbench_worker/cp/comm.py): p2p batches and collectives over the whole world
//       share the default process group's NCCL stream; each smaller group has its own, so
//       communication on different groups can run at the same time.
//   with a handle, the compute stream goes on and waits for it at the matching `wait`; without one
//       (or with overlap off), the compute stream waits for it at once.
//
// Per rank the compute stream is busy, or stalled on a communication step; a stall splits into
// waiting for late peers (ready -> started: idle from imbalance) and exposed communication. A rank
// that ends before the slowest is idle until then. So for every rank
//     compute + exposed communication + idle = iteration time (the slowest rank's end).
//
// Modules: compile.ts (rank programs to flat arrays, kernel and elementwise durations), engine.ts
// (the event loop), trace.ts (Chrome traces); this file runs them and sums up the result.
import type { Plan } from '../cp/types.js';
import type { Direction } from '../results/schema.js';
import { compile, dtypeOf, newCompileCtx, PairsCache } from './compile.js';
import { Engine } from './engine.js';
import type { Cluster } from './hardware.js';
import type { KernelModel } from './kernel-model.js';
import { makeTopology } from './network.js';
import { rankLanes, type TraceEvent } from './trace.js';

export { dtypeOf, PairsCache } from './compile.js';
export { chromeTrace, TID_COMM, TID_COMPUTE, type TraceEvent } from './trace.js';

export interface SimOptions {
  readonly direction: Direction;
  /** Overlap communication with compute as the plan's handles allow (default true). */
  readonly overlap?: boolean;
  /** Record per-rank timelines (Chrome trace events); costs memory on big plans. */
  readonly trace?: boolean;
  /** 'none': communication is free (virtual ranks on one GPU). */
  readonly network?: 'model' | 'none';
  /** Kernel dtype; default from the plan's element size (2 -> bfloat16, 4 -> float32). */
  readonly dtype?: string;
  /**
   * Each backward partial call also recomputes its forward (autograd through the partial call,
   * as the GPU executor's flex path does) instead of a fused backward from the saved lse.
   */
  readonly bwdRecomputesForward?: boolean;
}

export interface RankBreakdown {
  readonly rank: number;
  /** When this rank's last step (compute or communication) is done. */
  readonly endMs: number;
  readonly computeMs: number;
  readonly exposedCommMs: number;
  /** Waiting for late peers plus the tail until the slowest rank ends. */
  readonly idleMs: number;
  readonly flops: number;
  readonly bytesSent: number;
}

export interface SimResult {
  readonly direction: Direction;
  readonly world: number;
  /** Iteration time: the slowest rank's end. */
  readonly makespanMs: number;
  readonly meanRankMs: number;
  readonly totalFlops: number;
  /** totalFlops / (makespan * P), and the same with the mean rank time (SPEC 6). */
  readonly tflopsPerGpu: number;
  readonly tflopsPerGpuMeanRank: number;
  /** Means over ranks; each rank's three parts sum to makespanMs. */
  readonly breakdown: { readonly computeMs: number; readonly exposedCommMs: number; readonly idleMs: number };
  readonly slowestRank: number;
  readonly ranks: readonly RankBreakdown[];
  /** True when any compute step used the roofline fallback instead of a fitted curve. */
  readonly fallback: boolean;
  readonly kernel: string;
  readonly stats: { readonly steps: number; readonly transfers: number; readonly networkEvents: number };
  readonly trace: readonly TraceEvent[] | null;
}

export function simulatePlan(
  plan: Plan,
  cluster: Cluster,
  kernels: KernelModel,
  opts: SimOptions,
  cache: PairsCache = new PairsCache(),
): SimResult {
  const P = plan.world;
  const direction = opts.direction;
  const trace: TraceEvent[] | null = opts.trace ? [] : null;
  if (plan.ranks.length !== P) throw new Error(`plan has ${plan.ranks.length} rank programs for world ${P}`);
  const ctx = newCompileCtx(plan, cluster, kernels, cache, {
    dtype: opts.dtype ?? dtypeOf(plan),
    trace: trace !== null,
    recompute: opts.bwdRecomputesForward ?? false,
  });
  let totalSteps = 0;
  const compiled = plan.ranks.map((rp, r) => {
    const steps = direction === 'fwd' ? rp.forward : rp.backward;
    totalSteps += steps.length;
    return compile(ctx, r, steps, rp.buffers);
  });
  const engine = new Engine(compiled, ctx.pairIndex.size, makeTopology(cluster, P), trace, opts.network === 'none', opts.overlap ?? true);
  engine.run();
  const ranks = engine.ranks;

  // --- results ---------------------------------------------------------------------------------
  const programs = plan.ranks.map((rp) => (direction === 'fwd' ? rp.forward : rp.backward));
  for (let r = 0; r < P; r++) {
    const st = ranks[r];
    if (st.pc < st.n || st.blocked) {
      const s = programs[r][st.pc];
      throw new Error(`deadlock: rank ${r} cannot finish step ${st.pc} (${s?.kind ?? 'end'}${st.blocked ? `: its ${st.blocked.coll?.kind ?? 'p2p'} never completes` : ''})`);
    }
    const stuck = st.chanHead.find((x) => x !== null);
    if (stuck) throw new Error(`deadlock: rank ${r} has a ${stuck.coll?.kind ?? 'p2p'} (step ${stuck.pc}) that never completes`);
  }
  const ends = ranks.map((st) => Math.max(st.computeFree, st.commEnd));
  let makespan = 0;
  let slowest = 0;
  ends.forEach((e, r) => {
    if (e > makespan) [makespan, slowest] = [e, r];
  });
  const out: RankBreakdown[] = ranks.map((st, r) => {
    const tail = Math.max(0, st.commEnd - st.computeFree);
    return {
      rank: r,
      endMs: ends[r],
      computeMs: st.computeMs,
      exposedCommMs: st.exposedMs + tail,
      idleMs: st.peerWaitMs + (makespan - ends[r]),
      flops: st.c.flops,
      bytesSent: st.bytesSent,
    };
  });
  const totalFlops = out.reduce((a, x) => a + x.flops, 0);
  const meanRank = ends.reduce((a, b) => a + b, 0) / P;
  const mean = (f: (x: RankBreakdown) => number) => out.reduce((a, x) => a + f(x), 0) / P;
  if (trace) {
    for (let r = 0; r < P; r++) {
      rankLanes(trace, r, ranks[r].c.chanNames);
    }
  }
  return {
    direction,
    world: P,
    makespanMs: makespan,
    meanRankMs: meanRank,
    totalFlops,
    tflopsPerGpu: makespan > 0 ? totalFlops / (makespan * 1e-3) / 1e12 / P : 0,
    tflopsPerGpuMeanRank: meanRank > 0 ? totalFlops / (meanRank * 1e-3) / 1e12 / P : 0,
    breakdown: { computeMs: mean((x) => x.computeMs), exposedCommMs: mean((x) => x.exposedCommMs), idleMs: mean((x) => x.idleMs) },
    slowestRank: slowest,
    ranks: out,
    fallback: ctx.fallback,
    kernel: kernels.kernel,
    stats: { steps: totalSteps, transfers: engine.transfers, networkEvents: engine.net.events },
    trace,
  };
}
