// Plan statistics (SPEC 7): per-rank FLOPs, imbalance, bytes sent / received, steps, peak buffer
// memory. Collective bytes are what must leave / arrive at a rank whatever the algorithm:
//   all_to_all      the chunks for / from the other members
//   all_gather      sent (g-1) x input, received output - input
//   reduce_scatter  sent input - own chunk, received (g-1) x own chunk
import { peakBufferBytes } from './access.js';
import type { BufferDesc, Plan, PlanStats, RankProgram, Step } from './types.js';

interface Bytes {
  sent: number;
  recv: number;
}

function commBytes(rp: RankProgram, steps: readonly Step[]): Bytes {
  const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
  const size = (b: string) => desc.get(b)?.bytes ?? 0;
  const out: Bytes = { sent: 0, recv: 0 };
  for (const s of steps) {
    switch (s.kind) {
      case 'p2p':
        for (const o of s.ops) {
          if (o.op === 'send') out.sent += size(o.buf);
          else out.recv += size(o.buf);
        }
        break;
      case 'all_to_all':
        s.group.forEach((peer, c) => {
          if (peer === rp.rank) return;
          out.sent += size(s.send[c]);
          out.recv += size(s.recv[c]);
        });
        break;
      case 'all_gather':
        out.sent += size(s.input) * (s.group.length - 1);
        out.recv += size(s.output) - size(s.input);
        break;
      case 'reduce_scatter':
        out.sent += size(s.input) - size(s.output);
        out.recv += size(s.output) * (s.group.length - 1);
        break;
      default:
        break;
    }
  }
  return out;
}

function flopsOf(steps: readonly Step[]): number {
  let f = 0;
  for (const s of steps) if (s.kind === 'attn' || s.kind === 'attn_bwd') f += s.flops;
  return f;
}

export function imbalanceOf(xs: readonly number[]): number {
  const max = Math.max(...xs);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return mean === 0 ? 1 : max / mean;
}

export function planStats(plan: Plan): PlanStats {
  const fwd = plan.ranks.map((r) => commBytes(r, r.forward));
  const bwd = plan.ranks.map((r) => commBytes(r, r.backward));
  const flopsFwd = plan.ranks.map((r) => flopsOf(r.forward));
  return {
    world: plan.world,
    flopsFwd,
    flopsBwd: plan.ranks.map((r) => flopsOf(r.backward)),
    imbalance: imbalanceOf(flopsFwd),
    bytesSentFwd: fwd.map((b) => b.sent),
    bytesRecvFwd: fwd.map((b) => b.recv),
    bytesSentBwd: bwd.map((b) => b.sent),
    bytesRecvBwd: bwd.map((b) => b.recv),
    stepsFwd: plan.ranks.map((r) => r.forward.length),
    stepsBwd: plan.ranks.map((r) => r.backward.length),
    peakBufferBytes: plan.ranks.map(peakBufferBytes),
  };
}

/** One-line totals of a PlanStats (tables, benchmarks). */
export interface StatsSummary {
  readonly flopsFwd: number;
  readonly flopsBwd: number;
  readonly imbalance: number;
  /** Bytes sent by all ranks together. */
  readonly bytesFwd: number;
  readonly bytesBwd: number;
  readonly maxBytesSentFwd: number;
  readonly maxStepsFwd: number;
  readonly maxStepsBwd: number;
  readonly maxPeakBufferBytes: number;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

export function summarizeStats(s: PlanStats): StatsSummary {
  return {
    flopsFwd: sum(s.flopsFwd),
    flopsBwd: sum(s.flopsBwd),
    imbalance: s.imbalance,
    bytesFwd: sum(s.bytesSentFwd),
    bytesBwd: sum(s.bytesSentBwd),
    maxBytesSentFwd: Math.max(...s.bytesSentFwd),
    maxStepsFwd: Math.max(...s.stepsFwd),
    maxStepsBwd: Math.max(...s.stepsBwd),
    maxPeakBufferBytes: Math.max(...s.peakBufferBytes),
  };
}
