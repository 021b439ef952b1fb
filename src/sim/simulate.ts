// Plan simulation: every rank walks its steps with one compute stream and communication channels
// (NCCL streams), as a CUDA/NCCL program does.
//
//   compute step (attn, attn_bwd, merge, accumulate, copy): runs on the compute stream when the
//       previous compute step is done; its duration comes from the kernel model.
//   communication step (p2p, all_to_all, all_gather, reduce_scatter): *posted* when the compute
//       issued before it is done (NCCL's stream waits for the current stream at launch), *ready*
//       when its channel is free, *started* when every participant is ready (a collective waits
//       for its whole group, a send for its matching receive), and done when its flows have
//       crossed the network (network.ts, fluid.ts). Channels follow the torch executor
//       (python/attnbench_worker/cp/comm.py): p2p batches and collectives over the whole world
//       share the default process group's NCCL stream; each smaller group has its own, so
//       communication on different groups can run at the same time.
//   with a handle, the compute stream goes on and waits for it at the matching `wait`; without one
//       (or with overlap off), the compute stream waits for it at once.
//
// Per rank the compute stream is busy, or stalled on a communication step; a stall splits into
// waiting for late peers (ready -> started: idle from imbalance) and exposed communication. A rank
// that ends before the slowest is idle until then. So for every rank
//     compute + exposed communication + idle = iteration time (the slowest rank's end).
import type { BufferDesc, Plan, Step } from '../cp/types.js';
import type { Mask } from '../mask/types.js';
import type { Direction } from '../results/schema.js';
import { FluidNetwork } from './fluid.js';
import type { Cluster } from './hardware.js';
import { DIRECTION_FACTOR, elementwiseMs, kernelCall, type KernelModel } from './kernel-model.js';
import { tileProfile, type TileProfile } from './tiles.js';
import { allToAllTransfer, makeTopology, p2pRoute, ringTransfer, type Topology, type TransferSpec } from './network.js';

export interface SimOptions {
  readonly direction: Direction;
  /** Overlap communication with compute as the plan's handles allow (default true). */
  readonly overlap?: boolean;
  /** Record per-rank timelines (Chrome trace events); costs memory on big plans. */
  readonly trace?: boolean;
  /** 'none': communication is free (virtual ranks on one GPU). */
  readonly network?: 'model' | 'none';
  /** Kernel dtype; default from the plan's element size (2 -> bfloat16, 4 -> float32). */
  readonly dtype?: string;
  /**
   * Each backward partial call also recomputes its forward (autograd through the partial call,
   * as the GPU executor's flex path does) instead of a fused backward from the saved lse.
   */
  readonly bwdRecomputesForward?: boolean;
}

export interface RankBreakdown {
  readonly rank: number;
  /** When this rank's last step (compute or communication) is done. */
  readonly endMs: number;
  readonly computeMs: number;
  readonly exposedCommMs: number;
  /** Waiting for late peers plus the tail until the slowest rank ends. */
  readonly idleMs: number;
  readonly flops: number;
  readonly bytesSent: number;
}

/**
 * One Chrome trace event (ph 'X': a complete event with ts/dur in microseconds; 'M': metadata),
 * laid out like the CP executor's traces: pid = rank, tid 0 = compute, tid >= 1 = communication;
 * `cat` names the lane for readers that do not look at thread names.
 */
export interface TraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'M';
  readonly cat?: 'compute' | 'comm';
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  readonly args?: Readonly<Record<string, string | number>>;
}

export interface SimResult {
  readonly direction: Direction;
  readonly world: number;
  /** Iteration time: the slowest rank's end. */
  readonly makespanMs: number;
  readonly meanRankMs: number;
  readonly totalFlops: number;
  /** totalFlops / (makespan * P), and the same with the mean rank time (SPEC 6). */
  readonly tflopsPerGpu: number;
  readonly tflopsPerGpuMeanRank: number;
  /** Means over ranks; each rank's three parts sum to makespanMs. */
  readonly breakdown: { readonly computeMs: number; readonly exposedCommMs: number; readonly idleMs: number };
  readonly slowestRank: number;
  readonly ranks: readonly RankBreakdown[];
  /** True when any compute step used the roofline fallback instead of a fitted curve. */
  readonly fallback: boolean;
  readonly kernel: string;
  readonly stats: { readonly steps: number; readonly transfers: number; readonly networkEvents: number };
  readonly trace: readonly TraceEvent[] | null;
}

