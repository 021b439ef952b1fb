// The rank interpreter: runs one rank program's steps in order over any message transport
// (worker-thread MessagePorts, or an in-process bus). Collectives are built from point-to-point
// messages here, so every transport only needs ordered send / recv per pair of ranks.
//
// Posting semantics: a communication step sends everything at once (messages are buffered) and
// reserves its receive slots in order; a step with a handle completes at its `wait`, one without
// completes before the next step. Per pair of ranks messages arrive in posting order, which the
// checker proves both sides agree on; a mismatch (wrong kind or size) fails the step.
import type { BufferDesc, CpShape, RankProgram, Step } from '../types.js';
import { mergePartial } from '../merge.js';
import { attnBackward, attnForward, type Operand } from './kernel.js';
import { allocate, copyByCoords, layoutOf, perToken, placeTokens, sliceTokens } from './tensors.js';

export type Phase = 'forward' | 'backward';

export interface Comm {
  /** Non-blocking; the data is copied (or transferred) by the transport. */
  send(peer: number, tag: string, data: Float32Array): void;
  /** Reserves the next message from `peer` now; resolves when it arrives. */
  recv(peer: number, tag: string): Promise<Float32Array>;
}

export interface Span {
  readonly name: string;
  readonly cat: 'compute' | 'comm' | 'wait';
  readonly phase: Phase;
  readonly step: number;
  /** Milliseconds since the run's time origin. */
  readonly t0: number;
  t1: number;
}

export interface RankRuntime {
  readonly program: RankProgram;
  readonly shape: CpShape;
  readonly comm: Comm;
  /** Milliseconds since the run's time origin. */
  readonly now: () => number;
  /** Reduce-scatter chunk token counts (group order), keyed `${phase}:${step}`. */
  readonly rsChunks: Readonly<Record<string, readonly number[]>>;
  readonly buffers: Map<string, Float32Array>;
  readonly spans: Span[];
  /** Called as soon as an asynchronous step fails (before its wait), so a run can stop early. */
  readonly onAsyncError?: (e: StepError) => void;
}

