// Forms of flex's backward bound by its key-tile (dK/dV) programs, refitted on the flex backward
// rows alone (issue 15; docs/simulator.md "terms tried"). Needs `npm run build`.
//   node scripts/sim-flex-bwd-variants.mjs [variant ...]
// Variants: base (no key-tile bound: the model before 42b608a); col (the heaviest key tiles at the
// full cost of each block); col47 (4/7 of each block); colponly (their partial blocks only); kv (4/7
// of each block + the partial surcharge, as kept); a trailing 'z' starts the program after
// (1 - 1/KV heads) of the launch's waves (grid order; kept). Each variant is fitted as sim calibrate
// fits a plain path (programs per SM 1-4, launch-constant cap, row weights) on the H100 + H200 flex
// backward rows, and the H200 rows are predicted in-sample and with their S range or family held out.
import { loadRows } from '../dist/sim/io.js';
import { LAUNCH_CAPS, LAUNCH_CAP_TOLERANCE, observe, rowWeight, seqlenRange } from '../dist/sim/calibrate.js';
import { rowMask } from '../dist/sim/sources.js';
import { launchFeatures } from '../dist/sim/kernel-model.js';
import { fitCurve } from '../dist/sim/fit.js';

const FILES = ['results/h200/kernels/paper.jsonl', 'results/h200/kernels/repeat.jsonl', 'results/h100/kernels/paper.jsonl'];
const SMS = 132;
const rows = await loadRows(FILES, undefined, () => {});
const obs = observe(rows, rowMask).observations.filter((o) => o.kernel === 'flex' && o.call.direction === 'bwd');
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

function features(o, slots, v) {
  const f = launchFeatures(o.call, slots);
  const bounds = [f.heavy];
  if (v === 'base') return { wave: f.wave, bounds };
  const kt = o.call.profile.keyTiles();
  const group = o.headsQ / o.headsKv;
  const pp = o.call.flopsPerPair / 1e12;
  const before = v.endsWith('z') ? 1 - 1 / o.headsKv : 0;
  const form = v.replace(/z$/, '');
  for (const c of [kt.heaviest, kt.mostPartial]) {
    const [full, part] =
      form === 'kv' ? [(4 / 7) * (c.full + c.partial) - c.partial, c.partial]
      : form === 'col47' ? [(4 / 7) * c.full, (4 / 7) * c.partial]
      : form === 'colponly' ? [0, c.partial]
      : [c.full, c.partial];
    bounds.push([1, before * f.wave[1] + slots, before * f.wave[2] + slots * group * pp * full, before * f.wave[3] + slots * group * pp * part, before * f.wave[4]]);
  }
  return { wave: f.wave, bounds };
}

const predict = (c, o) => Math.max(...[features(o, c.slots, c.v).wave, ...features(o, c.slots, c.v).bounds].map((x) => dot(c.b, x)));

function fitOnce(train, v, cap) {
  let best = null;
  for (const occ of [1, 2, 3, 4]) {
    const slots = SMS * occ;
    const F = train.map((o) => features(o, slots, v));
    const sample = (xs) => train.map((o, i) => ({ x: xs[i], ms: o.ms, weight: rowWeight(o) }));
    let xs = F.map((f) => f.wave);
    let opt = {};
    let fit = fitCurve(sample(xs));
    if (fit.beta[0] > cap) {
      opt = { noConstant: true, offset: cap };
      fit = fitCurve(sample(xs), opt);
    }
    for (let it = 0; it < 2; it++) {
      const b = fit.beta.map((x) => (Number.isNaN(x) ? 0 : x));
      const next = F.map((f) => f.bounds.reduce((x, y) => (dot(b, y) > dot(b, x) ? y : x), f.wave));
      if (next.every((x, i) => x === xs[i])) break;
      xs = next;
      fit = fitCurve(sample(xs), opt);
    }
    const b = fit.beta.map((x, i) => (fit.used[i] && !Number.isNaN(x) ? x : 0));
    if (opt.noConstant) b[0] = cap;
    const c = { v, slots, b };
    const loss = train.reduce((s, o) => s + rowWeight(o) * Math.log(predict(c, o) / o.ms) ** 2, 0);
    if (!best || loss < best.loss) best = { ...c, loss };
  }
  return best;
}

function fit(train, v) {
  // As chooseLaunchCap: the smallest cap whose loss is within the free fit's + tolerance^2 per row.
  const free = fitOnce(train, v, Infinity);
  const limit = free.loss + train.reduce((s, o) => s + rowWeight(o), 0) * LAUNCH_CAP_TOLERANCE ** 2 + 1e-12;
  let best = free;
  for (const cap of LAUNCH_CAPS) if (cap < Infinity) {
    const f = fitOnce(train, v, cap);
    if (f.loss <= limit) best = f;
  }
  return best;
}

const q = (a, p) => a[Math.min(a.length - 1, Math.ceil(p * a.length) - 1)];
const line = (errs) => {
  const a = errs.map(Math.abs).sort((x, y) => x - y);
  return `n=${a.length} median ${q(a, 0.5).toFixed(1)}%, p90 ${q(a, 0.9).toFixed(1)}%, max ${a.at(-1).toFixed(1)}%`;
};
const err = (c, o) => ((predict(c, o) - o.ms) / o.ms) * 100;
const h200 = obs.filter((o) => o.gpu === 'h200');
for (const v of process.argv.slice(2).length ? process.argv.slice(2) : ['base', 'col', 'col47', 'colponly', 'kv', 'colz', 'col47z', 'colponlyz', 'kvz']) {
  const all = fit(obs, v);
  const held = [];
  for (const [axis, key] of [['S range', (o) => seqlenRange(o.seqlen)], ['family', (o) => o.family]]) {
    for (const g of new Set(h200.map(key))) {
      const c = fit(obs.filter((o) => key(o) !== g), v);
      for (const o of h200.filter((o) => key(o) === g)) held.push({ o, e: err(c, o), why: `${axis} ${g}` });
    }
  }
  held.sort((a, b) => Math.abs(b.e) - Math.abs(a.e));
  console.log(`${v}: in-sample ${line(h200.map((o) => err(all, o)))}; held out ${line(held.map((h) => h.e))}`);
  console.log(`  worst held out: ${held.slice(0, 3).map((h) => `${h.o.family} ${h.o.seqlen / 1024}k ${h.e >= 0 ? '+' : ''}${h.e.toFixed(1)}% (${h.why})`).join('; ')}`);
}
