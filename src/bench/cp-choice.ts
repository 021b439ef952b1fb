// dispatch's choice on dense masks against measured virtual-rank GPU rows (issue 14). For each
// (GPU, family, P) of the rows, one line per scheme: the plan its row ran (rebuilt from the row's
// recorded layout, sim/validate.ts planOfRow), priced by the cost dispatch minimises when a GPU run
// plans it (sim/cp-plan-cost.ts: the calibration's <kernel>@cp curves on the default H100 cluster,
// nodes of 8) and by the same model without the network (what a virtual-rank row times: its
// compute steps only), beside the row's measured slowest rank (the row's time) and mean rank, per
// direction, and the spread of its ranks (max / min - 1; on full and causal every rank of these
// plans does the same work, so the spread is timing, not plan). The line of the layout dispatch
// chooses now with that cost is marked (it must be the one its row recorded: the choice is pure).
//   npx tsx src/bench/cp-choice.ts triton_ranges results/h100/cp/issue13-s13_cp_p8.jsonl results/h200/cp/issue13-s8_cp_p8.jsonl
//   (kernel, then row files; CP_CHOICE_FAMILIES=full,causal by default)
import { pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import { simPlanCost } from '../cp/plan/plan-cost.js';
import type { CpShape, PlanCost } from '../cp/types.js';
import type { ResultRow } from '../results/schema.js';
import { isVirtualRanks } from '../results/rows.js';
import { normalizeGpu, resolveCluster, type Cluster } from '../sim/hardware.js';
import { loadCalibration } from '../sim/io.js';
import { calibratedGpus, hasCurve, makeKernelModel, type Calibration, type KernelModel } from '../sim/kernel-model.js';
import { simulatePlan } from '../sim/simulate.js';
import { plan as planScheme, rowMask } from '../sim/sources.js';
import { isCpMeasurement, planOfRow } from '../sim/validate.js';
import { readJsonl } from '../util/jsonl.js';

/** Slowest rank, mean rank and spread (max / min - 1, %) of a row's per-rank times. */
export function rankStats(ms: readonly number[]): { max: number; mean: number; spreadPct: number } {
  const max = Math.max(...ms);
  const min = Math.min(...ms);
  return { max, mean: ms.reduce((a, b) => a + b, 0) / ms.length, spreadPct: (max / min - 1) * 100 };
}

export interface ChoiceLine {
  readonly gpu: string;
  readonly family: string;
  readonly world: number;
  readonly scheme: string;
  readonly layout: string;
  /** dispatch's choice now, by the bench's cost (only on the dispatch line). */
  readonly chosen?: string;
  readonly sim: { fwd: number; bwd: number };
  readonly simVirtual: { fwd: number; bwd: number };
  readonly measured: { fwd: ReturnType<typeof rankStats>; bwd: ReturnType<typeof rankStats> } | null;
}

/** The bench's model: the calibration's <kernel>@cp curves (else <kernel>) on the default H100 cluster, as cp-plan-cost.ts. */
export function benchModel(calibration: Calibration, kernel: string): { cluster: Cluster; kernels: KernelModel; cost: PlanCost } | null {
  const cluster = resolveCluster('h100', {}, calibratedGpus(calibration));
  const curve = [`${kernel}@cp`, kernel].find((k) => hasCurve(calibration, k, cluster.gpu));
  if (!curve) return null;
  const kernels = makeKernelModel(cluster, calibration, curve);
  return { cluster, kernels, cost: simPlanCost(cluster, kernels, { dtype: 'bfloat16' }) };
}

/** One line per (GPU, family, P, scheme) of the virtual-rank rows of `kernel` in `families`. */
export function choiceLines(rows: readonly ResultRow[], kernel: string, families: readonly string[], calibration: Calibration): ChoiceLine[] {
  const m = benchModel(calibration, kernel);
  if (!m) throw new Error(`no ${kernel}@cp or ${kernel} curve in the calibration`);
  const deps = { plan: planScheme, generate: rowMask };
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    if (!isCpMeasurement(r) || !isVirtualRanks(r) || r.kernel !== kernel || !families.includes(r.family) || !r.ranks?.length) continue;
    const key = [normalizeGpu(r.env.gpu!), r.family, r.world, r.scheme, r.seqlen, r.headsQ, r.headsKv, r.headDim].join('|');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ChoiceLine[] = [];
  for (const [key, rs] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    const [gpu, family, world, scheme] = key.split('|');
    const last = (d: string) => rs.filter((r) => r.direction === d).at(-1);
    const f = last('fwd');
    const b = last('bwd');
    const any = (f ?? b)!;
    const plan = planOfRow(any, deps);
    const sim = { fwd: m.cost(plan, 'fwd'), bwd: m.cost(plan, 'bwd') };
    const virt = (d: 'fwd' | 'bwd') => simulatePlan(plan, m.cluster, m.kernels, { direction: d, network: 'none', dtype: 'bfloat16' }).makespanMs;
    const { layout } = plan;
    let chosen: string | undefined;
    if (scheme === 'dispatch') {
      const g = rowMask(family, any.seqlen, any.seed, any.maskParams);
      const shape: CpShape = { headsQ: any.headsQ, headsKv: any.headsKv, headDim: any.headDim, dtypeBytes: 2 };
      chosen = JSON.stringify(planScheme('dispatch', g.heads[0], any.world, {}, shape, { cost: m.cost }).layout);
    }
    out.push({
      gpu, family, world: Number(world), scheme, layout: JSON.stringify(layout), chosen,
      sim, simVirtual: { fwd: virt('fwd'), bwd: virt('bwd') },
      measured: f && b ? { fwd: rankStats(f.ranks!.map((x) => x.ms)), bwd: rankStats(b.ranks!.map((x) => x.ms)) } : null,
    });
  }
  return out;
}

function main(argv: readonly string[]): void {
  const [kernel, ...files] = argv;
  if (!kernel || files.length === 0) throw new Error('usage: cp-choice.ts <kernel> <rows.jsonl>...');
  const families = (process.env.CP_CHOICE_FAMILIES ?? 'full,causal').split(',');
  const { calibration } = loadCalibration('results/sim/calibration.json');
  const rows = files.flatMap((f) => readJsonl<ResultRow>(f));
  const lines = choiceLines(rows, kernel, families, calibration!);
  const n = (x: number) => x.toFixed(2);
  const t = new Table({
    head: ['gpu', 'family', 'P', 'scheme', 'sim fwd | bwd | step', 'sim no-net step', 'meas slowest fwd | bwd | step', 'meas mean-rank fwd | bwd | step', 'rank spread fwd | bwd'],
    style: { head: [], border: [] },
  });
  for (const l of lines) {
    const me = l.measured;
    t.push([
      l.gpu, l.family, l.world, l.scheme + (l.chosen ? (l.chosen === l.layout ? ' (= choice now)' : ` (choice now: ${l.chosen})`) : ''),
      `${n(l.sim.fwd)} | ${n(l.sim.bwd)} | ${n(l.sim.fwd + l.sim.bwd)}`,
      n(l.simVirtual.fwd + l.simVirtual.bwd),
      me ? `${n(me.fwd.max)} | ${n(me.bwd.max)} | ${n(me.fwd.max + me.bwd.max)}` : '-',
      me ? `${n(me.fwd.mean)} | ${n(me.bwd.mean)} | ${n(me.fwd.mean + me.bwd.mean)}` : '-',
      me ? `${me.fwd.spreadPct.toFixed(1)}% | ${me.bwd.spreadPct.toFixed(1)}%` : '-',
    ]);
  }
  process.stdout.write(`${t.toString()}\nms per direction; sim: the cost dispatch minimises (${kernel} curves, default H100 cluster); rows: ${files.join(', ')}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
