// Per-rank compute of one simulated CP plan on the paper-cp preset, and the attention steps of its
// slowest, median and fastest forward ranks with the kernel model's time for each (sim run keeps
// per-rank entries only up to 128 ranks). Run after `npm run build`:
//   NODE_OPTIONS=--max-old-space-size=8192 node scripts/sim-rank-spread.mjs [family] [P] [kernel curve] [scheme] [layout JSON]
//   e.g. node scripts/sim-rank-spread.mjs causal_document 1024 flex dispatch
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const D = path.join(root, 'dist');
const { resolveCluster } = await import(`${D}/sim/hardware.js`);
const { calibratedGpus, kernelCall, makeKernelModel } = await import(`${D}/sim/kernel-model.js`);
const { familyMask, plan: planCp } = await import(`${D}/sim/sources.js`);
const { simPlanCost } = await import(`${D}/cp/plan/plan-cost.js`);
const { PairsCache, simulatePlan } = await import(`${D}/sim/simulate.js`);
const { CP_PRESETS, defaultLayout } = await import(`${D}/sim/project.js`);

const [, , family = 'causal_document', worldArg = '1024', kernel = 'flex', scheme = 'dispatch', extra = '{}'] = process.argv;
const P = Number(worldArg);
const cal = JSON.parse(fs.readFileSync(path.join(root, 'results/sim/calibration.json'), 'utf8'));
const preset = CP_PRESETS['paper-cp'];
const cluster = resolveCluster('h100', {}, calibratedGpus(cal));
const kernels = makeKernelModel(cluster, cal, kernel);
const mask = familyMask(family, preset.tokensPerGpu * P, preset.seed).heads[0];
const layout = { ...defaultLayout(scheme, P, preset.shape), ...JSON.parse(extra) };
const plan = planCp(scheme, mask, P, layout, preset.shape, { cost: simPlanCost(cluster, kernels, { dtype: preset.dtype, overlap: true }) });
const cache = new PairsCache();
const { headsQ, headsKv, headDim } = preset.shape;
for (const direction of ['fwd', 'bwd']) {
  const r = simulatePlan(plan, cluster, kernels, { direction, overlap: true, dtype: preset.dtype }, cache);
  const c = r.ranks.map((x) => x.computeMs).sort((a, b) => a - b);
  const meanF = r.ranks.reduce((a, x) => a + x.flops, 0) / P;
  const at = (q) => c[Math.min(P - 1, Math.floor(q * P))].toFixed(2);
  console.log(`${scheme} ${family} P=${P} ${direction} (${kernel}): ${r.tflopsPerGpu.toFixed(1)} TFLOP/s per GPU, makespan ${r.makespanMs.toFixed(2)} ms; ` +
    `compute per rank min / median / p90 / max ${at(0)} / ${at(0.5)} / ${at(0.9)} / ${c[P - 1].toFixed(2)} ms; FLOPs max / mean ${(Math.max(...r.ranks.map((x) => x.flops)) / meanF).toFixed(3)}`);
  if (direction !== 'fwd') continue;
  const by = [...r.ranks].sort((a, b) => b.computeMs - a.computeMs);
  for (const [what, s] of [['slowest', by[0]], ['median', by[Math.floor(P / 2)]], ['fastest', by[P - 1]]]) {
    console.log(`  ${what} rank ${s.rank}: compute ${s.computeMs.toFixed(2)} ms, FLOPs / mean ${(s.flops / meanF).toFixed(3)}`);
    for (const st of plan.ranks[s.rank].forward) {
      if (st.kind !== 'attn') continue;
      const heads = st.heads.end - st.heads.start;
      const pr = kernels.predict(kernelCall(cache.get(st.mask), heads, headDim, 'fwd', preset.dtype, st.flops, Math.max(1, Math.ceil((heads * headsKv) / headsQ))));
      console.log(`    attention ${st.mask.seqlenQ} queries x ${st.mask.seqlenK} keys, ${st.mask.slices.length} slices: ${(st.flops / 1e12).toFixed(3)} TFLOP -> ${pr.ms.toFixed(2)} ms (${(st.flops / pr.ms / 1e9).toFixed(0)} TFLOP/s)`);
    }
  }
}
