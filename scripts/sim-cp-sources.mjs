#!/usr/bin/env node
// Issue 15: which CP rows the `<kernel>@cp` curves should be fitted on. For one set of calibration
// sources it prints what `sim validate` prints for the CP rows (leave one P out, leave one family
// out, per GPU), split by the executor the rows were measured with ("current": rows that note the
// host cover, e84c969 and later; "older": the rest), and the CP rows of the candidate files that
// are not among the sources, predicted by the calibration fitted on them (out of sample).
//
//   npm run build && node scripts/sim-cp-sources.mjs [SET...]     (sets below; default: all)
//   node scripts/sim-cp-sources.mjs pairs    flex rank times of configurations measured more than once
//
// ~10 s per set on one core. Reads dist/ (the built CLI's modules), writes nothing.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const dist = (m) => import(pathToFileURL(path.resolve('dist', m)).href);
const { loadRows } = await dist('sim/io.js');
const { observe, calibrate } = await dist('sim/calibrate.js');
const { cpObservations, cpLeaveGroupOut, cpKernelModel, validateCp } = await dist('sim/validate.js');
const { resolveCluster, normalizeGpu } = await dist('sim/hardware.js');
const { calibratedGpus } = await dist('sim/kernel-model.js');
const { rowMask, plan } = await dist('sim/sources.js');
const { summarizeErrs } = await dist('sim/holdout.js');

const KERNELS = ['results/h200/kernels/paper.jsonl', 'results/h200/kernels/repeat.jsonl', 'results/h100/kernels/paper.jsonl'];
// flex CP rows of the executor before 6705361 (2026-11-24 H100, 2026-12-01 H200); dev8k p4 / p8 hold full and causal only.
const DEV_SMALL = ['results/dev/cp/h100-small/virtual-p2.jsonl', 'results/dev/cp/h100-small/virtual-p4.jsonl'];
const DEV_8K = ['results/dev/cp/h100-8k/virtual8k-p2.jsonl', 'results/dev/cp/h100-8k/virtual8k-p4.jsonl', 'results/dev/cp/h100-8k/virtual8k-p8.jsonl'];
const DEV_8K_DENSE = DEV_8K.slice(1);
const H200_1201 = ['results/h200/cp/virtual-p2.jsonl', 'results/h200/cp/virtual-p4.jsonl', 'results/h200/cp/virtual-p8.jsonl'];
// triton_ranges CP rows, host cover on (the committed triton_ranges@cp sources).
const S8 = ['results/h200/cp/issue13-s8_cp_p8.jsonl', 'results/h200/cp/issue13-s8_cp_p4.jsonl'];
// call24 (flex and triton_ranges), 2026-12-06, current executor.
const H200_S9 = ['results/h200/cp/issue13-s9_kern_p4.jsonl', 'results/h200/cp/issue13-s9_kern_p8.jsonl'];
const H100_S9 = ['results/h100/cp/issue13-s9_kern_p4.jsonl', 'results/h100/cp/issue13-s9_kern_p8.jsonl'];
// call15, H100 2026-12-05 (769c36e): before the host cover and the joined copies (forwards carry host time).
const CP15 = ['results/h100/cp/issue13-cp15_p4.jsonl', 'results/h100/cp/issue13-cp15_p8.jsonl'];
// call31's same-loan runs (H100 2026-12-06, 3668279's row tables): flex with row tables in both
// directions (ATTNBENCH_FLEX_CP_MASK=rows, six plans per process) and the current defaults (forward
// predicate, backward row tables, two plans per process). Listed in this order, so a case both ran
// keeps the current-defaults row.
const S13_ROWS = ['results/h100/cp/issue13-s13_flexrows_p4.jsonl', 'results/h100/cp/issue13-s13_flexrows_p8.jsonl'];
const S13_AUTO = ['results/h100/cp/issue13-s13_flexauto_p8.jsonl'];
const sel = (files, s) => files.map((f) => `${f}#${s}`);