export const TID_COMPUTE = 0;
/** Communication channel c of a rank is drawn on thread TID_COMM + c (0: the default group). */
export const TID_COMM = 1;

type CollStep = Extract<Step, { kind: 'all_to_all' | 'all_gather' | 'reduce_scatter' }>;

/**
 * A communication step in flight on one rank. Ops are recycled (a 1024-rank ring plan posts
 * millions): one goes back to the pool once it is done, no handle refers to it any more (its
 * `wait` ran, or it had no handle) and the compute stream is not blocked on it.
 */
interface RankOp {
  rank: number;
  /** Step index in the rank's program. */
  pc: number;
  /** Index of the step in its rank's p2p* or coll* arrays. */
  idx: number;
  /** Channel (NCCL stream) of the rank this step runs on. */
  chan: number;
  /** The collective step (null for p2p). */
  coll: CollStep | null;
  post: number;
  ready: number;
  start: number;
  end: number;
  pending: number;
  doneMax: number;
  /** The next step posted on the same channel of this rank (a linked queue drops finished ops). */
  next: RankOp | null;
  /** A handle still refers to this op (its wait has not run yet). */
  held: boolean;
}

/**
 * Unmatched p2p messages of one (sender, receiver) pair, in posting order: sends (op, bytes) and
 * receives. FIFO arrays with a head index, reused in place (no allocation per message). They never
 * hold more than one step's ops: p2p steps run one at a time on a rank's default channel, and a step
 * ends only once all of its messages were matched, so a queue is empty again before its rank posts
 * the next step.
 */
class PairQueue {
  readonly sendOps: (RankOp | null)[] = [];
  readonly sendBytes: number[] = [];
  sendHead = 0;
  sendEnd = 0;
  readonly recvOps: (RankOp | null)[] = [];
  recvHead = 0;
  recvEnd = 0;

  pushSend(op: RankOp, bytes: number): void {
    if (this.sendEnd === this.sendOps.length) {
      this.sendOps.push(op);
      this.sendBytes.push(bytes);
    } else {
      this.sendOps[this.sendEnd] = op;
      this.sendBytes[this.sendEnd] = bytes;
    }
    this.sendEnd++;
  }

  /** Drops the oldest send (read it from sendOps / sendBytes at sendHead first). */
  shiftSend(): void {
    this.sendOps[this.sendHead++] = null;
    if (this.sendHead === this.sendEnd) this.sendHead = this.sendEnd = 0;
  }

  pushRecv(op: RankOp): void {
    if (this.recvEnd === this.recvOps.length) this.recvOps.push(op);
    else this.recvOps[this.recvEnd] = op;
    this.recvEnd++;
  }

  shiftRecv(): RankOp {
    const op = this.recvOps[this.recvHead]!;
    this.recvOps[this.recvHead++] = null;
    if (this.recvHead === this.recvEnd) this.recvHead = this.recvEnd = 0;
    return op;
  }
}

/** The k-th collective on one group, gathering its members as they become ready. */
interface Instance {
  readonly step: CollStep;
  readonly members: readonly number[];
  readonly ops: (RankOp | undefined)[];
  arrived: number;
}

