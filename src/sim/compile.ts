// Compilation of rank programs for the plan simulation (simulate.ts): each rank's steps become
// flat typed arrays (step codes, compute durations from the kernel model, interned p2p op lists,
// collective byte counts) that the event loop (engine.ts) walks without touching step objects.
import type { BufferDesc, Plan, Step } from '../cp/types.js';
import type { Mask } from '../mask/types.js';
import type { Cluster } from './hardware.js';
import { DIRECTION_FACTOR, elementwiseMs, kernelCall, type KernelModel } from './kernel-model.js';
import { tileProfile, type TileProfile } from './tiles.js';

export type CollStep = Extract<Step, { kind: 'all_to_all' | 'all_gather' | 'reduce_scatter' }>;

/** Step kinds in the low 2 bits of a step code. */
export const K_COMPUTE = 0;
export const K_WAIT = 1;
export const K_P2P = 2;
export const K_COLL = 3;

/**
 * A rank's program flattened before the event loop, so that the loop touches small contiguous data
 * instead of millions of step objects, and bytes / durations are looked up once. The encoding is
 * lean on purpose (a 1024-rank ring plan has ~5M steps, and hundreds of MB of new arrays would make
 * V8 run full GCs over the plan, which is often much larger): per step one int32 `code` = kind (low
 * 2 bits) + an index; compute steps index the durations; waits give their handle id; p2p steps
 * index their (op list, handle) pairs, and op lists are interned (a ring rank repeats one list
 * thousands of times); collectives index the coll* arrays. A rank's numbers sit in one int32 and
 * one float64 view (views into arena buffers shared by all ranks).
 */
export interface Compiled {
  /** Steps. */
  readonly n: number;
  /**
   * The rank's int32 data in one view (one object to load on a visit, neighbours on one cache line):
   *   [0, n)                  code of each step
   *   p2pAt + 2 pi, + 1       p2p step pi: its interned op list, its handle id (-1: synchronous)
   *   listsAt + 2 l, + 1      op list l: first op, op count
   *   opsAt + 2 k, + 1        op k (with another rank): peer for a send, -1 - peer for a receive;
   *                           the (sender, receiver) pair's queue index
   */
  readonly i32: Int32Array;
  readonly p2pAt: number;
  readonly listsAt: number;
  readonly opsAt: number;
  /** Float64 data: duration of each compute step [0, #compute); bytes of op k (0 for a receive) at opBytesAt + k. */
  readonly f64: Float64Array;
  readonly opBytesAt: number;
  /** Per compute step, for traces only: name (COMPUTE_NAMES index) and FLOPs. */
  readonly cname: readonly number[] | null;
  readonly cflops: readonly number[] | null;
  readonly colls: readonly CollStep[];
  readonly collHid: readonly number[];
  /** Per collective: its channel (0: the default group, shared with p2p). */
  readonly collChan: readonly number[];
  /** Channel names (for traces): 0 'default', then one per smaller group. */
  readonly chanNames: readonly string[];
  /** Per collective: bytes of each send chunk (all_to_all) or the rank's chunk (all_gather input, reduce_scatter output). */
  readonly collBytes: readonly (readonly number[])[];
  readonly nHandles: number;
  readonly flops: number;
}

const mix = (h: number, x: number): number => Math.imul(h ^ (x | 0) ^ ((x / 4294967296) | 0), 0x01000193);

/** Shares the tile profiles of equal sub-masks across steps (planners repeat shapes a lot). */
export class PairsCache {
  private readonly byHash = new Map<number, { mask: Mask; pairs: TileProfile }[]>();
  hits = 0;
  misses = 0;

  get(m: Mask): TileProfile {
    let h = mix(mix(0x811c9dc5, m.seqlenQ), m.seqlenK);
    const sl = m.slices;
    for (let i = 0; i < sl.length; i++) {
      const s = sl[i];
      h = mix(mix(mix(mix(mix(h, s.qStart), s.qEnd), s.kStart), s.kEnd), s.kind.charCodeAt(0) + s.kind.length);
    }
    let bucket = this.byHash.get(h);
    if (bucket) {
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i];
        if (sameMask(e.mask, m)) {
          this.hits++;
          return e.pairs;
        }
      }
    } else this.byHash.set(h, (bucket = []));
    this.misses++;
    const pairs = tileProfile([{ mask: m, weight: 1 }]);
    bucket.push({ mask: m, pairs });
    return pairs;
  }
}