// Rows of one case id read later replace earlier ones (loadRows): call15 goes before call24 so that
// call24's row of a case measured by both is the one kept.
const SETS = {
  committed: [...KERNELS, ...DEV_SMALL, ...DEV_8K, ...H200_1201, ...S8], // 30c6648
  adopted: [...KERNELS, ...DEV_8K_DENSE, ...sel(CP15, 'kernel=flex,direction=bwd'), ...sel(H200_S9, 'kernel=flex'), ...sel(H100_S9, 'kernel=flex'), ...S8],
  'no-call15': [...KERNELS, ...DEV_8K_DENSE, ...sel(H200_S9, 'kernel=flex'), ...sel(H100_S9, 'kernel=flex'), ...S8],
  'call15-both-directions': [...KERNELS, ...DEV_8K_DENSE, ...sel(CP15, 'kernel=flex'), ...sel(H200_S9, 'kernel=flex'), ...sel(H100_S9, 'kernel=flex'), ...S8],
  'no-dense': [...KERNELS, ...sel(H200_S9, 'kernel=flex'), ...sel(H100_S9, 'kernel=flex'), ...S8],
  'h200-only': [...KERNELS, ...DEV_8K_DENSE, ...sel(H200_S9, 'kernel=flex'), ...S8],
  // flex@cp as the executor runs it since 3668279: forwards on the slice predicate (call24), backwards
  // on per-row key ranges (call31's s13 rows; the 2026-11-24 dense rows, whose executor used row
  // ranges too); the predicate backwards (call15, call24) out.
  'rows-bwd': [...KERNELS, ...DEV_8K_DENSE, ...sel(H200_S9, 'kernel=flex,direction=fwd'), ...sel(H100_S9, 'kernel=flex,direction=fwd'), ...sel(S13_ROWS, 'direction=bwd'), ...sel(S13_AUTO, 'direction=bwd'), ...S8],
  // the same with the dense rows' forwards out (forwards only from call24's predicate rows)
  'rows-bwd-no-dense-fwd': [...KERNELS, ...sel(DEV_8K_DENSE, 'direction=bwd'), ...sel(H200_S9, 'kernel=flex,direction=fwd'), ...sel(H100_S9, 'kernel=flex,direction=fwd'), ...sel(S13_ROWS, 'direction=bwd'), ...sel(S13_AUTO, 'direction=bwd'), ...S8],
  // the same as rows-bwd with the current-defaults forwards (s13_flexauto, predicate) in too
  'rows-bwd-auto-fwd': [...KERNELS, ...DEV_8K_DENSE, ...sel(H200_S9, 'kernel=flex,direction=fwd'), ...sel(H100_S9, 'kernel=flex,direction=fwd'), ...sel(S13_ROWS, 'direction=bwd'), ...S13_AUTO, ...S8],
  'older-and-current': [...KERNELS, ...DEV_SMALL, ...DEV_8K, ...H200_1201, ...sel(H200_S9, 'kernel=flex'), ...sel(H100_S9, 'kernel=flex'), ...S8],
};
const CANDIDATES = [...DEV_SMALL, ...DEV_8K, ...H200_1201, ...S8, ...H200_S9, ...H100_S9, ...CP15, ...S13_ROWS, ...S13_AUTO];

const quiet = () => {};
const out = (s) => process.stdout.write(`${s}\n`);
const fmt = (errs) => {
  const s = summarizeErrs(errs);
  return `n=${s.n} median ${s.medianAbsPct}% p90 ${s.p90AbsPct}% max ${s.maxAbsPct}%, too fast ${errs.filter((e) => e < 0).length}`;
};
const current = (r) => (r.notes ?? []).some((n) => /GPU sleep before each run/.test(n));
const plainCluster = (gpu) => resolveCluster(gpu, { gpu }, new Set());
const deps = { plan, generate: rowMask, clusterFor: plainCluster };
const kernelsFor = (cal, cluster, kernel) => cpKernelModel(cal, cluster, kernel);

