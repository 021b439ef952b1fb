// Prints the L2 model (./ranges-l2.ts) of triton_ranges' launches per family and launch order
// (issue 13). The lists, tiles, tuning and backward split are the kernel descriptor's
// (src/kernels/gpu/triton_ranges.ts) for the shape, as a kernel job builds them.
//   npm run build && node dist/bench/ranges-l2-main.js [--families causal,sliding_window] \
//     [--seqlen 32768] [--heads 64:8] [--dim 128] [--cache-mb 50,25] [--orders lpt,natural,group16,bucket25] \
//     [--passes fwd,bwd] [--sms 132]
import { pathToFileURL } from 'node:url';
import { tritonRanges } from '../kernels/gpu/triton_ranges.js';
import { blockSizeOf } from '../worker/jobs.js';
import { toRanges } from '../mask/adapters/index.js';
import type { RangesValue } from '../mask/adapters/types.js';
import { generateMask } from '../mask/families/index.js';
import { simulateL2, type L2Result, type L2Shape, type Program } from './ranges-l2.js';
import { listUnits, namedLaunch, type OrderCtx } from './ranges-l2-orders.js';

export const DEFAULT_FAMILIES = ['causal', 'causal_document', 'block_causal_document', 'sliding_window', 'full_document_long'];

export interface CaseOpts {
  readonly family: string;
  readonly seqlen: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
}

/** The kernel job's lists for a case (seed 0, the family's defaults), `extra` tuning merged over the descriptor's. */
export function caseLists(c: CaseOpts, extra: Readonly<Record<string, number>> = {}): RangesValue {
  const gm = generateMask(c.family, c.seqlen, { seed: 0, params: {} });
  const shape = { headsQ: c.headsQ, headsKv: c.headsKv, headDim: c.headDim, dtype: 'bfloat16' };
  const opts = tritonRanges.adaptOptions(shape, blockSizeOf(gm));
  const ranges = opts.ranges ? { ...opts.ranges, tuning: { ...opts.ranges.tuning, ...extra } } : undefined;
  const r = toRanges(gm.heads.length > 1 ? gm.heads : gm.heads[0], { ...opts, ...(ranges ? { ranges } : {}) });
  if (r.kind !== 'ok') throw new Error(`${c.family}: ${r.reason}`);
  return r.value;
}

/** The launch of one direction under a named order: the forward launch, or the fused backward (dK/dV programs, then the dQ pass's). */
export function directionLaunch(v: RangesValue, shape: L2Shape, dir: 'fwd' | 'bwd', order: string): { launch: Program[]; perSm: number } {
  const rep = shape.headsKv / v.heads;
  const t = v.tuning;
  const fwdSub = Math.max(1, t.fwdSplit ?? 1);
  const ctx = (pass: 'fwd' | 'dkdv' | 'dq', sub: number): OrderCtx => {
    const l = pass === 'dkdv' ? v.bwd : v.fwd;
    return { pass, units: listUnits(pass, l), rep, sub, numRows: l.numRows };
  };
  if (dir === 'fwd') return { launch: namedLaunch(order, ctx('fwd', fwdSub)), perSm: fwdSub };
  const nsplit = Math.max(1, v.tileK / (t.bwdKeys ?? v.tileK));
  const dkdv = namedLaunch(order, ctx('dkdv', nsplit));
  const dq = namedLaunch(order, ctx('dq', Math.max(1, t.dqSplit ?? 1)));
  // bwdFused: one launch; otherwise two launches back to back (modelled as one stream: the dQ launch starts as dK/dV slots free, a slight overlap)
  return { launch: [...dkdv, ...dq], perSm: (t.bwdWarps ?? 8) >= 8 ? 1 : 2 };
}

const MB = 1e6;
const pct = (a: number, b: number) => (b > 0 ? (100 * a) / b : 0);

/** One line of the table. */
export function formatRow(label: string, r: L2Result, base: L2Result | null): string {
  const req = r.caches[0].requested;
  const cols = r.caches.map((c) => {
    const hitKv = 100 - pct(c.missed[0], c.requested[0]);
    const hitQ = 100 - pct(c.missed[1], c.requested[1]);
    const dram = c.missed.reduce((a, b) => a + b, 0);
    return `${(c.capacity / MB).toFixed(0)}MB hit kv ${hitKv.toFixed(1)}% q ${hitQ.toFixed(1)}% dram ${(dram / MB).toFixed(0)} MB (${(dram / (r.compulsory[0] + r.compulsory[1] + c.requested[2])).toFixed(2)}x min) ${(r.flop / dram).toFixed(0)} F/B`;
  });
  const mk = base ? ` (${((r.makespan / base.makespan - 1) * 100).toFixed(1)}%)` : '';
  return `  ${label.padEnd(10)} makespan ${r.makespan.toFixed(0)}${mk} | req kv ${(req[0] / MB).toFixed(0)} q ${(req[1] / MB).toFixed(0)} MB | span ${(r.residentSpan / MB).toFixed(1)} MB live/16 ${(r.live / MB).toFixed(1)} MB | ${cols.join(' | ')}`;
}

function arg(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
}

export function main(argv: string[]): void {
  const families = arg(argv, 'families', DEFAULT_FAMILIES.join(',')).split(',');
  const seqlen = Number(arg(argv, 'seqlen', '32768'));
  const [hq, hkv] = arg(argv, 'heads', '64:8').split(':').map(Number);
  const headDim = Number(arg(argv, 'dim', '128'));
  const caps = arg(argv, 'cache-mb', '50,25').split(',').map((x) => Number(x) * MB);
  // lptLaunch: the lists built with tuning {"lptLaunch":1}, launched in their order (the opt-in key)
  const orders = arg(argv, 'orders', 'lpt,lptLaunch,pgroup132,bucket25,natural').split(',');
  const dirs = arg(argv, 'passes', 'fwd,bwd').split(',') as ('fwd' | 'bwd')[];
  const sms = Number(arg(argv, 'sms', '132'));
  const shape: L2Shape = { headsQ: hq, headsKv: hkv, headDim, dtypeBytes: 2 };
  console.log(`L2 model of triton_ranges launches: S ${seqlen}, heads ${hq}:${hkv}, d ${headDim}, bf16, ${sms} SMs; F/B = tile FLOP per DRAM byte (H200 ridge ~206: 989 TFLOP/s / 4.8 TB/s)`);
  for (const family of families) {
    const c = { family, seqlen, headsQ: hq, headsKv: hkv, headDim };
    const v = caseLists(c);
    const vKey = orders.includes('lptLaunch') ? caseLists(c, { lptLaunch: 1 }) : v;
    const items = (x: RangesValue) => (x.bwd.items ? x.bwd.items.length / 6 : 0);
    const split = v.bwd.items ? ` bwd split ${items(v)} items` : '';
    const splitKey = items(vKey) !== items(v) ? ` (with lptLaunch: ${items(vKey)} items)` : '';
    console.log(`${family}: tiles ${v.tileQ} tok x ${v.tileK} keys, fwd rows ${v.fwd.order.length} x ${hkv / v.heads} KV heads, fwdSplit ${v.tuning.fwdSplit ?? 1}${split}${splitKey}`);
    for (const dir of dirs) {
      let base: L2Result | null = null;
      for (const order of orders) {
        const key = order === 'lptLaunch';
        const { launch, perSm } = directionLaunch(key ? vKey : v, shape, dir, key ? 'lpt' : order);
        const r = simulateL2(launch, { value: key ? vKey : v, shape }, { slots: sms * perSm, capacities: caps });
        base ??= r;
        console.log(formatRow(`${dir} ${order}`, r, base));
      }
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
