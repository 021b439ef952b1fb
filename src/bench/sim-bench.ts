// Simulator speed (issue target: one plan of 1024 ranks at 16M tokens simulated in under 5 s).
// Plans ring_p2p on causal at 1024 x 16k tokens (the scheme with the most steps: ~4M forward and
// ~5M backward steps, ~1M and ~2M messages), then simulates the forward and the backward program.
// Planning is timed separately; a full GC runs between planning and each simulation where the
// runtime allows it, so the planner's garbage is not charged to the simulator. CPU time is reported
// beside wall time because this machine is shared.
import v8 from 'node:v8';
import vm from 'node:vm';
import { planCp } from '../cp/plan/index.js';
import type { Plan } from '../cp/types.js';
import { generateMask } from '../mask/families/index.js';
import type { Direction } from '../results/schema.js';
import { resolveCluster } from '../sim/hardware.js';
import { makeKernelModel } from '../sim/kernel-model.js';
import { simulatePlan } from '../sim/simulate.js';
import { syntheticRingPlan } from '../sim/testing.js';

export const SIM_BENCH_TARGET_MS = 5000;

export interface SimBenchRow {
  readonly plan: string;
  readonly direction: Direction;
  readonly world: number;
  readonly seqlen: number;
  readonly steps: number;
  readonly transfers: number;
  readonly networkEvents: number;
  readonly simWallMs: number;
  readonly simCpuMs: number;
  readonly makespanMs: number;
  readonly tflopsPerGpu: number;
}

export interface SimBenchResult {
  readonly scheme: string;
  readonly family: string;
  readonly world: number;
  readonly seqlen: number;
  readonly maskMs: number;
  readonly planMs: number;
  readonly rows: readonly SimBenchRow[];
}

export interface SimBenchOptions {
  readonly world?: number;
  readonly seqlen?: number;
  readonly scheme?: string;
  readonly family?: string;
  /** Also time a planner-free synthetic ring plan of the same size (shared masks and buffers). */
  readonly synthetic?: boolean;
}

/** A full GC, when the runtime lets us ask for one (node: through --expose-gc set at run time). */
function fullGc(): void {
  try {
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  } catch {
    // not available: the simulation may then pay for collecting the planner's garbage
  }
}

function timeSim(label: string, plan: Plan, direction: Direction): SimBenchRow {
  const cluster = resolveCluster('h100');
  const kernels = makeKernelModel(cluster, null);
  fullGc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = simulatePlan(plan, cluster, kernels, { direction });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return {
    plan: label,
    direction,
    world: plan.world,
    seqlen: plan.seqlen,
    steps: r.stats.steps,
    transfers: r.stats.transfers,
    networkEvents: r.stats.networkEvents,
    simWallMs: wall,
    simCpuMs: (cpu.user + cpu.system) / 1000,
    makespanMs: r.makespanMs,
    tflopsPerGpu: r.tflopsPerGpu,
  };
}

export function benchSimulation(opts: SimBenchOptions = {}): SimBenchResult {
  const world = opts.world ?? 1024;
  const seqlen = opts.seqlen ?? 16 * 1024 * 1024;
  const scheme = opts.scheme ?? 'ring_p2p';
  const family = opts.family ?? 'causal';
  const t0 = performance.now();
  const g = generateMask(family, seqlen, { seed: 0 });
  const t1 = performance.now();
  let plan: Plan | null = planCp(scheme, g.heads[0], world, {}, { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 });
  const t2 = performance.now();
  const rows: SimBenchRow[] = [];
  for (const d of ['fwd', 'bwd'] as const) rows.push(timeSim(`${scheme}/${family}`, plan, d));
  plan = null;
  if (opts.synthetic ?? true) {
    const syn = syntheticRingPlan(world, seqlen / world);
    rows.push(timeSim('synthetic ring (no planner)', syn, 'fwd'));
  }
  return { scheme, family, world, seqlen, maskMs: t1 - t0, planMs: t2 - t1, rows };
}

export function formatSimBench(r: SimBenchResult): string {
  const lines = [
    `sim: ${r.scheme} on ${r.family}, ${r.world} ranks, ${r.seqlen / (1 << 20)}M tokens: mask ${r.maskMs.toFixed(0)} ms, planning ${(r.planMs / 1000).toFixed(1)} s (not simulated time)`,
  ];
  for (const x of r.rows) {
    const ok = x.simWallMs <= SIM_BENCH_TARGET_MS ? 'ok' : 'OVER';
    lines.push(
      `  ${x.plan} ${x.direction}: simulate ${(x.simWallMs / 1000).toFixed(2)} s wall, ${(x.simCpuMs / 1000).toFixed(2)} s CPU ` +
        `(${(x.steps / 1e6).toFixed(2)}M steps, ${(x.transfers / 1e6).toFixed(2)}M messages, ${(x.networkEvents / 1e6).toFixed(2)}M network events) ` +
        `[target < ${SIM_BENCH_TARGET_MS / 1000} s: ${ok}]; simulated iteration ${x.makespanMs.toFixed(0)} ms, ${x.tflopsPerGpu.toFixed(0)} TFLOP/s per GPU`,
    );
  }
  return lines.join('\n');
}

// `node dist/bench/sim-bench.js [world] [seqlen]`
if (process.argv[1] && /sim-bench\.[jt]s$/.test(process.argv[1])) {
  const world = process.argv[2] ? Number(process.argv[2]) : undefined;
  const seqlen = process.argv[3] ? Number(process.argv[3]) : undefined;
  process.stdout.write(`${formatSimBench(benchSimulation({ world, seqlen }))}\n`);
}
