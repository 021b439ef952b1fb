// Issue 15: why few-program launches (one wave, or bound by their heaviest program) miss with their
// heads configuration held out (docs/simulator-record.md "Few-program launches with their heads held
// out"). Needs `npm run build`. Pool as scripts/sim-heads-rows.mjs.
//   node scripts/sim-fewprog.mjs swap h100 [min |error| %]   per held-out few-program row: the held-out
//     curve's error, the in-sample one, and the held-out curve with the in-sample slots, with the
//     in-sample c0 + aProg, with the in-sample block costs; c0 + SMs x aProg (the fixed part of a
//     launch of one program per SM) held out / in-sample
//   node scripts/sim-fewprog.mjs occ '[["h100","sdpa_flash","fwd","16:2",1024,"causal"]]'   per row:
//     the held-out training loss (rms log error) and prediction at each programs-per-SM option
import { existsSync } from 'node:fs';
import { loadRows } from '../dist/sim/io.js';
import * as C from '../dist/sim/calibrate.js';
import { rowMask } from '../dist/sim/sources.js';
import { curveMs, launchFeatures, curveCoefficients } from '../dist/sim/kernel-model.js';
import { smsOfClass } from '../dist/sim/hardware.js';

const [mode, arg, minArg] = process.argv.slice(2);
const calFile = (g) => (existsSync(`results/${g}/kernels/calibrate-s16.jsonl`) ? `results/${g}/kernels/calibrate-s16.jsonl` : `results/${g}/kernels/calibrate.jsonl`);
const FILES = ['results/h200/kernels/paper.jsonl', 'results/h200/kernels/repeat.jsonl', 'results/h100/kernels/paper.jsonl', calFile('h100'), calFile('h200')];
const rows = await loadRows(FILES, undefined, () => {});
const obs = C.observe(rows, rowMask).observations;
const headsOf = (o) => `${o.headsQ}:${o.headsKv}`;
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const key = (c) => `${c.gpu}|${c.kernel}|${c.direction}|${c.dtype}`;
const asCurve = (c) => ({ ...c, fitRows: 0, fitMedianAbsPct: 0, holdoutRows: 0, holdoutMedianAbsPct: null });

if (mode === 'swap') {
  const sel = obs.filter((o) => o.gpu === arg);
  const out = [];
  for (const h of [...new Set(sel.map(headsOf))].sort()) {
    const targets = sel.filter((o) => headsOf(o) === h);
    const keys = new Set(targets.map(C.groupKey));
    const pool = obs.filter((o) => keys.has(C.groupKey(o)));
    const cal = C.calibrate(pool, {}, (o) => headsOf(o) !== h);
    const inS = C.calibrate(pool, {}, () => true);
    for (const o of targets) {
      const c = cal.curves.find((x) => key(x) === C.groupKey(o));
      const ci = inS.curves.find((x) => key(x) === C.groupKey(o));
      if (!c || !ci || /@varlen$/.test(o.kernel)) continue;
      const n = o.call.profile.items * o.call.copies;
      const sms = smsOfClass(c.gpu);
      const f = launchFeatures(o.call, c.slots, sms);
      const a = curveCoefficients(c, o.call);
      const heavy = dot(a, f.heavy) > dot(a, f.wave);
      if (!(heavy || n <= c.slots)) continue;
      const e = (cc) => C.pctError(curveMs(cc, o.call), o.ms);
      const block = o.call.profile.block && o.call.profile.block < 128 ? ' b64' : '';
      out.push({
        name: `${o.kernel} ${o.call.direction} ${h} ${o.seqlen} ${o.family}${block}`, n, slots: `${c.slots}/${ci.slots}`, bound: heavy ? 'heavy' : 'one wave', ms: o.ms,
        out: e(c), inS: e(ci), swSlots: e({ ...c, slots: ci.slots }), swC0: e({ ...c, c0Ms: ci.c0Ms, msPerProgram: ci.msPerProgram }),
        swWork: e({ ...c, msPerTflopFull: ci.msPerTflopFull, msPerTflopPartial: ci.msPerTflopPartial, msPerTflopEmpty: ci.msPerTflopEmpty }),
        fixed: `${(c.c0Ms + sms * c.msPerProgram).toFixed(4)}/${(ci.c0Ms + sms * ci.msPerProgram).toFixed(4)}`,
      });
    }
  }
  out.sort((x, y) => Math.abs(y.out) - Math.abs(x.out));
  const min = Number(minArg ?? 15);
  console.log(`${arg} few-program rows (one wave or heavy-bound; nested host paths left out) with heads held out, |error| >= ${min}%:`);
  console.log('row | programs | slots out/in | bound | ms | held out | in-sample | out, in slots | out, in c0+aProg | out, in block costs | c0+SMs*aProg out/in ms');
  for (const x of out) if (Math.abs(x.out) >= min) console.log([x.name, x.n, x.slots, x.bound, x.ms.toFixed(4), ...[x.out, x.inS, x.swSlots, x.swC0, x.swWork].map((v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`), x.fixed].join(' | '));
  const q = (v, p) => { const s = v.map(Math.abs).sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  for (const k of ['out', 'inS', 'swSlots', 'swC0', 'swWork']) console.log(`${k}: n ${out.length} median ${q(out.map((x) => x[k]), 0.5).toFixed(1)}% p90 ${q(out.map((x) => x[k]), 0.9).toFixed(1)}% mean signed ${(out.reduce((s, x) => s + x[k], 0) / out.length).toFixed(1)}%`);
} else if (mode === 'occ') {
  const OCC = C.OCCUPANCIES;
  const all = [...OCC];
  for (const [gpu, k, d, h, s, f] of JSON.parse(arg)) {
    const o = obs.find((x) => x.gpu === gpu && x.kernel === k && x.call.direction === d && headsOf(x) === h && x.seqlen === s && x.family === f);
    const tr = obs.filter((x) => C.groupKey(x) === C.groupKey(o) && headsOf(x) !== h);
    const sms = smsOfClass(o.gpu);
    const cap = C.chooseLaunchCap(tr, sms);
    const w = tr.reduce((a, x) => a + C.rowWeight(x), 0);
    let line = `${gpu} ${k} ${d} ${h} ${s} ${f} (${tr.length} training rows, launch cap ${cap} ms):`;
    for (const occ of all) {
      OCC.splice(0, OCC.length, occ); // the fit tries this programs-per-SM option alone
      const fit = C.fitHostFloor(tr, sms, cap);
      const c = asCurve(fit.curve);
      line += ` k=${occ}: rms ${(100 * Math.sqrt(fit.loss / w)).toFixed(2)}%, ${C.pctError(curveMs(c, o.call), o.ms).toFixed(1)}%, c0 ${c.c0Ms.toFixed(4)};`;
    }
    OCC.splice(0, OCC.length, ...all);
    console.log(line);
  }
} else {
  console.error('usage: node scripts/sim-fewprog.mjs swap GPU [min%] | occ JSON');
  process.exit(2);
}
