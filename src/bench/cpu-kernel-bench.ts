// CPU kernel benchmark: GFLOP/s of the tiled WebAssembly kernels and of the plain-JS baseline on
// one thread, on masks built from slices (causal, and causal documents), and the speed-up.
//   npx tsx src/bench/cpu-kernel-bench.ts [seqlen] [headDim]      (or node dist/bench/cpu-kernel-bench.js)
// FLOPs as SPEC 6: forward 4 * area * headsQ * headDim, backward 2.5x that.
import { attentionFlops } from '../results/flops.js';
import { pathToFileURL } from 'node:url';
import { plainJsForward, tiledBackward, tiledForward, type CpuAttnShape } from '../kernels/cpu/index.js';
import { maskArea } from '../mask/slices.js';
import type { Mask, Slice } from '../mask/types.js';

export type CpuKernelId = 'tiled' | 'plain_js';

export interface CpuKernelBenchRow {
  readonly kernel: CpuKernelId;
  readonly direction: 'fwd' | 'bwd';
  readonly family: string;
  readonly seqlen: number;
  readonly headDim: number;
  readonly flops: number;
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly gflops: number;
}

export interface CpuKernelSpeedup {
  readonly family: string;
  /** Forward GFLOP/s of the tiled kernel over the plain-JS loop. */
  readonly tiledOverPlain: number;
}

export interface CpuKernelBenchResult {
  readonly rows: readonly CpuKernelBenchRow[];
  readonly speedups: readonly CpuKernelSpeedup[];
}

export interface CpuKernelBenchOptions {
  readonly seqlen?: number;
  readonly headDim?: number;
  /** Timed calls per tiled kernel (default 5). */
  readonly runs?: number;
  /** Timed calls of the (slow) plain-JS baseline (default 3). */
  readonly plainRuns?: number;
}

/** Fixed document split (fractions of S) for causal_document, so every run measures the same mask. */
const DOC_FRACTIONS = [0.3, 0.05, 0.25, 0.15, 0.1, 0.15];

function causalMask(s: number): Mask {
  return { seqlenQ: s, seqlenK: s, slices: [{ qStart: 0, qEnd: s, kStart: 0, kEnd: s, kind: 'causal' }] };
}

function causalDocumentMask(s: number): Mask {
  const slices: Slice[] = [];
  let at = 0;
  DOC_FRACTIONS.forEach((f, i) => {
    const end = i === DOC_FRACTIONS.length - 1 ? s : Math.min(s, at + Math.max(1, Math.round(f * s)));
    if (end > at) slices.push({ qStart: at, qEnd: end, kStart: at, kEnd: end, kind: 'causal' });
    at = end;
  });
  return { seqlenQ: s, seqlenK: s, slices };
}

function randomInputs(n: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeMs(runs: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export function benchCpuKernels(opts: CpuKernelBenchOptions = {}): CpuKernelBenchResult {
  const seqlen = opts.seqlen ?? 4096;
  const headDim = opts.headDim ?? 128;
  const runs = opts.runs ?? 5;
  const plainRuns = opts.plainRuns ?? 3;
  const shape: CpuAttnShape = { seqlenQ: seqlen, seqlenK: seqlen, headsQ: 1, headsKv: 1, headDim };
  const n = seqlen * headDim;
  const [q, k, v, dout] = [1, 2, 3, 4].map((seed) => randomInputs(n, seed));

  // Warm-up on a small problem: wasm instantiation and JIT tiers, outside every timed call.
  {
    const ws: CpuAttnShape = { ...shape, seqlenQ: 256, seqlenK: 256 };
    const wm = causalMask(256);
    const wx = randomInputs(256 * headDim, 9);
    const f = tiledForward(wx, wx, wx, wm, ws);
    tiledBackward(wx, wx, wx, f.out, f.lse, wx, wm, ws);
    plainJsForward(wx, wx, wx, wm, ws);
  }

  const rows: CpuKernelBenchRow[] = [];
  const speedups: CpuKernelSpeedup[] = [];
  for (const [family, mask] of [
    ['causal', causalMask(seqlen)],
    ['causal_document', causalDocumentMask(seqlen)],
  ] as const) {
    const row = (kernel: CpuKernelId, direction: 'fwd' | 'bwd', samplesMs: number[]): CpuKernelBenchRow => {
      const flops = attentionFlops(maskArea(mask), shape.headsQ, headDim, direction);
      const medianMs = median(samplesMs);
      return { kernel, direction, family, seqlen, headDim, flops, samplesMs, medianMs, gflops: flops / (medianMs * 1e6) };
    };
    const fwd = tiledForward(q, k, v, mask, shape);
    const tiledFwd = row('tiled', 'fwd', timeMs(runs, () => tiledForward(q, k, v, mask, shape)));
    const tiledBwd = row('tiled', 'bwd', timeMs(runs, () => tiledBackward(q, k, v, fwd.out, fwd.lse, dout, mask, shape)));
    const plainFwd = row('plain_js', 'fwd', timeMs(plainRuns, () => plainJsForward(q, k, v, mask, shape)));
    rows.push(tiledFwd, tiledBwd, plainFwd);
    speedups.push({ family, tiledOverPlain: tiledFwd.gflops / plainFwd.gflops });
  }
  return { rows, speedups };
}

export function formatCpuKernelBench(r: CpuKernelBenchResult): string {
  const lines = ['family           kernel    dir  seqlen  headDim  median ms  GFLOP/s'];
  for (const x of r.rows) {
    lines.push(
      `${x.family.padEnd(16)} ${x.kernel.padEnd(9)} ${x.direction}  ${String(x.seqlen).padStart(6)}  ${String(x.headDim).padStart(7)}  ${x.medianMs.toFixed(1).padStart(9)}  ${x.gflops.toFixed(2).padStart(7)}`,
    );
  }
  for (const s of r.speedups) lines.push(`${s.family}: tiled / plain_js forward = ${s.tiledOverPlain.toFixed(1)}x`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [seqlen, headDim] = process.argv.slice(2).map(Number);
  console.log(formatCpuKernelBench(benchCpuKernels({ seqlen: seqlen || undefined, headDim: headDim || undefined })));
}
