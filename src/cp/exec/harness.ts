// What every CP executor run needs around the rank programs: deterministic inputs, the per-rank
// shards, the reduce-scatter chunk sizes, reassembly of the outputs, and the comparison with the
// single-rank float64 reference. Also an in-process runner (all ranks in one thread).
import { referenceBackward, referenceForward } from '../../kernels/cpu/index.js';
import { rngFor } from '../../mask/prng.js';
import type { Mask, Range } from '../../mask/types.js';
import type { ErrorMetrics } from '../../results/schema.js';
import { errorOf, exceedsTolerance } from '../../util/tolerance.js';
import type { BufferDesc, CpShape, Plan } from '../types.js';
import { runPhase, type Phase, type RankRuntime, type Span } from './rank.js';
import { LocalBus } from './transport.js';
import { gatherTokens, layoutOf, scatterTokens } from './tensors.js';

/** Global tensors: Q, dO [headsQ, S, D]; K, V [headsKv, S, D]. */
export interface GlobalInputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly dout: Float32Array;
}

export interface RankInputs {
  readonly q: Float32Array;
  readonly kv: Float32Array;
  readonly do: Float32Array;
}

export interface RankOutputs {
  /** out then lse (o buffer layout). */
  readonly o: Float32Array;
  readonly dq: Float32Array;
  /** dK then dV. */
  readonly dkv: Float32Array;
}

export interface RankTiming {
  readonly fwdMs: number;
  readonly bwdMs: number;
  readonly spans: readonly Span[];
}

/** Uniform [-1, 1) inputs from a seed (the project's PRNG, one stream per tensor). */
export function randomInputs(S: number, shape: CpShape, seed: number): GlobalInputs {
  const fill = (n: number, label: string) => {
    const rng = rngFor(seed, `cp-inputs:${label}`);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = 2 * rng.float() - 1;
    return a;
  };
  const D = shape.headDim;
  return {
    q: fill(shape.headsQ * S * D, 'q'),
    k: fill(shape.headsKv * S * D, 'k'),
    v: fill(shape.headsKv * S * D, 'v'),
    dout: fill(shape.headsQ * S * D, 'dout'),
  };
}

const heads = (n: number): Range => ({ start: 0, end: n });

export function rankInputs(plan: Plan, g: GlobalInputs): RankInputs[] {
  const { headsQ, headsKv, headDim: D } = plan.shape;
  const S = plan.seqlen;
  return plan.ranks.map((rp) => {
    const k = gatherTokens(g.k, S, D, heads(headsKv), rp.owned);
    const v = gatherTokens(g.v, S, D, heads(headsKv), rp.owned);
    const kv = new Float32Array(k.length + v.length);
    kv.set(k);
    kv.set(v, k.length);
    return { q: gatherTokens(g.q, S, D, heads(headsQ), rp.owned), kv, do: gatherTokens(g.dout, S, D, heads(headsQ), rp.owned) };
  });
}

/**
 * Token counts of every reduce-scatter chunk, per rank, keyed `${phase}:${step}`: chunk c is the
 * output of group member c (the k-th collective of a group is the same call on every member).
 */
export function reduceScatterChunks(plan: Plan): Record<string, number[]>[] {
  const out: Record<string, number[]>[] = plan.ranks.map(() => ({}));
  for (const phase of ['forward', 'backward'] as const) {
    const seq = new Map<string, { rank: number; step: number; output: BufferDesc | undefined }[]>();
    for (const rp of plan.ranks) {
      const steps = phase === 'forward' ? rp.forward : rp.backward;
      const counter = new Map<string, number>();
      steps.forEach((s, i) => {
        if (s.kind !== 'all_to_all' && s.kind !== 'all_gather' && s.kind !== 'reduce_scatter') return;
        const key = s.group.join(',');
        const k = counter.get(key) ?? 0;
        counter.set(key, k + 1);
        if (s.kind !== 'reduce_scatter') return;
        const list = seq.get(`${key}#${k}`) ?? [];
        list.push({ rank: rp.rank, step: i, output: rp.buffers.find((b) => b.name === s.output) });
        seq.set(`${key}#${k}`, list);
      });
    }
    for (const [key, members] of seq) {
      const group = key.split('#')[0].split(',').map(Number);
      const byRank = new Map(members.map((m) => [m.rank, m.output]));
      const counts = group.map((r) => {
        const o = byRank.get(r);
        return o ? layoutOf(o, plan.shape.headDim).tokens : 0;
      });
      for (const m of members) out[m.rank][`${phase}:${m.step}`] = counts;
    }
  }
  return out;
}