function sameMask(a: Mask, b: Mask): boolean {
  if (a === b) return true;
  if (a.seqlenQ !== b.seqlenQ || a.seqlenK !== b.seqlenK || a.slices.length !== b.slices.length) return false;
  for (let i = 0; i < a.slices.length; i++) {
    const x = a.slices[i];
    const y = b.slices[i];
    if (x.qStart !== y.qStart || x.qEnd !== y.qEnd || x.kStart !== y.kStart || x.kEnd !== y.kEnd || x.kind !== y.kind) return false;
  }
  return true;
}

export function dtypeOf(plan: Plan): string {
  return plan.shape.dtypeBytes === 4 ? 'float32' : plan.shape.dtypeBytes === 2 ? 'bfloat16' : `bytes${plan.shape.dtypeBytes}`;
}

/**
 * Names (buffers, handles) to one rank's values without building a Map per rank: one Map from name
 * to slot is shared by every rank (planners reuse names across ranks, so it stops growing early),
 * and a slot's value counts only when stamped with the current rank's epoch.
 */
class NameTable {
  private slots = new Map<string, number>();
  private stamp = new Int32Array(1024);
  private value = new Float64Array(1024);
  private epoch = 0;
  /** Values set in the current epoch. */
  size = 0;

  /** Starts a new rank: every name is unset again. */
  begin(): void {
    this.epoch++;
    this.size = 0;
    // Plans with names unique to each rank: keep the table bounded (a stale slot is never stamped).
    if (this.slots.size > 1 << 20) this.slots = new Map();
  }

  set(name: string, value: number): void {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(name, slot);
      if (slot === this.stamp.length) {
        const st = new Int32Array(2 * slot);
        st.set(this.stamp);
        this.stamp = st;
        const v = new Float64Array(2 * slot);
        v.set(this.value);
        this.value = v;
      }
    }
    if (this.stamp[slot] !== this.epoch) {
      this.stamp[slot] = this.epoch;
      this.size++;
    }
    this.value[slot] = value;
  }

  get(name: string): number | undefined {
    const slot = this.slots.get(name);
    return slot !== undefined && this.stamp[slot] === this.epoch ? this.value[slot] : undefined;
  }
}

/** Elements per arena buffer (bounds the unused tail of the last buffer: 1 MB of int32, 2 MB of float64). */
const ARENA_CHUNK = 1 << 18;

/**
 * Bump allocator of typed-array views: the compiled arrays of every rank are exact-sized views into
 * a few buffers instead of thousands of small ArrayBuffers. Those were slow to create, and their
 * total counts as external memory: past 64 MB of new ArrayBuffers V8 starts a full marking of the
 * heap, the plan included (seconds at 1024 ranks), so the compiled program stays compact too.
 */
class Arena<T extends Int32Array | Float64Array> {
  private buf: T;
  private pos = 0;

  constructor(private readonly make: (n: number) => T) {
    this.buf = make(0);
  }

  take(n: number): T {
    if (this.pos + n > this.buf.length) {
      this.buf = this.make(Math.max(n, ARENA_CHUNK));
      this.pos = 0;
    }
    const v = this.buf.subarray(this.pos, this.pos + n) as T;
    this.pos += n;
    return v;
  }
}

export interface CompileCtx {
  readonly plan: Plan;
  readonly cluster: Cluster;
  readonly kernels: KernelModel;
  readonly cache: PairsCache;
  readonly dtype: string;
  readonly trace: boolean;
  readonly recompute: boolean;
  fallback: boolean;
  /** The rank's buffer name -> bytes, and handle name -> id (set by compile). */
  readonly bufBytes: NameTable;
  readonly handles: NameTable;
  /** (sender * world + receiver) -> index of the pair's p2p queue. */
  readonly pairIndex: Map<number, number>;
  /** Scratch for one p2p step's op list. */
  readonly tmpPeer: number[];
  readonly tmpBytes: number[];
  readonly i32: Arena<Int32Array>;
  readonly f64: Arena<Float64Array>;
  /** Per-rank scratch (reused; grown to the longest program): codes, durations, p2p (list, handle) pairs. */
  sCode: Int32Array;
  sDur: Float64Array;
  sP2P: Int32Array;
}

