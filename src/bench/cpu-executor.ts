// The `cpu` kernel executor: runs the TypeScript kernels in this process on random inputs, times
// them with the monotonic clock and checks them against the float64 reference where it fits.
import os from 'node:os';
import { referenceBackward, referenceForward, tiledBackward, tiledForward } from '../kernels/cpu/index.js';
import type { GeneratedMask, Mask } from '../mask/types.js';
import type { ErrorMetrics } from '../results/schema.js';
import { cpuEnvironment } from '../util/env.js';
import { errorOf, exceedsTolerance } from '../util/tolerance.js';
import { summarize } from './stats.js';
import type { CaseOutcome, KernelCase, KernelExecutor } from '../kernels/case.js';

export const CPU_KERNELS = ['cpu_tiled', 'reference'] as const;

/** Deterministic standard-normal-ish inputs (sum of 4 uniforms, centred and scaled). */
export function randomTensor(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  for (let i = 0; i < n; i++) out[i] = (next() + next() + next() + next() - 2) * 1.7320508;
  return out;
}


function maskArg(g: GeneratedMask): Mask | readonly Mask[] {
  return g.heads.length === 1 ? g.heads[0] : g.heads;
}

export class CpuKernelExecutor implements KernelExecutor {
  readonly id = 'cpu';

  async environment() {
    return cpuEnvironment({ libs: { node: process.versions.node, cpu: os.cpus()[0]?.model ?? 'unknown', threads: '1' } });
  }

  async available(): Promise<ReadonlySet<string>> {
    return new Set<string>(CPU_KERNELS);
  }

  async run(c: KernelCase, g: GeneratedMask): Promise<CaseOutcome> {
    if (c.batch !== 1) return { status: 'unsupported', message: 'the cpu executor runs batch 1', times: null, memory: null, error: null };
    if (g.heads.length > 1 && g.heads.length !== c.headsKv)
      return { status: 'unsupported', message: `per-head mask has ${g.heads.length} heads but the case has ${c.headsKv} KV heads`, times: null, memory: null, error: null };
    const S = c.seqlen;
    const D = c.headDim;
    const shape = { seqlenQ: S, seqlenK: S, headsQ: c.headsQ, headsKv: c.headsKv, headDim: D };
    const q = randomTensor(c.headsQ * S * D, c.seed * 3 + 1);
    const k = randomTensor(c.headsKv * S * D, c.seed * 3 + 2);
    const v = randomTensor(c.headsKv * S * D, c.seed * 3 + 3);
    const dout = randomTensor(c.headsQ * S * D, c.seed * 3 + 4);
    const mask = maskArg(g);
    const ref = c.kernel === 'reference';
    const fwd = () => (ref ? referenceForward(q, k, v, mask, shape) : tiledForward(q, k, v, mask, shape));
    const first = fwd();
    const call =
      c.direction === 'fwd'
        ? fwd
        : () => (ref ? referenceBackward(q, k, v, mask, shape, dout) : tiledBackward(q, k, v, first.out, first.lse, dout, mask, shape));
    for (let i = 0; i < c.warmup; i++) call();
    const ms: number[] = [];
    let last: unknown;
    for (let i = 0; i < c.iters; i++) {
      const t0 = process.hrtime.bigint();
      last = call();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    let error: ErrorMetrics | null = null;
    if (S <= c.checkUpTo) {
      const dtype = ref ? 'float64' : 'float32';
      if (c.direction === 'fwd') {
        const r = referenceForward(q, k, v, mask, shape);
        const got = last as { out: ArrayLike<number>; lse: ArrayLike<number> };
        const out = errorOf(got.out, r.out);
        const lse = errorOf(got.lse, r.lse);
        error = { reference: 'cpu float64', out, lse, exceedsTolerance: exceedsTolerance(dtype, { out, lse }) };
      } else {
        const r = referenceBackward(q, k, v, mask, shape, dout);
        const got = last as { dq: ArrayLike<number>; dk: ArrayLike<number>; dv: ArrayLike<number> };
        const dq = errorOf(got.dq, r.dq);
        const dk = errorOf(got.dk, r.dk);
        const dv = errorOf(got.dv, r.dv);
        error = { reference: 'cpu float64', dq, dk, dv, exceedsTolerance: exceedsTolerance(dtype, { dq, dk, dv }) };
      }
    }
    return { status: 'ok', message: null, times: { ...summarize(ms), compileMs: null }, memory: null, error, notes: ['one CPU thread'] };
  }

  async close(): Promise<void> {}
}