export class StepError extends Error {
  constructor(
    readonly phase: Phase,
    readonly step: number,
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

function makeCtx(rt: RankRuntime) {
  const descs = new Map<string, BufferDesc>(rt.program.buffers.map((d) => [d.name, d]));
  const D = rt.shape.headDim;
  const desc = (name: string) => {
    const d = descs.get(name);
    if (!d) throw new Error(`buffer ${name} is not declared`);
    return d;
  };
  const get = (name: string): Float32Array => {
    const b = rt.buffers.get(name);
    if (!b) throw new Error(`buffer ${name} does not exist yet`);
    return b;
  };
  const getOrCreate = (name: string): Float32Array => {
    let b = rt.buffers.get(name);
    if (!b) rt.buffers.set(name, (b = allocate(desc(name), D)));
    return b;
  };
  const operand = (name: string): Operand => ({ desc: desc(name), data: get(name) });
  const put = (name: string, data: Float32Array, from: string) => {
    const want = layoutOf(desc(name), D).length;
    if (data.length !== want) throw new Error(`${from} delivered ${data.length} values for ${name}, which holds ${want}`);
    if (rt.buffers.has(name)) throw new Error(`receive into ${name}, which already exists`);
    rt.buffers.set(name, data);
  };
  return { desc, get, getOrCreate, operand, put, D };
}

export async function runPhase(rt: RankRuntime, phase: Phase): Promise<number> {
  const steps = phase === 'forward' ? rt.program.forward : rt.program.backward;
  const ctx = makeCtx(rt);
  const pending = new Map<string, { promise: Promise<void>; span: Span }>();
  const me = rt.program.rank;
  const t0 = rt.now();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const fail = (e: unknown): never => {
      if (e instanceof StepError) throw e;
      throw new StepError(phase, i, s.kind, (e as Error)?.message ?? String(e));
    };
    try {
      if (s.kind === 'wait') {
        const p = pending.get(s.handle);
        if (!p) throw new Error(`handle ${s.handle} is not in flight`);
        pending.delete(s.handle);
        const span: Span = { name: `wait ${s.handle}`, cat: 'wait', phase, step: i, t0: rt.now(), t1: 0 };
        await p.promise;
        span.t1 = rt.now();
        rt.spans.push(span);
        continue;
      }
      const comm = postComm(rt, ctx, s, phase, i, me);
      if (comm) {
        const span: Span = { name: commName(s), cat: 'comm', phase, step: i, t0: rt.now(), t1: 0 };
        const done = comm.then(
          () => {
            span.t1 = rt.now();
            rt.spans.push(span);
          },
          (e) => fail(e),
        );
        const handle = 'handle' in s ? s.handle : undefined;
        if (handle !== undefined) {
          done.catch((e: StepError) => rt.onAsyncError?.(e)); // and again at the wait
          pending.set(handle, { promise: done, span });
        } else await done;
        continue;
      }
      const span: Span = { name: s.kind, cat: 'compute', phase, step: i, t0: rt.now(), t1: 0 };
      compute(rt, ctx, s);
      span.t1 = rt.now();
      rt.spans.push(span);
    } catch (e) {
      fail(e);
    }
  }
  if (pending.size) throw new StepError(phase, steps.length, 'wait', `handles never waited: ${[...pending.keys()].join(', ')}`);
  return rt.now() - t0;
}

function commName(s: Step): string {
  if (s.kind !== 'p2p') return s.kind;
  const peers = s.ops.map((o) => `${o.op === 'send' ? '>' : '<'}${o.peer}`).join(' ');
  return `p2p ${peers}`;
}

type Ctx = ReturnType<typeof makeCtx>;

/** Starts a communication step; returns its completion, or null for compute steps. */
function postComm(rt: RankRuntime, ctx: Ctx, s: Step, phase: Phase, i: number, me: number): Promise<void> | null {
  const tag = `${phase}:${s.kind}`;
  switch (s.kind) {
    case 'p2p': {
      const recvs: Promise<void>[] = [];
      for (const o of s.ops) {
        if (o.op === 'send') rt.comm.send(o.peer, tag, ctx.get(o.buf));
        else recvs.push(rt.comm.recv(o.peer, tag).then((d) => ctx.put(o.buf, d, `rank ${o.peer}`)));
      }
      return Promise.all(recvs).then(() => undefined);
    }
    case 'all_to_all': {
      const recvs: Promise<void>[] = [];
      s.group.forEach((peer, c) => {
        if (peer === me) ctx.put(s.recv[c], ctx.get(s.send[c]).slice(), 'self');
        else rt.comm.send(peer, tag, ctx.get(s.send[c]));
      });
      s.group.forEach((peer, c) => {
        if (peer !== me) recvs.push(rt.comm.recv(peer, tag).then((d) => ctx.put(s.recv[c], d, `rank ${peer}`)));
      });
      return Promise.all(recvs).then(() => undefined);
    }
    case 'all_gather': {
      const input = ctx.get(s.input);
      for (const peer of s.group) if (peer !== me) rt.comm.send(peer, tag, input);
      const chunks = s.group.map((peer) => (peer === me ? Promise.resolve(input) : rt.comm.recv(peer, tag)));
      return Promise.all(chunks).then((parts) => {
        const od = ctx.desc(s.output);
        const out = allocate(od, ctx.D);
        const per = perToken(od, ctx.D);
        let t = 0;
        for (const part of parts) {
          const n = part.length / per;
          if (!Number.isInteger(n) || t + n > layoutOf(od, ctx.D).tokens) throw new Error(`all_gather chunk of ${part.length} values does not fit ${s.output}`);
          placeTokens(od, out, part, ctx.D, t, n);
          t += n;
        }
        ctx.put(s.output, out, 'all_gather');
      });
    }
    case 'reduce_scatter': {
      const counts = rt.rsChunks[`${phase}:${i}`];
      if (!counts || counts.length !== s.group.length) throw new Error('reduce_scatter chunk sizes unknown');
      const id = ctx.desc(s.input);
      const input = ctx.get(s.input);
      const offsets: number[] = [];
      counts.reduce((a, n) => (offsets.push(a), a + n), 0);
      const pos = s.group.indexOf(me);
      s.group.forEach((peer, c) => {
        if (peer !== me) rt.comm.send(peer, tag, sliceTokens(id, input, ctx.D, offsets[c], counts[c]));
      });
      const parts = s.group.map((peer) =>
        peer === me ? Promise.resolve(sliceTokens(id, input, ctx.D, offsets[pos], counts[pos])) : rt.comm.recv(peer, tag),
      );
      return Promise.all(parts).then((ps) => {
        const out = new Float32Array(ps[0].length);
        for (const p of ps) {
          if (p.length !== out.length) throw new Error(`reduce_scatter chunk of ${p.length} values, expected ${out.length}`);
          for (let t = 0; t < out.length; t++) out[t] += p[t];
        }
        ctx.put(s.output, out, 'reduce_scatter');
      });
    }
    default:
      return null;
  }
}

function compute(rt: RankRuntime, ctx: Ctx, s: Step): void {
  const D = ctx.D;
  switch (s.kind) {
    case 'attn': {
      ctx.getOrCreate(s.out);
      attnForward(ctx.operand(s.q), ctx.operand(s.kv), ctx.operand(s.out), s.heads, s.mask, rt.shape);
      return;
    }
    case 'merge': {
      const from = ctx.get(s.from);
      const into = rt.buffers.get(s.into);
      if (!into) {
        rt.buffers.set(s.into, from.slice());
        return;
      }
      const l = layoutOf(ctx.desc(s.into), D);
      if (from.length !== into.length) throw new Error(`merge of ${s.from} into ${s.into}: sizes differ`);
      mergePartial(into.subarray(0, l.lseAt), into.subarray(l.lseAt), from.subarray(0, l.lseAt), from.subarray(l.lseAt), l.heads * l.tokens, D);
      return;
    }
    case 'attn_bwd': {
      ctx.getOrCreate(s.dq);
      ctx.getOrCreate(s.dkv);
      if (s.lse !== s.o) throw new Error('the CPU executor expects lse inside the o buffer');
      attnBackward(ctx.operand(s.q), ctx.operand(s.kv), ctx.operand(s.o), ctx.operand(s.dout), ctx.operand(s.dq), ctx.operand(s.dkv), s.heads, s.mask, rt.shape);
      return;
    }
    case 'accumulate':
    case 'copy': {
      const into = ctx.getOrCreate(s.into);
      copyByCoords(ctx.desc(s.from), ctx.get(s.from), ctx.desc(s.into), into, D, s.kind === 'accumulate');
      return;
    }
    default:
      throw new Error(`unexpected step kind ${s.kind}`);
  }
}
