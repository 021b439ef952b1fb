// Issue 15: the rows behind the kernel model's leave-one-heads-out tail (docs/simulator.md
// "Leave one heads out: the rows that make p90 and max"). Needs `npm run build`.
//   node scripts/sim-heads-rows.mjs [gpu] [min |error| %]     (defaults: h200, the group's p90)
// Pool = the kernel rows of scripts/sim-refit.sh (calibration sources + both calibrate files); each
// heads configuration is held out in turn, the curves refitted without it (as `sim validate`), and
// every held-out prediction at or above the threshold is printed with the launch as the model sees
// it: programs (query tiles x query heads), the curve's slots (SMs x programs per SM), waves, the
// bound that sets the time (waves, heaviest program, key tile, memory, host floor) and its cause.
import { existsSync } from 'node:fs';
import { loadRows } from '../dist/sim/io.js';
import { calibrate, groupKey, observe, pctError, computesEveryBlock, nestedPath } from '../dist/sim/calibrate.js';
import { rowMask } from '../dist/sim/sources.js';
import { curveCoefficients, curveMs, keyTileFeatures, launchFeatures } from '../dist/sim/kernel-model.js';
import { smsOfClass } from '../dist/sim/hardware.js';
import { quantileAbs } from '../dist/sim/holdout.js';

