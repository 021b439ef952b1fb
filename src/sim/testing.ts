// Tiny hand-built plans and clusters for tests and benchmarks of the simulator (no planner needed).
import type { BufferDesc, Plan, RankProgram, Step } from '../cp/types.js';
import { maskArea } from '../mask/slices.js';
import type { Mask } from '../mask/types.js';
import type { ResultRow } from '../results/schema.js';
import type { MaskGenerator } from './calibrate.js';
import { parseClusterFile, resolveCluster, type Cluster, type ClusterFile } from './hardware.js';
import { blockPairs } from './kernel-model.js';

/** A cluster with round numbers: 1000 TFLOP/s bf16 at efficiency 1 (1e12 FLOPs = 1 ms), NVLink
 * 100 GB/s and 5 us, IB 50 GB/s and 10 us, no elementwise overhead; `over` overrides. */
export function roundCluster(over: ClusterFile = {}): Cluster {
  const base: ClusterFile = {
    gpu: 'h100',
    gpus: { h100: { peakTflops: { bfloat16: 1000 }, memBandwidthGBps: 1000 } },
    gpusPerNode: 8,
    nvlink: { bandwidthGBps: 100, efficiency: 1, latencyUs: 5 },
    ib: { bandwidthGBps: 50, efficiency: 1, latencyUs: 10, nicsPerNode: 8 },
    fallbackEfficiency: 1,
    memEfficiency: 1,
    elementwiseOverheadUs: 0,
  };
  const merged = {
    ...base,
    ...over,
    nvlink: { ...base.nvlink, ...over.nvlink },
    ib: { ...base.ib, ...over.ib },
  };
  return resolveCluster(undefined, parseClusterFile(merged));
}

export const FULL_128: Mask = { seqlenQ: 128, seqlenK: 128, slices: [{ qStart: 0, qEnd: 128, kStart: 0, kEnd: 128, kind: 'full' }] };

/** A buffer of `bytes` bytes (token/head ranges are nominal: the simulator only reads bytes). */
export function buf(name: string, bytes: number): BufferDesc {
  return { name, tensor: 'kv', tokens: [{ start: 0, end: 1 }], heads: { start: 0, end: 1 }, bytes };
}

/** An attn step worth `ms` milliseconds on roundCluster (1e12 FLOPs per ms). */
export function attnMs(ms: number, mask: Mask = FULL_128): Step {
  return { kind: 'attn', q: 'q', kv: 'kv', out: 'o', mask, heads: { start: 0, end: 1 }, flops: ms * 1e12 };
}

export function program(rank: number, forward: Step[], buffers: BufferDesc[] = []): RankProgram {
  return { rank, owned: [], buffers: [buf('q', 1), buf('kv', 1), buf('o', 1), ...buffers], forward, backward: [] };
}

export function plan(ranks: RankProgram[]): Plan {
  return {
    scheme: 'ring_p2p',
    world: ranks.length,
    layout: {},
    seqlen: 128 * ranks.length,
    shape: { headsQ: 1, headsKv: 1, headDim: 128, dtypeBytes: 2 },
    groups: {},
    ranks,
  };
}

/**
 * A ring-attention-like plan without a planner: P ranks, each step sends the visiting K/V to the
 * next rank (async), attends to it and merges, like ring_p2p on a full mask. Buffers and masks are
 * shared objects, so the plan itself is cheap to build at 1024 ranks (for benchmarks of the simulator).
 */
