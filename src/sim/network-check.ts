// The network model against published NCCL figures (nccl-published.json).
//
// Each published figure names an operation, a GPU count and node count, a message size and the
// nccl-tests bus bandwidth (or time). The same operation is built as a one-step plan and run
// through the simulator's network model (network.ts, fluid.ts) on the default cluster, and its
// busbw computed with nccl-tests' formulas (doc/PERFORMANCE.md):
//   all_gather / reduce_scatter / alltoall: busbw = algbw (n-1)/n, algbw = size / time
//   all_reduce (ring = reduce-scatter then all-gather): busbw = algbw 2(n-1)/n
//   sendrecv: busbw = algbw
// `size` is the nccl-tests size column: the whole gathered / scattered / exchanged buffer of a rank.
// Figures marked not modelled (NVLink SHARP, tree all-reduce, LL latency) are listed beside.
import type { BufferDesc, Plan, RankProgram, Step } from '../cp/types.js';
import type { Cluster } from './hardware.js';
import type { KernelModel } from './kernel-model.js';
import published from './nccl-published.json' with { type: 'json' };
import { simulatePlan } from './simulate.js';

export interface PublishedFigure {
  readonly id: string;
  readonly op: 'all_gather' | 'reduce_scatter' | 'all_reduce' | 'alltoall' | 'sendrecv';
  readonly algo: string;
  readonly gpu: string;
  readonly gpus: number;
  readonly nodes: number;
  readonly sizeBytes: number | null;
  readonly busbwGBps?: number;
  readonly timeUs?: number;
  readonly modelled: boolean;
  readonly quote: string;
  readonly source: string;
  readonly url: string;
  readonly date: string;
  readonly network?: string;
}

export const PUBLISHED: { readonly largeSizeBytes: number; readonly figures: readonly PublishedFigure[] } = published as never;

const NONE: KernelModel = { kernel: 'none', predict: () => ({ ms: 0, fallback: false }), describe: () => 'no kernels', missing: () => null };

function buf(name: string, bytes: number): BufferDesc {
  return { name, tensor: 'kv', tokens: [{ start: 0, end: 1 }], heads: { start: 0, end: 1 }, bytes };
}

/** A plan around the operation's steps (the simulator reads only steps and buffer sizes; the scheme is nominal). */
function planOf(world: number, programs: RankProgram[]): Plan {
  return { scheme: 'ring_p2p', world, layout: {}, seqlen: world, shape: { headsQ: 1, headsKv: 1, headDim: 1, dtypeBytes: 2 }, groups: {}, ranks: programs };
}

/** One nccl-tests operation as a plan: n ranks, `size` bytes per rank's buffer (see header). */
export function opPlan(op: PublishedFigure['op'], n: number, size: number): Plan {
  const group = Array.from({ length: n }, (_, i) => i);
  const chunk = size / n;
  const ranks: RankProgram[] = [];
  for (let r = 0; r < n; r++) {
    const steps: Step[] = [];
    const buffers: BufferDesc[] = [];
    switch (op) {
      case 'all_gather':
        buffers.push(buf('in', chunk), buf('out', size));
        steps.push({ kind: 'all_gather', group, input: 'in', output: 'out' });
        break;
      case 'reduce_scatter':
        buffers.push(buf('in', size), buf('out', chunk));
        steps.push({ kind: 'reduce_scatter', group, input: 'in', output: 'out' });
        break;
      case 'all_reduce':
        buffers.push(buf('in', size), buf('part', chunk), buf('out', size));
        steps.push({ kind: 'reduce_scatter', group, input: 'in', output: 'part' }, { kind: 'all_gather', group, input: 'part', output: 'out' });
        break;
      case 'alltoall': {
        const send = group.map((c) => `s${c}`);
        const recv = group.map((c) => `r${c}`);
        buffers.push(...send.map((s) => buf(s, chunk)), ...recv.map((s) => buf(s, chunk)));
        steps.push({ kind: 'all_to_all', group, send, recv });
        break;
      }
      case 'sendrecv': {
        // nccl-tests sendrecv: rank r sends to r+1 and receives from r-1, all at once.
        const next = (r + 1) % n;
        const prev = (r + n - 1) % n;
        buffers.push(buf('s', size), buf('r', size));
        steps.push({ kind: 'p2p', ops: [{ op: 'send', peer: next, buf: 's' }, { op: 'recv', peer: prev, buf: 'r' }] });
        break;
      }
    }
    ranks.push({ rank: r, owned: [], buffers, forward: steps, backward: [] });
  }
  return planOf(n, ranks);
}