export function compile(ctx: CompileCtx, r: number, steps: readonly Step[], buffers: readonly BufferDesc[]): Compiled {
  const bufBytes = ctx.bufBytes;
  bufBytes.begin();
  for (let i = 0; i < buffers.length; i++) bufBytes.set(buffers[i].name, buffers[i].bytes);
  const handles = ctx.handles;
  handles.begin();
  const n = steps.length;
  // Scratch sized for the whole program; packed into exact-sized views at the end.
  if (ctx.sCode.length < n) {
    ctx.sCode = new Int32Array(n);
    ctx.sDur = new Float64Array(n);
    ctx.sP2P = new Int32Array(2 * n);
  }
  const code = ctx.sCode;
  const dur = ctx.sDur;
  const p2p = ctx.sP2P;
  // Names and FLOPs of compute steps are only drawn in traces.
  const cname: number[] | null = ctx.trace ? [] : null;
  const cflops: number[] | null = ctx.trace ? [] : null;
  const listStart: number[] = [];
  const listCnt: number[] = [];
  const opPeer: number[] = [];
  const opBytes: number[] = [];
  const opPair: number[] = [];
  const lists = new Map<number, number[]>();
  const tmpPeer = ctx.tmpPeer;
  const tmpBytes = ctx.tmpBytes;
  let nTmp = 0;
  const colls: CollStep[] = [];
  const collHid: number[] = [];
  const collChan: number[] = [];
  const chanNames: string[] = ['comm'];
  const chans = new Map<string, number>();
  const collBytes: number[][] = [];
  let flops = 0;
  let ci = 0;
  let pi = 0;
  const bytesOf = (buf: string): number => {
    const b = bufBytes.get(buf);
    if (b === undefined) throw new Error(`rank ${r}: buffer '${buf}' is not declared`);
    return b;
  };
  const overlapBytes = (from: string, into: string): number => {
    const a = bytesOf(from);
    const b = bufBytes.get(into);
    return b === undefined ? a : Math.min(a, b);
  };
  const handleId = (h: string | undefined): number => {
    if (h === undefined) return -1;
    let id = handles.get(h);
    if (id === undefined) handles.set(h, (id = handles.size));
    return id;
  };
  const compute = (ms: number, name: number, f: number): number => {
    dur[ci] = ms;
    if (cname) cname.push(name);
    if (cflops) cflops.push(f);
    return K_COMPUTE | (ci++ << 2);
  };
  /** Index of the op list in tmpPeer / tmpBytes, interned. */
  const intern = (): number => {
    let h = 0x811c9dc5;
    for (let j = 0; j < nTmp; j++) h = mix(mix(h, tmpPeer[j]), tmpBytes[j]);
    let bucket = lists.get(h);
    if (bucket) {
      outer: for (let b = 0; b < bucket.length; b++) {
        const l = bucket[b];
        if (listCnt[l] !== nTmp) continue;
        const a = listStart[l];
        for (let j = 0; j < nTmp; j++) if (opPeer[a + j] !== tmpPeer[j] || opBytes[a + j] !== tmpBytes[j]) continue outer;
        return l;
      }
    } else lists.set(h, (bucket = []));
    const l = listStart.length;
    listStart.push(opPeer.length);
    listCnt.push(nTmp);
    const P = ctx.plan.world;
    for (let j = 0; j < nTmp; j++) {
      const code = tmpPeer[j];
      opPeer.push(code);
      opBytes.push(tmpBytes[j]);
      const key = code >= 0 ? r * P + code : (-1 - code) * P + r;
      let pair = ctx.pairIndex.get(key);
      if (pair === undefined) ctx.pairIndex.set(key, (pair = ctx.pairIndex.size));
      opPair.push(pair);
    }
    bucket.push(l);
    return l;
  };
  const headDim = ctx.plan.shape.headDim;
  for (let i = 0; i < n; i++) {
    const s = steps[i];
    switch (s.kind) {
      case 'attn':
      case 'attn_bwd': {
        const heads = s.heads.end - s.heads.start;
        const kvHeads = Math.max(1, Math.ceil((heads * ctx.plan.shape.headsKv) / ctx.plan.shape.headsQ));
        const profile = ctx.cache.get(s.mask);
        const call = kernelCall(profile, heads, headDim, s.kind === 'attn' ? 'fwd' : 'bwd', ctx.dtype, s.flops, kvHeads);
        const pr = ctx.kernels.predict(call);
        if (pr.fallback) ctx.fallback = true;
        let ms = pr.ms;
        if (s.kind === 'attn_bwd' && ctx.recompute) {
          const fwdCall = kernelCall(profile, heads, headDim, 'fwd', ctx.dtype, s.flops / DIRECTION_FACTOR.bwd, kvHeads);
          const fwd = ctx.kernels.predict(fwdCall);
          if (fwd.fallback) ctx.fallback = true;
          ms += fwd.ms;
        }
        flops += s.flops;
        code[i] = compute(ms, s.kind === 'attn' ? 0 : 1, s.flops);
        break;
      }
      // Elementwise steps work on the elements both buffers hold (types.ts): at most the smaller one.
      case 'merge':
      case 'accumulate':
        code[i] = compute(elementwiseMs(ctx.cluster, 3 * overlapBytes(s.from, s.into)), s.kind === 'merge' ? 2 : 3, 0);
        break;
      case 'copy':
        code[i] = compute(elementwiseMs(ctx.cluster, 2 * overlapBytes(s.from, s.into)), 4, 0);
        break;
      case 'wait':
        code[i] = K_WAIT | (handleId(s.handle) << 2);
        break;
      case 'p2p': {
        nTmp = 0;
        const ops = s.ops;
        for (let j = 0; j < ops.length; j++) {
          const o = ops[j];
          if (o.peer === r) continue;
          if (!(o.peer >= 0 && o.peer < ctx.plan.world)) throw new Error(`rank ${r} step ${i}: p2p peer ${o.peer} outside the world`);
          tmpPeer[nTmp] = o.op === 'send' ? o.peer : -1 - o.peer;
          tmpBytes[nTmp++] = o.op === 'send' ? bytesOf(o.buf) : 0;
        }
        p2p[2 * pi] = intern();
        p2p[2 * pi + 1] = handleId(s.handle);
        code[i] = K_P2P | (pi++ << 2);
        break;
      }
      default: {
        code[i] = K_COLL | (colls.length << 2);
        colls.push(s);
        collHid.push(handleId(s.handle));
        if (s.group.length >= ctx.plan.world) collChan.push(0);
        else {
          const key = [...s.group].sort((a, b) => a - b).join(',');
          let ch = chans.get(key);
          if (ch === undefined) {
            chans.set(key, (ch = chanNames.length));
            chanNames.push(`comm [${s.group.length <= 8 ? key : `${s.group.length} ranks`}]`);
          }
          collChan.push(ch);
        }
        collBytes.push(s.kind === 'all_to_all' ? s.send.map(bytesOf) : [bytesOf(s.kind === 'all_gather' ? s.input : s.output)]);
      }
    }
  }
  const nLists = listStart.length;
  const nOps = opPeer.length;
  const p2pAt = n;
  const listsAt = p2pAt + 2 * pi;
  const opsAt = listsAt + 2 * nLists;
  const i32 = ctx.i32.take(opsAt + 2 * nOps);
  i32.set(code.subarray(0, n), 0);
  i32.set(p2p.subarray(0, 2 * pi), p2pAt);
  for (let l = 0; l < nLists; l++) {
    i32[listsAt + 2 * l] = listStart[l];
    i32[listsAt + 2 * l + 1] = listCnt[l];
  }
  const f64 = ctx.f64.take(ci + nOps);
  f64.set(dur.subarray(0, ci), 0);
  for (let k = 0; k < nOps; k++) {
    i32[opsAt + 2 * k] = opPeer[k];
    i32[opsAt + 2 * k + 1] = opPair[k];
    f64[ci + k] = opBytes[k];
  }
  return {
    n,
    i32,
    p2pAt,
    listsAt,
    opsAt,
    f64,
    opBytesAt: ci,
    cname,
    cflops,
    colls,
    collHid,
    collChan,
    chanNames,
    collBytes,
    nHandles: handles.size,
    flops,
  };
}

/** A fresh compilation context for one plan (shared name tables, arenas and scratch). */
export function newCompileCtx(plan: Plan, cluster: Cluster, kernels: KernelModel, cache: PairsCache, o: { dtype: string; trace: boolean; recompute: boolean }): CompileCtx {
  return {
    plan,
    cluster,
    kernels,
    cache,
    dtype: o.dtype,
    trace: o.trace,
    fallback: false,
    recompute: o.recompute,
    bufBytes: new NameTable(),
    handles: new NameTable(),
    pairIndex: new Map(),
    tmpPeer: [],
    tmpBytes: [],
    i32: new Arena((k) => new Int32Array(k)),
    f64: new Arena((k) => new Float64Array(k)),
    sCode: new Int32Array(0),
    sDur: new Float64Array(0),
    sP2P: new Int32Array(0),
  };
}