export function syntheticRingPlan(world: number, tokensPerRank: number, headsQ = 64, headsKv = 8, headDim = 128): Plan {
  const mask: Mask = { seqlenQ: tokensPerRank, seqlenK: tokensPerRank, slices: [{ qStart: 0, qEnd: tokensPerRank, kStart: 0, kEnd: tokensPerRank, kind: 'full' }] };
  const kvBytes = 2 * tokensPerRank * headsKv * headDim * 2;
  const oBytes = tokensPerRank * headsQ * (headDim * 2 + 4);
  const flops = 4 * tokensPerRank * tokensPerRank * headsQ * headDim;
  const names = Array.from({ length: world }, (_, s) => `kv@${s}`);
  const buffers: BufferDesc[] = [buf('q', kvBytes), buf('o', oBytes), buf('o.p', oBytes), ...names.map((n) => buf(n, kvBytes))];
  const ranks: RankProgram[] = [];
  for (let r = 0; r < world; r++) {
    const next = (r + 1) % world;
    const prev = (r + world - 1) % world;
    const fwd: Step[] = [];
    for (let s = 0; s < world; s++) {
      const cur = names[(r - s + world) % world];
      const h = `h${s}`;
      if (s < world - 1) fwd.push({ kind: 'p2p', ops: [{ op: 'send', peer: next, buf: cur }, { op: 'recv', peer: prev, buf: names[(r - s - 1 + 2 * world) % world] }], handle: h });
      fwd.push({ kind: 'attn', q: 'q', kv: cur, out: 'o.p', mask, heads: { start: 0, end: headsQ }, flops });
      fwd.push({ kind: 'merge', into: 'o', from: 'o.p' });
      if (s < world - 1) fwd.push({ kind: 'wait', handle: h });
    }
    ranks.push({ rank: r, owned: [], buffers, forward: fwd, backward: [] });
  }
  return {
    scheme: 'ring_p2p',
    world,
    layout: { synthetic: 1 },
    seqlen: world * tokensPerRank,
    shape: { headsQ, headsKv, headDim, dtypeBytes: 2 },
    groups: {},
    ranks,
  };
}

/**
 * Test data only (never committed as results): "measured" kernel rows of a made-up kernel (labelled
 * fa2 by default: rows carry registry ids) whose
 * efficiency is a logistic in log(work) with a 1.4x partial-block penalty, +-4% deterministic
 * wiggle, on the masks `gen` builds. GPU 'NVIDIA H100 80GB HBM3', executor torch, 64:8 heads.
 */
export function syntheticKernelRows(
  gen: MaskGenerator,
  opts: { kernel?: string; families?: readonly string[]; seqlens?: readonly number[]; noise?: boolean } = {},
): ResultRow[] {
  const kernel = opts.kernel ?? 'fa2';
  const rows: ResultRow[] = [];
  for (const family of opts.families ?? ['full', 'causal', 'causal_document', 'full_document'])
    for (const seqlen of opts.seqlens ?? [1024, 2048, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 40960, 49152])
      for (const direction of ['fwd', 'bwd'] as const) {
        const seed = 0;
        const m = gen(family, seqlen, seed, {}).heads[0];
        const p = blockPairs(m);
        const k = (direction === 'fwd' ? 1 : 2.5) * 4 * 128 * 64;
        const work = k * (p.full + 1.4 * p.partial);
        const eff = 0.62 / (1 + (2e10 / work) ** 0.8);
        const wiggle = opts.noise === false ? 1 : 1 + 0.04 * Math.sin(seqlen * 0.37 + seed);
        const ms = (0.015 + (work / (989e12 * eff)) * 1e3) * wiggle;
        const area = maskArea(m);
        rows.push({
          schema: 1,
          id: `${kernel}:${family}:${seqlen}:${direction}:${seed}`,
          suite: 'kernel',
          executor: 'torch',
          kernel,
          scheme: null,
          family,
          maskParams: {},
          seed,
          seqlen,
          batch: 1,
          headsQ: 64,
          headsKv: 8,
          headDim: 128,
          dtype: 'bfloat16',
          direction,
          world: 1,
          layout: null,
          status: 'ok',
          message: null,
          area,
          flops: k * area,
          times: { medianMs: ms, p20Ms: ms, p80Ms: ms, samples: 20 },
          tflops: (k * area) / (ms * 1e9),
          memory: null,
          error: null,
          simulated: false,
          env: { host: 'test', gpu: 'NVIDIA H100 80GB HBM3', driver: null, cuda: null, libs: {}, gitRev: null, date: '2026-01-01T00:00:00Z' },
        });
      }
  return rows;
}