export interface Assembled {
  readonly out: Float32Array;
  readonly lse: Float32Array;
  readonly dq: Float32Array;
  readonly dk: Float32Array;
  readonly dv: Float32Array;
}

export function assemble(plan: Plan, outputs: readonly RankOutputs[]): Assembled {
  const { headsQ, headsKv, headDim: D } = plan.shape;
  const S = plan.seqlen;
  const a = {
    out: new Float32Array(headsQ * S * D),
    lse: new Float32Array(headsQ * S),
    dq: new Float32Array(headsQ * S * D),
    dk: new Float32Array(headsKv * S * D),
    dv: new Float32Array(headsKv * S * D),
  };
  plan.ranks.forEach((rp, r) => {
    const o = outputs[r];
    const T = rp.owned.reduce((n, x) => n + x.end - x.start, 0);
    scatterTokens(o.o, a.out, S, D, heads(headsQ), rp.owned);
    scatterTokens(o.o, a.lse, S, 1, heads(headsQ), rp.owned, headsQ * T * D);
    scatterTokens(o.dq, a.dq, S, D, heads(headsQ), rp.owned);
    scatterTokens(o.dkv, a.dk, S, D, heads(headsKv), rp.owned);
    scatterTokens(o.dkv, a.dv, S, D, heads(headsKv), rp.owned, headsKv * T * D);
  });
  return a;
}

export interface Reference {
  readonly out: Float64Array;
  readonly lse: Float64Array;
  readonly dq: Float64Array;
  readonly dk: Float64Array;
  readonly dv: Float64Array;
}

/** The float64 single-rank reference; `deadline` (Date.now() ms) ends it with a timeout error. */
export function reference(mask: Mask, shape: CpShape, g: GlobalInputs, deadline?: number): Reference {
  const s = { seqlenQ: mask.seqlenQ, seqlenK: mask.seqlenK, headsQ: shape.headsQ, headsKv: shape.headsKv, headDim: shape.headDim };
  const f = referenceForward(g.q, g.k, g.v, mask, s, { deadline });
  const b = referenceBackward(g.q, g.k, g.v, mask, s, g.dout, { deadline });
  return { out: f.out, lse: f.lse, dq: b.dq, dk: b.dk, dv: b.dv };
}


export function compare(got: Assembled, want: Reference, dtype = 'float32'): ErrorMetrics {
  const m = {
    out: errorOf(got.out, want.out),
    lse: errorOf(got.lse, want.lse),
    dq: errorOf(got.dq, want.dq),
    dk: errorOf(got.dk, want.dk),
    dv: errorOf(got.dv, want.dv),
  };
  return { reference: 'cpu float64 reference (single rank)', ...m, exceedsTolerance: exceedsTolerance(dtype, m) };
}

/** Runs every rank in this thread over a LocalBus (fast checks; no parallelism). */
export async function runLocal(plan: Plan, inputs: readonly RankInputs[], timeoutMs = 60_000): Promise<{ outputs: RankOutputs[]; timing: RankTiming[] }> {
  const bus = new LocalBus(plan.world);
  const chunks = reduceScatterChunks(plan);
  const t0 = performance.now();
  const rts: RankRuntime[] = plan.ranks.map((rp, r) => ({
    program: rp,
    shape: plan.shape,
    comm: bus.comm(r),
    now: () => performance.now() - t0,
    rsChunks: chunks[r],
    buffers: new Map([
      ['q', inputs[r].q],
      ['kv', inputs[r].kv],
    ]),
    spans: [],
  }));
  const ms: Record<Phase, number[]> = { forward: [], backward: [] };
  for (const phase of ['forward', 'backward'] as const) {
    if (phase === 'backward') rts.forEach((rt, r) => rt.buffers.set('do', inputs[r].do));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${phase} did not finish within ${timeoutMs} ms (ranks stalled)`)), timeoutMs);
    });
    try {
      ms[phase] = await Promise.race([Promise.all(rts.map((rt) => runPhase(rt, phase))), stall]);
    } finally {
      clearTimeout(timer);
    }
  }
  const outputs = rts.map((rt) => ({ o: rt.buffers.get('o')!, dq: rt.buffers.get('dq')!, dkv: rt.buffers.get('dkv')! }));
  return { outputs, timing: rts.map((rt, r) => ({ fwdMs: ms.forward[r], bwdMs: ms.backward[r], spans: rt.spans })) };
}