const gpu = process.argv[2] ?? 'h200';
// Per GPU the newest calibrate rows, as scripts/sim-refit.sh: calibrate-s16.jsonl where it exists.
const calFile = (g) => (existsSync(`results/${g}/kernels/calibrate-s16.jsonl`) ? `results/${g}/kernels/calibrate-s16.jsonl` : `results/${g}/kernels/calibrate.jsonl`);
// The H200's nested rows measured again at GPU time replace its old-timing ones (scripts/sim-refit.sh, NESTED_OLD).
const NESTED_S16 = 'results/h200/kernels/paper-nested-s16.jsonl';
const remeasured = existsSync(NESTED_S16);
const nestedOld = remeasured ? '#path!=sdpa_flash@varlen,path!=sdpa_efficient@varlen,path!=sdpa_cudnn@varlen' : '';
const FLEX_SLICES_S19 = 'results/h200/kernels/paper-flexslices-s19.jsonl';
const FILES = [
  `results/h200/kernels/paper.jsonl${nestedOld}`, `results/h200/kernels/repeat.jsonl${nestedOld}`, 'results/h100/kernels/paper.jsonl',
  calFile('h100'), calFile('h200'),
  ...(remeasured ? [NESTED_S16] : []),
  // flex@slices at 1k / 2k with the cover on, read after paper.jsonl: replaces the uncovered rows of its cases (scripts/sim-refit.sh)
  ...(existsSync(FLEX_SLICES_S19) ? [FLEX_SLICES_S19] : []),
  // seventeenth session's H100 rows that are calibration sources (scripts/sim-refit.sh)
  ...['sparse64-heads-s17', 'fewprog-s17'].flatMap((f) => ['triton_blocksparse', 'flex'].map((k) => `results/h100/kernels/${f}.jsonl#kernel=${k}`)),
];
const rows = await loadRows(FILES, undefined, () => {});
const obs = observe(rows, rowMask).observations;
const headsOf = (o) => `${o.headsQ}:${o.headsKv}`;
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const sel = obs.filter((o) => o.gpu === gpu);
const preds = [];
for (const h of [...new Set(sel.map(headsOf))].sort()) {
  const targets = sel.filter((o) => headsOf(o) === h);
  const keys = new Set(targets.map(groupKey));
  const pool = obs.filter((o) => keys.has(groupKey(o)));
  const cal = calibrate(pool, {}, (o) => headsOf(o) !== h);
  const inS = calibrate(pool, {}, () => true);
  const find = (c, o) => c.curves.find((x) => `${x.gpu}|${x.kernel}|${x.direction}|${x.dtype}` === groupKey(o));
  for (const o of targets) {
    const c = find(cal, o);
    if (!c) continue;
    const p = curveMs(c, o.call);
    const own = find(inS, o);
    const sms = smsOfClass(c.gpu);
    const f = launchFeatures(o.call, c.slots, sms);
    const a = curveCoefficients(c, o.call);
    const dense = computesEveryBlock(o.kernel);
    const one = (x) => (dense ? [x[0], x[1], x[2] + x[3] + x[4], 0, 0] : x);
    const cand = { waves: dot(a, one(f.wave)), heavy: dot(a, one(f.heavy)) };
    if (c.keyTileBound) keyTileFeatures(o.call, c.slots, f.wave).forEach((x, i) => (cand[`keytile${i}`] = dot(a, x)));
    let bound = Object.entries(cand).sort((x, y) => y[1] - x[1])[0][0];
    if (c.hostFloorMs !== undefined && c.hostFloorMs >= p - 1e-9) bound = `host floor ${c.hostFloorMs.toFixed(2)}`;
    const programs = o.call.profile.items * o.call.copies;
    preds.push({
      o, h, p, err: pctError(p, o.ms), inErr: own ? pctError(curveMs(own, o.call), o.ms) : null,
      programs, slots: c.slots, waves: Math.ceil(programs / c.slots - 1e-9), bound, c0: c.c0Ms,
    });
  }
}
// The cause a row's error is filed under (first rule that matches; docs/simulator.md has the evidence).
function cause(x) {
  const o = x.o;
  const r = rows.find((r) => r.id === o.id);
  if (nestedPath(o.kernel)) return 'host-bound path (nested tensors)';
  if (o.family === 'block_sparse' && r?.maskParams?.block === 64) return 'block_sparse 64-blocks (4:4 only)';
  if (o.seqlen >= 1 << 20) return '1M rows (4:1 only)';
  if (o.seqlen <= 2048 && x.err < 0) return 'per-launch time at <= 2k (measured above the model)';
  if (x.bound === 'heavy' || x.waves === 1) return 'few-program launch (one wave: heaviest program bound)';
  if (o.kernel === 'triton_ranges') return 'kernel with few rows (triton_ranges)';
  return 'other (64:8 held out: the curve extrapolates from the small heads)';
}
for (const x of preds) x.cause = cause(x);
const errs = preds.map((x) => x.err);
const p90 = quantileAbs(errs, 0.9);
const min = process.argv[3] !== undefined ? Number(process.argv[3]) : p90;
console.log(`${gpu} leave one heads out: n=${errs.length} median ${quantileAbs(errs, 0.5).toFixed(1)}% p90 ${p90.toFixed(1)}% max ${Math.max(...errs.map(Math.abs)).toFixed(1)}%; rows with |error| >= ${min.toFixed(1)}%:`);
const top = preds.filter((x) => Math.abs(x.err) >= p90 - 1e-9);
const causes = [...new Set(preds.map((x) => x.cause))].sort();
console.log(`rows at or above the p90 (${top.length}) by cause; the group's figures without that cause's rows:`);
for (const c of causes) {
  if (c.startsWith('other')) console.log(`  ${c}: ${top.filter((x) => x.cause === c).length} rows`);
  const rest = preds.filter((x) => x.cause !== c).map((x) => x.err);
  const n = top.filter((x) => x.cause === c).length;
  if (n && !c.startsWith('other')) console.log(`  ${c}: ${n} rows (max ${Math.max(...top.filter((x) => x.cause === c).map((x) => Math.abs(x.err))).toFixed(1)}%); without them (n=${rest.length}): median ${quantileAbs(rest, 0.5).toFixed(1)}% p90 ${quantileAbs(rest, 0.9).toFixed(1)}% max ${Math.max(...rest.map(Math.abs)).toFixed(1)}%`);
}
console.log('error | kernel@path | dir | heads | S | family (params) | programs / slots (waves) | measured -> predicted ms | bound | in-sample | spread | cause');
const fmtS = (s) => (s % 1024 === 0 ? `${s / 1024}k` : String(s));
for (const x of preds.filter((x) => Math.abs(x.err) >= min - 1e-9).sort((a, b) => Math.abs(b.err) - Math.abs(a.err))) {
  const o = x.o;
  const r = rows.find((r) => r.id === o.id);
  const params = r && Object.keys(r.maskParams ?? {}).length ? ` ${JSON.stringify(r.maskParams)}` : '';
  const sg = (v) => (v === null ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`);
  console.log([sg(x.err), o.kernel, o.call.direction, x.h, fmtS(o.seqlen), o.family + params, `${x.programs} / ${x.slots} (${x.waves})`,
    `${o.ms.toPrecision(3)} -> ${x.p.toPrecision(3)}`, x.bound, sg(x.inErr), o.spreadPct === undefined ? '-' : `${o.spreadPct.toFixed(0)}%`, x.cause].join(' | '));
}
