// Issue 15: does adding result files to the calibration's sources help the held-out figures? Needs
// `npm run build`.
//   node scripts/sim-pool-ab.mjs [--calibrate] [--gpu h200] [--drop SOURCE]... EXTRA...
// Pool A = the kernel sources of scripts/sim-refit.sh (its BASE list, less each --drop SOURCE, spelt
// as there; --calibrate: plus both results/<gpu>/kernels/calibrate.jsonl, the README's "heads held
// out, pooled" figure), pool B = A + EXTRA + the dropped sources (same `FILE#key=value` selections
// as `sim validate --in`): --drop tests sources BASE already has against BASE without them. For the GPU's rows, each heads /
// S range / family group is held out in turn and refitted without it (as `sim validate`); the figures
// are printed for A, for B, and for the rows both could predict (B may predict rows A could not: a
// curve with too few rows outside a group in A can have enough in B, which changes n), per axis and
// pooled. CP groups are not computed here (`sim validate` prints them).
import fs from 'node:fs';
import { loadRows } from '../dist/sim/io.js';
import { observe } from '../dist/sim/calibrate.js';
import { rowMask } from '../dist/sim/sources.js';
import { axisValue, hashHoldout, leaveGroupOut, summarizeGroup } from '../dist/sim/holdout.js';

const args = process.argv.slice(2);
let gpu = 'h200';
let withCal = false;
const extra = [];
const drop = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--gpu') gpu = args[++i];
  else if (args[i] === '--calibrate') withCal = true;
  else if (args[i] === '--drop') drop.push(args[++i]);
  else extra.push(args[i]);
}
const sh = fs.readFileSync('scripts/sim-refit.sh', 'utf8');
const block = /^BASE=\(([\s\S]*?)^\)/m.exec(sh)[1];
const base = [...block.matchAll(/--in\s+('([^']+)'|(\S+))/g)].map((m) => m[2] ?? m[3]);
for (const d of drop) if (!base.includes(d)) throw new Error(`--drop ${d}: not among scripts/sim-refit.sh's BASE sources`);
const kept = base.filter((b) => !drop.includes(b));
extra.push(...drop);
const cal = withCal ? ['results/h100/kernels/calibrate.jsonl', 'results/h200/kernels/calibrate.jsonl'].filter((f) => fs.existsSync(f)) : [];
const quiet = () => {};

async function held(files) {
  const rows = await loadRows(files, undefined, quiet);
  const obs = observe(rows, rowMask).observations;
  const sel = (o) => o.gpu === gpu;
  const axes = ['heads', 'seqlen', 'family'].filter((a) => new Set(obs.filter(sel).map((o) => axisValue(o, a))).size > 1);
  const out = new Map();
  for (const p of leaveGroupOut(obs, axes, sel)) if (p.errorPct !== null) out.set(`${p.axis}|${p.group}|${p.obs.kernel}|${p.obs.id}|${p.obs.call.direction}`, p);
  // The hash quarter (interpolation with `sim validate`'s groups inside the fitted range).
  for (const p of hashHoldout(obs, sel)) if (p.errorPct !== null) out.set(`hash|${p.obs.kernel}|${p.obs.id}|${p.obs.call.direction}`, p);
  return out;
}
const fmt = (ps) => {
  const s = summarizeGroup(ps);
  return `n=${String(s.n).padStart(4)} median ${s.medianAbsPct?.toFixed(1)}%, p90 ${s.p90AbsPct?.toFixed(1)}%, max ${s.maxAbsPct?.toFixed(1)}%`;
};
const A = await held([...kept, ...cal]);
const B = await held([...kept, ...cal, ...extra]);
console.log(`${gpu} rows; pool A = sim-refit.sh BASE${drop.length ? ` less ${drop.length}` : ''}${withCal ? ' + calibrate' : ''} (${kept.length + cal.length} sources), B = A + ${extra.join(' ')}`);
// 'all' and the axes: the leave-one-group-out predictions; 'interpolation': those inside the fitted
// range plus the hash quarter; 'extrapolation': the others (as `sim validate` prints them).
for (const axis of ['all', 'heads', 'seqlen', 'family', 'interpolation', 'extrapolation']) {
  const inAxis = ([k, p]) =>
    axis === 'interpolation' ? k.startsWith('hash|') || !p.extrapolation : axis === 'extrapolation' ? !k.startsWith('hash|') && p.extrapolation : !k.startsWith('hash|') && (axis === 'all' || k.startsWith(`${axis}|`));
  const pick = (m) => [...m.entries()].filter(inAxis);
  const a = pick(A);
  const b = pick(B);
  const common = a.filter(([k]) => B.has(k)).map(([k]) => k);
  console.log(`${axis === 'all' ? 'all held-out configurations' : ['interpolation', 'extrapolation'].includes(axis) ? `${axis} (hash quarter and groups inside the range; the others)` : `leave one ${axis} out`}:`);
  console.log(`  A            ${fmt(a.map(([, p]) => p))}`);
  console.log(`  B            ${fmt(b.map(([, p]) => p))}`);
  console.log(`  A, common    ${fmt(common.map((k) => A.get(k)))}`);
  console.log(`  B, common    ${fmt(common.map((k) => B.get(k)))}`);
  const only = b.filter(([k]) => !A.has(k));
  if (only.length) console.log(`  B only       ${fmt(only.map(([, p]) => p))}`);
}
// The rows whose error moved most between A and B (common rows).
const moved = [...A.keys()].filter((k) => B.has(k) && !k.startsWith('hash|')).map((k) => [k, Math.abs(B.get(k).errorPct) - Math.abs(A.get(k).errorPct)]).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
console.log('largest moves (|error| B - A, common rows):');
for (const [k, d] of moved.slice(0, 10)) {
  const a = A.get(k);
  const o = a.obs;
  console.log(`  ${d >= 0 ? '+' : ''}${d.toFixed(1)} pts  ${o.kernel} ${o.family} S=${o.seqlen} ${o.headsQ}:${o.headsKv} ${o.call.direction}, ${a.axis} ${a.group} held out: ${a.errorPct.toFixed(1)}% -> ${B.get(k).errorPct.toFixed(1)}%`);
}
// The worst rows only B could predict.
const onlyB = [...B.entries()].filter(([k]) => !A.has(k) && !k.startsWith('hash|')).sort((x, y) => Math.abs(y[1].errorPct) - Math.abs(x[1].errorPct));
if (onlyB.length) console.log('worst rows only B predicts:');
for (const [, p] of onlyB.slice(0, 8)) {
  const o = p.obs;
  console.log(`  ${p.errorPct >= 0 ? '+' : ''}${p.errorPct.toFixed(1)}%  ${o.kernel} ${o.family} S=${o.seqlen} ${o.headsQ}:${o.headsKv} ${o.call.direction}, ${p.axis} ${p.group} held out${p.extrapolation ? ' (extrapolation)' : ''}`);
}