async function report(name, files) {
  const rows = await loadRows(files, undefined, quiet);
  const obs = [...observe(rows, rowMask).observations, ...cpObservations(rows, deps).observations];
  const cal = calibrate(obs, {});
  out(`== ${name}: ${files.length} sources, ${rows.length} rows`);
  for (const c of cal.curves.filter((c) => c.kernel.endsWith('@cp')))
    out(`  ${c.kernel} ${c.direction}: slots ${c.slots}, c0 ${c.c0Ms.toFixed(3)} ms, ms/TFLOP full ${c.msPerTflopFull.toFixed(3)} partial ${c.msPerTflopPartial.toFixed(3)} empty ${c.msPerTflopEmpty.toFixed(3)}; rows fit/held ${c.fitRows}/${c.holdoutRows}, held-out |err| ${c.holdoutMedianAbsPct}%`);
  for (const axis of ['world', 'family']) {
    const preds = cpLeaveGroupOut(rows, obs, deps, kernelsFor, axis).flatMap((g) => g.predictions);
    const by = new Map();
    const add = (k, e) => by.set(k, [...(by.get(k) ?? []), e]);
    for (const p of preds) {
      const gpu = normalizeGpu(p.row.env.gpu);
      add(`${gpu} all`, p.errorPct);
      add(`${gpu} ${current(p.row) ? 'current' : 'older'} ${p.row.kernel} ${p.row.direction}`, p.errorPct);
    }
    out(`  leave one ${axis === 'world' ? 'P' : 'family'} out:`);
    for (const [k, e] of [...by].sort()) out(`    ${k}: ${fmt(e)}`);
  }
  const cluster = ((s) => (gpu) => resolveCluster(gpu, { gpu }, s))(calibratedGpus(cal));
  const oos = new Map();
  for (const f of CANDIDATES) {
    if (files.some((x) => x.split('#')[0] === f)) continue;
    const { predictions } = validateCp(await loadRows([f], undefined, quiet), { ...deps, clusterFor: cluster, kernelsFor: (c, k) => cpKernelModel(cal, c, k) });
    for (const p of predictions) {
      const k = `${normalizeGpu(p.row.env.gpu)} ${p.row.env.date.slice(0, 10)} ${p.row.kernel} ${p.row.direction}`;
      for (const key of [k, `${k} ${p.row.family}`]) oos.set(key, [...(oos.get(key) ?? []), p.errorPct]);
    }
  }
  if (oos.size) out('  candidate CP rows not among the sources, predicted (out of sample):');
  for (const [k, e] of [...oos].sort()) out(`    ${k}: ${fmt(e)}`);
}

// `pairs`: flex rank times (times.medianMs, ms) of one configuration (scheme, family, P, direction,
// layout) measured by several executor versions and GPUs.
async function pairs() {
  const cols = [
    ['H200 12-01 dfca44b', H200_1201],
    ['H200 12-05 04845e8', ['results/h200/cp/issue13-paper_cp_p8.jsonl']],
    ['H100 12-05 8fc6751', ['results/h100/cp/issue13-paper_cp_p8.jsonl'], '8fc6751'],
    ['H100 12-05 04845e8', ['results/h100/cp/issue13-paper_cp_p8.jsonl'], '04845e8'],
    ['H100 12-05 769c36e (call15)', CP15],
    ['H200 12-06 5feb5c2 (call24)', H200_S9],
    ['H100 12-06 7bdb56c (call24)', H100_S9],
  ];
  const table = new Map();
  cols.forEach(([, files, rev], i) => {
    for (const f of files)
      for (const r of readRows(f)) {
        if (r.kernel !== 'flex' || r.status !== 'ok' || (rev && !r.env.gitRev.startsWith(rev))) continue;
        const layout = Object.fromEntries(Object.entries(r.layout ?? {}).filter(([k]) => k !== 'virtualRanks').sort());
        const k = `${r.scheme} ${r.family} P=${r.world} ${r.direction} ${JSON.stringify(layout)}`;
        const row = table.get(k) ?? Array(cols.length).fill('-');
        row[i] = r.times.medianMs.toFixed(2);
        table.set(k, row);
      }
  });
  out(`| configuration | ${cols.map(([c]) => c).join(' | ')} |`);
  out(`|${' --- |'.repeat(cols.length + 1)}`);
  for (const [k, row] of [...table].sort()) if (row.filter((x) => x !== '-').length > 1) out(`| ${k} | ${row.join(' | ')} |`);
}
const readRows = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

const names = process.argv.slice(2);
if (names[0] === 'pairs') {
  await pairs();
  process.exit(0);
}
for (const n of names.length ? names : Object.keys(SETS)) {
  if (!SETS[n]) throw new Error(`unknown set ${n}; sets: ${Object.keys(SETS).join(', ')}`);
  await report(n, SETS[n]);
}
