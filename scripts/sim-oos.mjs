// Issue 15: an out-of-sample test of a calibration on result files it never saw. Needs `npm run build`.
//   node scripts/sim-oos.mjs [--calibration FILE] [--as PATH=CURVE]... [--over PCT] FILE...
// Each FILE is predicted on its own (two files may hold the same cases, e.g. an A/B of one knob),
// with the calibration as it is (default results/sim/calibration.json; nothing is refitted):
//   kernel rows: per (file, GPU, kernel path, direction) n, median / p90 / max |error|, the median
//     signed error; CP rows (world > 1) per (file, kernel, scheme, direction) the same;
//   every row whose |error| > --over (default 50%) with its launch as the model sees it: programs
//     (query tiles x heads), the curve's slots, waves, the bound that sets the time (waves, heaviest
//     program, key tile, memory, host floor), the launch constant c0 and the row's own p20-p80 spread.
// --as flex@coarse=flex predicts rows of one path with another path's curves (a diagnostic: what the
// other path's cost per block says about them), their rows marked "as flex".
import { loadCalibration, loadRows } from '../dist/sim/io.js';
import { computesEveryBlock, observe, pctError, validateKernels } from '../dist/sim/calibrate.js';
import { rowMask, plan as planCp } from '../dist/sim/sources.js';
import { curveCoefficients, curveKey, keyTileFeatures, launchFeatures, calibratedGpus } from '../dist/sim/kernel-model.js';
import { normalizeGpu, resolveCluster, smsOfClass, curveCoversGpu } from '../dist/sim/hardware.js';
import { quantileAbs } from '../dist/sim/holdout.js';
import { cpKernelModel, validateCp } from '../dist/sim/validate.js';

const args = process.argv.slice(2);
let calPath = 'results/sim/calibration.json';
let over = 50;
const as = new Map();
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--calibration') calPath = args[++i];
  else if (args[i] === '--over') over = Number(args[++i]);
  else if (args[i] === '--as') {
    const [a, b] = args[++i].split('=');
    as.set(a, b);
  } else files.push(args[i]);
}
if (!files.length) {
  console.error('usage: node scripts/sim-oos.mjs [--calibration FILE] [--as PATH=CURVE] [--over PCT] FILE...');
  process.exit(2);
}
const { calibration } = loadCalibration(calPath);
const calibrated = calibratedGpus(calibration);
const clusters = new Map();
const clusterFor = (gpu) => clusters.get(gpu) ?? clusters.set(gpu, resolveCluster(gpu, { gpu }, calibrated)).get(gpu);
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const f1 = (x) => (x === null || x === undefined ? '-' : x.toFixed(1));
const stats = (errs) => {
  const s = [...errs].sort((a, b) => a - b);
  return { n: errs.length, med: quantileAbs(errs, 0.5), p90: quantileAbs(errs, 0.9), max: Math.max(...errs.map(Math.abs)), signed: s[Math.floor((s.length - 1) / 2)] };
};
const line = (k, e) => {
  const s = stats(e);
  return `${k.padEnd(60)} n=${String(s.n).padStart(3)}  median ${f1(s.med).padStart(6)}%  p90 ${f1(s.p90).padStart(6)}%  max ${f1(s.max).padStart(6)}%  (signed median ${s.signed >= 0 ? '+' : ''}${f1(s.signed)}%)`;
};

/** The launch as the curve sees it: which bound sets the time. */
function launch(o, curveKernel) {
  const c = calibration.curves
    .filter((x) => x.kernel === curveKernel && x.direction === o.call.direction && x.dtype === o.call.dtype && curveCoversGpu(x.gpu, o.gpu))
    .sort((a, b) => Number(b.gpu === o.gpu) - Number(a.gpu === o.gpu))[0];
  if (!c) return null;
  const f = launchFeatures(o.call, c.slots, smsOfClass(c.gpu));
  const a = curveCoefficients(c, o.call);
  const one = (x) => (computesEveryBlock(curveKernel) ? [x[0], x[1], x[2] + x[3] + x[4], 0, 0] : x);
  const cand = { waves: dot(a, one(f.wave)), heavy: dot(a, one(f.heavy)) };
  if (c.keyTileBound) keyTileFeatures(o.call, c.slots, f.wave).forEach((x, i) => (cand[`keytile${i}`] = dot(a, x)));
  const cl = clusterFor(o.gpu);
  const mem = c.c0Ms + o.call.bytes / (cl.gpuSpec.memBandwidthGBps * 1e6 * cl.memEfficiency);
  let [bound, t] = Object.entries(cand).sort((x, y) => y[1] - x[1])[0];
  if (mem > t) [bound, t] = ['memory', mem];
  if (c.hostFloorMs !== undefined && c.hostFloorMs >= t) bound = `host floor ${c.hostFloorMs.toFixed(3)}`;
  const programs = o.call.profile.items * o.call.copies;
  return { programs, slots: c.slots, waves: Math.ceil(programs / c.slots - 1e-9), bound, c0: c.c0Ms };
}

