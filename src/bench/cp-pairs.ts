// dispatch on full / causal: what a forward of one borrowed plan with the backward of another
// (pattern=<f>_<b>, the backward re-creating its head shards, in the backward or prefetched) would
// gain under a calibrated simulator model (issue 14, docs/cp.md). Prints one JSON line per P:
// the plan the cost choice takes, the single plans, the "ideal" (best single forward + best single
// backward at no cost) and the best pair of each form, as simulated step times (ms).
//   npm run build && node dist/bench/cp-pairs.js h100 flex causal 16 32
//   (GPU, curves of results/sim/calibration.json, family, world sizes; 8k tokens per GPU, 64:8 heads, d = 128, bf16)
import { pathToFileURL } from 'node:url';
import { generateMask } from '../mask/families/index.js';
import { planCp, sharedMask } from '../cp/plan/index.js';
import { simPlanCost } from '../cp/plan/plan-cost.js';
import type { CpLayout, CpShape, PlanCost } from '../cp/types.js';
import { AttnbenchError } from '../errors.js';
import { resolveCluster } from '../sim/hardware.js';
import { calibratedGpus, makeKernelModel } from '../sim/kernel-model.js';
import { loadCalibration } from '../sim/io.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };
const BORROWED = ['ring', 'usp', 'ulysses', 'allgather'];

interface Row {
  readonly name: string;
  readonly layout: string;
  readonly fwd: number;
  readonly bwd: number;
}

export function pairRows(family: string, P: number, cost: PlanCost, tokensPerRank = 8192): Row[] {
  const mask = sharedMask(generateMask(family, tokensPerRank * P, { seed: 0 }));
  const rows: Row[] = [];
  const add = (name: string, layout: CpLayout) => {
    try {
      const p = planCp('dispatch', mask, P, layout, SHAPE, { cost });
      rows.push({ name, layout: JSON.stringify(p.layout), fwd: cost(p, 'fwd'), bwd: cost(p, 'bwd') });
    } catch (e) {
      if (!(e instanceof AttnbenchError)) throw e; // not plannable here (e.g. ulysses past the heads)
    }
  };
  add('chosen', {});
  for (const x of ['own', ...BORROWED]) add(x, { pattern: x });
  for (const f of BORROWED)
    for (const b of BORROWED) {
      if (f === b) continue;
      add(`${f}_${b}`, { pattern: `${f}_${b}` });
      if (b !== 'allgather') add(`${f}_${b},prefetch`, { pattern: `${f}_${b}`, prefetch: 1 });
    }
  return rows;
}

export function summarize(rows: readonly Row[]) {
  const step = (r: Row) => r.fwd + r.bwd;
  const best = (rs: readonly Row[]) => rs.reduce((a, r) => (step(r) < step(a) ? r : a));
  const chosen = rows.find((r) => r.name === 'chosen')!;
  const singles = rows.filter((r) => r.name !== 'chosen' && !r.name.includes('_'));
  const ideal = Math.min(...singles.map((r) => r.fwd)) + Math.min(...singles.map((r) => r.bwd));
  const inBwd = best(rows.filter((r) => r.name.includes('_') && !r.name.endsWith(',prefetch')));
  const pre = best(rows.filter((r) => r.name.endsWith(',prefetch')));
  const pct = (x: number) => +((x / step(chosen) - 1) * 100).toFixed(2);
  return {
    chosen: { layout: chosen.layout, step: step(chosen) },
    ideal: { step: ideal, pct: pct(ideal) },
    pair: { name: inBwd.name, step: step(inBwd), pct: pct(step(inBwd)) },
    prefetched: { name: pre.name, step: step(pre), pct: pct(step(pre)) },
    singles: singles.map((r) => ({ name: r.name, fwd: r.fwd, bwd: r.bwd })),
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const [gpu, kernel, family, ...ps] = argv;
  if (!gpu || !kernel || !family || ps.length === 0) throw new Error('usage: cp-pairs.js <gpu> <kernel curves> <family> <P>...');
  const { calibration } = loadCalibration('results/sim/calibration.json');
  const cluster = resolveCluster(gpu, {}, calibratedGpus(calibration));
  const cost = simPlanCost(cluster, makeKernelModel(cluster, calibration, kernel), { dtype: 'bfloat16' });
  for (const P of ps.map(Number)) process.stdout.write(`${JSON.stringify({ gpu, kernel, family, P, ...summarize(pairRows(family, P, cost)) })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