const K_COMPUTE = 0;
const K_WAIT = 1;
const K_P2P = 2;
const K_COLL = 3;

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
interface Compiled {
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

const COMPUTE_NAMES = ['attn', 'attn_bwd', 'merge', 'accumulate', 'copy'] as const;

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

interface CompileCtx {
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

function compile(ctx: CompileCtx, r: number, steps: readonly Step[], buffers: readonly BufferDesc[]): Compiled {
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

interface RankState {
  readonly c: Compiled;
  /** c's hot fields, one load away. */
  readonly n: number;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  pc: number;
  computeFree: number;
  /** Per channel: when its last step ended, and its posted unfinished steps in order (head on the stream now). */
  readonly chanFree: number[];
  readonly chanHead: (RankOp | null)[];
  readonly chanTail: (RankOp | null)[];
  /** End of the last communication step on any channel. */
  commEnd: number;
  blocked: RankOp | null;
  readonly handles: (RankOp | null)[];
  readonly seq: Map<string, number>;
  computeMs: number;
  peerWaitMs: number;
  exposedMs: number;
  bytesSent: number;
}

/** Marks a p2p step with no op towards another rank (completes on its own). */
const SELF = { self: true };

export function simulatePlan(
  plan: Plan,
  cluster: Cluster,
  kernels: KernelModel,
  opts: SimOptions,
  cache: PairsCache = new PairsCache(),
): SimResult {
  const P = plan.world;
  const direction = opts.direction;
  const overlap = opts.overlap ?? true;
  const noNet = opts.network === 'none';
  const topo: Topology = makeTopology(cluster, P);
  const trace: TraceEvent[] | null = opts.trace ? [] : null;
  let transfers = 0;
  let totalSteps = 0;

  if (plan.ranks.length !== P) throw new Error(`plan has ${plan.ranks.length} rank programs for world ${P}`);
  const ctx: CompileCtx = {
    plan,
    cluster,
    kernels,
    cache,
    dtype: opts.dtype ?? dtypeOf(plan),
    trace: trace !== null,
    fallback: false,
    recompute: opts.bwdRecomputesForward ?? false,
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
  const ranks: RankState[] = plan.ranks.map((rp, r) => {
    const steps = direction === 'fwd' ? rp.forward : rp.backward;
    totalSteps += steps.length;
    const c = compile(ctx, r, steps, rp.buffers);
    return {
      c,
      n: c.n,
      i32: c.i32,
      f64: c.f64,
      pc: 0,
      computeFree: 0,
      chanFree: new Array<number>(c.chanNames.length).fill(0),
      chanHead: new Array<RankOp | null>(c.chanNames.length).fill(null),
      chanTail: new Array<RankOp | null>(c.chanNames.length).fill(null),
      commEnd: 0,
      blocked: null,
      handles: new Array<RankOp | null>(c.nHandles).fill(null),
      seq: new Map(),
      computeMs: 0,
      peerWaitMs: 0,
      exposedMs: 0,
      bytesSent: 0,
    };
  });

  // --- communication ---------------------------------------------------------------------------
  const instances = new Map<string, Instance>();
  const groupKeys = new WeakMap<readonly number[], string>();
  const pairs: PairQueue[] = [];
  for (let i = 0; i < ctx.pairIndex.size; i++) pairs.push(new PairQueue());
  const runnable: number[] = [];
  const route = { res0: 0, res1: 0, latencyMs: 0 };
  const pool: RankOp[] = [];

  const newOp = (rank: number, pc: number, idx: number, chan: number, coll: CollStep | null, post: number, held: boolean): RankOp => {
    const op = pool.pop();
    if (op === undefined) return { rank, pc, idx, chan, coll, post, ready: -1, start: -1, end: -1, pending: 0, doneMax: 0, next: null, held };
    op.rank = rank;
    op.pc = pc;
    op.idx = idx;
    op.chan = chan;
    op.coll = coll;
    op.post = post;
    op.ready = -1;
    op.start = -1;
    op.end = -1;
    op.pending = 0;
    op.doneMax = 0;
    op.next = null;
    op.held = held;
    return op;
  };
  /** Back to the pool: done, its wait has run and nothing blocks on it. */
  const release = (op: RankOp): void => {
    op.coll = null;
    pool.push(op);
  };

  const onTransferDone = (t: number, tag: unknown, tag2: unknown): void => {
    if (tag2 === null) {
      for (const o of (tag as Instance).ops as RankOp[]) completeOp(o, t);
    } else if (tag2 === SELF) {
      p2pDone(tag as RankOp, t);
    } else {
      p2pDone(tag as RankOp, t);
      p2pDone(tag2 as RankOp, t);
    }
  };
  const net = new FluidNetwork(topo.bandwidth, onTransferDone);

  const groupKey = (g: readonly number[]): string => {
    let k = groupKeys.get(g);
    if (k === undefined) {
      k = g.join(',');
      groupKeys.set(g, k);
    }
    return k;
  };

  const completeOp = (op: RankOp, t: number): void => {
    op.end = t;
    const st = ranks[op.rank];
    if (trace) {
      const name = op.coll ? op.coll.kind : 'p2p';
      const tid = TID_COMM + op.chan;
      if (op.start > op.ready) trace.push({ name: `wait peers: ${name}`, ph: 'X', cat: 'comm', pid: op.rank, tid, ts: op.ready * 1e3, dur: (op.start - op.ready) * 1e3 });
      trace.push({ name, ph: 'X', cat: 'comm', pid: op.rank, tid, ts: op.start * 1e3, dur: (t - op.start) * 1e3, args: { step: op.pc } });
    }
    const ch = op.chan;
    st.chanFree[ch] = t;
    if (t > st.commEnd) st.commEnd = t;
    const next = op.next;
    op.next = null;
    st.chanHead[ch] = next;
    if (next === null) st.chanTail[ch] = null;
    else activate(next, Math.max(next.post, t));
    if (st.blocked === op) {
      st.blocked = null;
      stall(st, op);
      st.pc++;
      runnable.push(op.rank);
    }
    if (!op.held) release(op);
  };

  const activate = (op: RankOp, ready: number): void => {
    op.ready = ready;
    op.start = ready;
    const r = op.rank;
    const st = ranks[r];
    if (op.coll === null) {
      const c = st.c;
      const i32 = st.i32;
      const list = i32[c.p2pAt + 2 * op.idx];
      const first = i32[c.listsAt + 2 * list];
      const n = i32[c.listsAt + 2 * list + 1];
      if (n === 0) {
        op.pending = 1;
        transfers++;
        net.schedule(ready, [], 0, op, SELF);
        return;
      }
      op.pending = n;
      const opsAt = c.opsAt;
      const opBytesAt = c.opBytesAt;
      for (let k = first; k < first + n; k++) {
        const q = pairs[i32[opsAt + 2 * k + 1]];
        if (i32[opsAt + 2 * k] >= 0) {
          const bytes = st.f64[opBytesAt + k];
          st.bytesSent += bytes;
          if (q.recvHead < q.recvEnd) matchP2P(op, bytes, q.shiftRecv());
          else q.pushSend(op, bytes);
        } else if (q.sendHead < q.sendEnd) {
          const sendOp = q.sendOps[q.sendHead]!;
          const bytes = q.sendBytes[q.sendHead];
          q.shiftSend();
          matchP2P(sendOp, bytes, op);
        } else q.pushRecv(op);
      }
      return;
    }
    // Collectives: the k-th call on a group on every member is one instance.
    const s = op.coll;
    const gk = groupKey(s.group);
    const k = st.seq.get(gk) ?? 0;
    st.seq.set(gk, k + 1);
    const ikey = `${gk}#${k}`;
    let inst = instances.get(ikey);
    if (!inst) {
      inst = { step: s, members: s.group, ops: new Array(s.group.length), arrived: 0 };
      instances.set(ikey, inst);
    } else if (inst.step.kind !== s.kind) {
      throw new Error(`rank ${r} calls ${s.kind} where other members of group [${gk}] call ${inst.step.kind} (collective #${k})`);
    }
    const idx = s.group.indexOf(r);
    if (idx < 0) throw new Error(`rank ${r} calls ${s.kind} on group [${gk}] without being a member`);
    inst.ops[idx] = op;
    if (++inst.arrived < inst.members.length) return;
    instances.delete(ikey);
    startCollective(inst);
  };

  const startCollective = (inst: Instance): void => {
    const ops = inst.ops as RankOp[];
    let start = 0;
    for (const o of ops) start = Math.max(start, o.ready);
    for (const o of ops) o.start = start;
    const members = inst.members;
    let spec: TransferSpec;
    const s = inst.step;
    if (s.kind === 'all_to_all') {
      const sendBytes = ops.map((o, i) => {
        const st = o.coll as Extract<Step, { kind: 'all_to_all' }>;
        if (st.send.length !== members.length) throw new Error(`rank ${o.rank}: all_to_all send list has ${st.send.length} entries for a group of ${members.length}`);
        const c = ranks[o.rank].c;
        const row = c.collBytes[o.idx];
        ranks[o.rank].bytesSent += row.reduce((a, x, j) => a + (j === i ? 0 : x), 0);
        return row;
      });
      spec = allToAllTransfer(topo, members, sendBytes);
    } else {
      const chunks = ops.map((o) => {
        const c = ranks[o.rank].c;
        return c.collBytes[o.idx][0];
      });
      const total = chunks.reduce((a, b) => a + b, 0);
      const order = members.map((r, i) => [r, i] as const).sort((a, b) => a[0] - b[0]);
      order.forEach(([r], j) => {
        ranks[r].bytesSent += total - chunks[order[(j + 1) % order.length][1]];
      });
      spec = ringTransfer(topo, members, chunks);
    }
    transfers++;
    if (noNet) net.schedule(start, [], 0, inst);
    else net.schedule(start, spec.flows, spec.latencyMs, inst);
  };

  const matchP2P = (sendOp: RankOp, bytes: number, recvOp: RankOp): void => {
    const start = Math.max(sendOp.ready, recvOp.ready);
    if (start > sendOp.start) sendOp.start = start;
    if (start > recvOp.start) recvOp.start = start;
    transfers++;
    if (noNet || sendOp.rank === recvOp.rank) {
      net.schedule(start, [], 0, sendOp, recvOp);
      return;
    }
    p2pRoute(topo, sendOp.rank, recvOp.rank, route);
    net.scheduleOne(start, route.res0, route.res1, bytes, route.latencyMs, sendOp, recvOp);
  };

  const p2pDone = (op: RankOp, t: number): void => {
    if (t > op.doneMax) op.doneMax = t;
    if (--op.pending === 0) completeOp(op, op.doneMax);
  };

  const stall = (st: RankState, op: RankOp): void => {
    const a = st.computeFree;
    const b = op.end;
    if (b <= a) return;
    const peer = Math.max(0, Math.min(b, op.start) - Math.max(a, op.ready));
    st.peerWaitMs += peer;
    st.exposedMs += b - a - peer;
    st.computeFree = b;
  };

  // --- rank programs ---------------------------------------------------------------------------
  const advance = (r: number): void => {
    const st = ranks[r];
    const c = st.c;
    const code = st.i32;
    const n = st.n;
    while (st.pc < n && st.blocked === null) {
      const pc = st.pc;
      const k = code[pc] & 3;
      const idx = code[pc] >> 2;
      if (k === K_COMPUTE) {
        const d = st.f64[idx];
        if (trace && d > 0) {
          const args: Record<string, string | number> = { step: pc };
          if (c.cflops && c.cflops[idx] > 0) args.gflop = c.cflops[idx] / 1e9;
          trace.push({ name: COMPUTE_NAMES[c.cname![idx]], ph: 'X', cat: 'compute', pid: r, tid: TID_COMPUTE, ts: st.computeFree * 1e3, dur: d * 1e3, args });
        }
        st.computeFree += d;
        st.computeMs += d;
        st.pc++;
      } else if (k === K_WAIT) {
        const op = st.handles[idx];
        if (!op) throw new Error(`rank ${r} step ${pc}: wait on a handle that no earlier step started`);
        st.handles[idx] = null;
        op.held = false;
        if (op.end >= 0) {
          stall(st, op);
          st.pc++;
          release(op);
        } else st.blocked = op;
      } else {
        const h = k === K_COLL ? c.collHid[idx] : code[c.p2pAt + 2 * idx + 1];
        const op = newOp(r, pc, idx, k === K_COLL ? c.collChan[idx] : 0, k === K_COLL ? c.colls[idx] : null, st.computeFree, h >= 0);
        const tail = st.chanTail[op.chan];
        if (tail === null) {
          st.chanHead[op.chan] = st.chanTail[op.chan] = op;
          activate(op, Math.max(op.post, st.chanFree[op.chan]));
        } else {
          tail.next = op;
          st.chanTail[op.chan] = op;
        }
        if (h >= 0) st.handles[h] = op;
        if (h >= 0 && overlap) st.pc++;
        else st.blocked = op; // synchronous, or overlap off: the compute stream waits for it now
      }
    }
  };

  const drain = (): void => {
    while (runnable.length) advance(runnable.pop()!);
  };
  for (let r = 0; r < P; r++) advance(r);
  drain();
  while (net.step()) drain();

  // --- results ---------------------------------------------------------------------------------
  const programs = plan.ranks.map((rp) => (direction === 'fwd' ? rp.forward : rp.backward));
  for (let r = 0; r < P; r++) {
    const st = ranks[r];
    if (st.pc < st.n || st.blocked) {
      const s = programs[r][st.pc];
      throw new Error(`deadlock: rank ${r} cannot finish step ${st.pc} (${s?.kind ?? 'end'}${st.blocked ? `: its ${st.blocked.coll?.kind ?? 'p2p'} never completes` : ''})`);
    }
    const stuck = st.chanHead.find((x) => x !== null);
    if (stuck) throw new Error(`deadlock: rank ${r} has a ${stuck.coll?.kind ?? 'p2p'} (step ${stuck.pc}) that never completes`);
  }
  const ends = ranks.map((st) => Math.max(st.computeFree, st.commEnd));
  let makespan = 0;
  let slowest = 0;
  ends.forEach((e, r) => {
    if (e > makespan) [makespan, slowest] = [e, r];
  });
  const out: RankBreakdown[] = ranks.map((st, r) => {
    const tail = Math.max(0, st.commEnd - st.computeFree);
    return {
      rank: r,
      endMs: ends[r],
      computeMs: st.computeMs,
      exposedCommMs: st.exposedMs + tail,
      idleMs: st.peerWaitMs + (makespan - ends[r]),
      flops: st.c.flops,
      bytesSent: st.bytesSent,
    };
  });
  const totalFlops = out.reduce((a, x) => a + x.flops, 0);
  const meanRank = ends.reduce((a, b) => a + b, 0) / P;
  const mean = (f: (x: RankBreakdown) => number) => out.reduce((a, x) => a + f(x), 0) / P;
  if (trace) {
    for (let r = 0; r < P; r++) {
      trace.push({ name: 'process_name', ph: 'M', pid: r, tid: 0, ts: 0, args: { name: `rank ${r}` } });
      trace.push({ name: 'thread_name', ph: 'M', pid: r, tid: TID_COMPUTE, ts: 0, args: { name: 'compute' } });
      ranks[r].c.chanNames.forEach((name, ch) => trace.push({ name: 'thread_name', ph: 'M', pid: r, tid: TID_COMM + ch, ts: 0, args: { name } }));
    }
  }
  return {
    direction,
    world: P,
    makespanMs: makespan,
    meanRankMs: meanRank,
    totalFlops,
    tflopsPerGpu: makespan > 0 ? totalFlops / (makespan * 1e-3) / 1e12 / P : 0,
    tflopsPerGpuMeanRank: meanRank > 0 ? totalFlops / (meanRank * 1e-3) / 1e12 / P : 0,
    breakdown: { computeMs: mean((x) => x.computeMs), exposedCommMs: mean((x) => x.exposedCommMs), idleMs: mean((x) => x.idleMs) },
    slowestRank: slowest,
    ranks: out,
    fallback: ctx.fallback,
    kernel: kernels.kernel,
    stats: { steps: totalSteps, transfers, networkEvents: net.events },
    trace,
  };
}

/** Chrome / Perfetto trace JSON of a simulated timeline. */
export function chromeTrace(result: SimResult, meta: Readonly<Record<string, string | number>> = {}): { traceEvents: readonly TraceEvent[]; displayTimeUnit: 'ms'; metadata: Record<string, string | number> } {
  if (!result.trace) throw new Error('simulation ran without trace: true');
  return { traceEvents: result.trace, displayTimeUnit: 'ms', metadata: { simulated: 'true', direction: result.direction, ...meta } };
}