/** nccl-tests bus-bandwidth factor of an operation over n ranks. */
export function busFactor(op: PublishedFigure['op'], n: number): number {
  switch (op) {
    case 'all_reduce':
      return (2 * (n - 1)) / n;
    case 'sendrecv':
      return 1;
    default:
      return (n - 1) / n;
  }
}

export interface NetworkComparison {
  readonly figure: PublishedFigure;
  readonly sizeBytes: number;
  readonly predictedUs: number;
  readonly predictedBusbwGBps: number;
  /** % error of the predicted busbw (or time when the figure gives only a time). */
  readonly errorPct: number | null;
}

/** Simulated time (us) and busbw of one operation on `cluster`. */
export function simulateOp(cluster: Cluster, op: PublishedFigure['op'], n: number, size: number): { us: number; busbwGBps: number } {
  const plan = opPlan(op, n, size);
  const r = simulatePlan(plan, cluster, NONE, { direction: 'fwd', network: 'model', overlap: false });
  const us = r.makespanMs * 1000;
  return { us, busbwGBps: (size / (us * 1e3)) * busFactor(op, n) };
}

export function compareFigure(cluster: Cluster, f: PublishedFigure): NetworkComparison {
  const size = f.sizeBytes ?? PUBLISHED.largeSizeBytes;
  const { us, busbwGBps } = simulateOp(cluster, f.op, f.gpus, size);
  let errorPct: number | null = null;
  if (f.busbwGBps !== undefined) errorPct = ((busbwGBps - f.busbwGBps) / f.busbwGBps) * 100;
  else if (f.timeUs !== undefined) errorPct = ((us - f.timeUs) / f.timeUs) * 100;
  return { figure: f, sizeBytes: size, predictedUs: us, predictedBusbwGBps: busbwGBps, errorPct };
}

export function sizeBucket(bytes: number): string {
  if (bytes < 2 ** 20) return '< 1 MiB';
  if (bytes < 2 ** 26) return '1-64 MiB';
  if (bytes < 2 ** 30) return '64 MiB-1 GiB';
  return '>= 1 GiB';
}

/** Link constants the fit chooses (the rest of the cluster stays as given). */
export interface NetworkConstants {
  readonly nvlinkEfficiency: number;
  readonly nvlinkLatencyUs: number;
  readonly ibEfficiency: number;
  readonly ibLatencyUs: number;
}

/** The figures the fit and the targets use: modelled, with a busbw, messages >= 1 MiB. */
export function fittable(f: PublishedFigure): boolean {
  return f.modelled && f.busbwGBps !== undefined && (f.sizeBytes ?? PUBLISHED.largeSizeBytes) >= 2 ** 20;
}

const range = (a: number, b: number, step: number) => Array.from({ length: Math.round((b - a) / step) + 1 }, (_, i) => Math.round((a + i * step) * 1000) / 1000);

/**
 * Grid fit of the link efficiencies to the fittable figures of NVLink and InfiniBand systems (a
 * figure with a `network` note, such as RoCE, is compared but not fitted), minimizing the sum of
 * squared log busbw errors: intra-node figures decide NVLink, figures that cross nodes decide
 * InfiniBand. Latencies are not fitted: at >= 1 MiB they move busbw by well under 1% on 8 to 16
 * GPUs, and the small-message figures found use protocols (LL, NVLS, tree) the model lacks.
 */
export function fitNetwork(clusterFor: (f: PublishedFigure, c: NetworkConstants) => Cluster, start: NetworkConstants): { constants: NetworkConstants; loss: number } {
  const figs = PUBLISHED.figures.filter((f) => fittable(f) && !f.network);
  const loss = (c: NetworkConstants, sel: readonly PublishedFigure[]) =>
    sel.reduce((s, f) => s + Math.log(compareFigure(clusterFor(f, c), f).predictedBusbwGBps / f.busbwGBps!) ** 2, 0);
  const best = (cands: NetworkConstants[], sel: readonly PublishedFigure[]) => {
    let b = cands[0];
    let bl = Infinity;
    for (const x of cands) {
      const l = loss(x, sel);
      if (l < bl - 1e-12) [b, bl] = [x, l];
    }
    return b;
  };
  let c = start;
  c = best(range(0.6, 1, 0.01).map((e) => ({ ...c, nvlinkEfficiency: e })), figs.filter((f) => f.nodes === 1));
  c = best(range(0.7, 1, 0.01).map((e) => ({ ...c, ibEfficiency: e })), figs.filter((f) => f.nodes > 1));
  return { constants: c, loss: loss(c, figs) };
}