const pooled = new Map();
const add = (k, e) => pooled.set(k, [...(pooled.get(k) ?? []), e]);
const bad = [];
console.log(`calibration: ${calPath} (${calibration.sources?.length ?? '?'} sources; not refitted)`);
for (const file of files) {
  const rows = await loadRows([file], undefined, (s) => console.error(s));
  const byId = new Map(rows.map((r) => [r.id + '|' + r.kernel + '|' + r.direction, r]));
  const { observations, skipped } = observe(rows, rowMask);
  for (const s of skipped) console.log(`  skipped ${s.id}: ${s.reason}`);
  const obs = observations.map((o) => (as.has(o.kernel) ? { ...o, kernel: as.get(o.kernel), asFrom: o.kernel } : o));
  const kp = validateKernels(calibration, obs, clusterFor);
  const groups = new Map();
  for (const p of kp) {
    const k = `${p.obs.gpu} ${p.obs.asFrom ? `${p.obs.asFrom} as ${p.obs.kernel}` : p.obs.kernel}${p.fallback ? ' (roofline)' : ''} ${p.obs.call.direction}`;
    groups.set(k, [...(groups.get(k) ?? []), p.errorPct]);
    add(`kernel ${k}`, p.errorPct);
    if (Math.abs(p.errorPct) > over) bad.push({ file, p, r: byId.get(p.obs.id + '|' + p.obs.kernel.split('@')[0] + '|' + p.obs.call.direction) });
  }
  const cp = validateCp(rows, { plan: planCp, generate: rowMask, clusterFor, kernelsFor: (cl, k) => cpKernelModel(calibration, cl, k) });
  for (const s of cp.skipped) console.log(`  skipped CP ${s.id}: ${s.reason}`);
  for (const p of cp.predictions) {
    const r = p.row;
    const k = `${normalizeGpu(r.env.gpu)} cp ${r.kernel}${p.fallback ? ' (roofline)' : ''} ${r.scheme} ${r.direction}`;
    groups.set(k, [...(groups.get(k) ?? []), p.errorPct]);
    add(`cp ${normalizeGpu(r.env.gpu)} ${r.kernel} P=${r.world} ${r.direction}`, p.errorPct);
    if (Math.abs(p.errorPct) > over) bad.push({ file, cp: p });
  }
  console.log(`\n${file}: ${kp.length} kernel rows, ${cp.predictions.length} CP rows`);
  for (const [k, e] of [...groups].sort()) console.log(`  ${line(k, e)}`);
}
console.log('\npooled over the files');
for (const [k, e] of [...pooled].sort()) console.log(`  ${line(k, e)}`);
console.log(`\nrows off by more than ${over}%`);
for (const b of bad) {
  if (b.cp) {
    const r = b.cp.row;
    console.log(`  ${b.file.split('/').pop()} cp ${r.kernel} ${r.scheme} ${r.family} S=${r.seqlen} P=${r.world} ${r.direction}: measured ${r.times.medianMs.toPrecision(4)} predicted ${b.cp.predictedMs.toPrecision(4)} ms (${b.cp.errorPct >= 0 ? '+' : ''}${b.cp.errorPct.toFixed(1)}%)`);
    continue;
  }
  const { p, r } = b;
  const o = p.obs;
  const l = p.fallback ? null : launch(o, o.kernel);
  const params = r?.maskParams && Object.keys(r.maskParams).length ? ` ${JSON.stringify(r.maskParams)}` : '';
  const spread = o.spreadPct === undefined ? '-' : o.spreadPct.toFixed(1);
  console.log(
    `  ${b.file.split('/').pop()} ${o.asFrom ? `${o.asFrom} as ` : ''}${o.kernel} ${o.family}${params} S=${o.seqlen} ${o.headsQ}:${o.headsKv} ${o.call.direction}: measured ${o.ms.toPrecision(4)} predicted ${p.predictedMs.toPrecision(4)} ms (${p.errorPct >= 0 ? '+' : ''}${p.errorPct.toFixed(1)}%), spread ${spread}%` +
      (l ? `; programs ${l.programs} on ${l.slots} slots = ${l.waves} wave(s), bound ${l.bound}, c0 ${l.c0.toFixed(4)} ms` : p.fallback ? '; roofline (no curve)' : ''),
  );
}
