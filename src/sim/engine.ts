// The event loop of the plan simulation (the model is described in simulate.ts): compiled rank
// programs (compile.ts) walk their steps on a compute stream and communication channels; a
// communication step waits for its peers, then its flows cross the fluid network (fluid.ts) and
// its end wakes the ranks that wait on it.
import type { Step } from '../cp/types.js';
import { K_COLL, K_COMPUTE, K_WAIT, type CollStep, type Compiled } from './compile.js';
import { FluidNetwork } from './fluid.js';
import { allToAllTransfer, p2pRoute, ringTransfer, type Topology, type TransferSpec } from './network.js';
import { COMPUTE_NAMES, TID_COMM, TID_COMPUTE, type TraceEvent } from './trace.js';

/**
 * A communication step in flight on one rank. Ops are recycled (a 1024-rank ring plan posts
 * millions): one goes back to the pool once it is done, no handle refers to it any more (its
 * `wait` ran, or it had no handle) and the compute stream is not blocked on it.
 */
export interface RankOp {
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

export interface RankState {
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

export class Engine {
  readonly ranks: RankState[];
  /** Transfers scheduled on the network (p2p messages, collectives). */
  transfers = 0;
  readonly net: FluidNetwork;
  private readonly instances = new Map<string, Instance>();
  private readonly groupKeys = new WeakMap<readonly number[], string>();
  private readonly pairs: PairQueue[] = [];
  private readonly runnable: number[] = [];
  private readonly route = { res0: 0, res1: 0, latencyMs: 0 };
  private readonly pool: RankOp[] = [];

  /** `nPairs`: p2p (sender, receiver) queues the compilation numbered. */
  constructor(
    compiled: readonly Compiled[],
    nPairs: number,
    private readonly topo: Topology,
    private readonly trace: TraceEvent[] | null,
    private readonly noNet: boolean,
    private readonly overlap: boolean,
  ) {
    this.ranks = compiled.map((c) => ({
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
    }));
    for (let i = 0; i < nPairs; i++) this.pairs.push(new PairQueue());
    this.net = new FluidNetwork(topo.bandwidth, this.onTransferDone);
  }

  /** Runs every rank as far as it goes (to its end, or to a step that never completes). */
  run(): void {
    for (let r = 0; r < this.ranks.length; r++) this.advance(r);
    this.drain();
    while (this.net.step()) this.drain();
  }

  private drain(): void {
    while (this.runnable.length) this.advance(this.runnable.pop()!);
  }

  private newOp(rank: number, pc: number, idx: number, chan: number, coll: CollStep | null, post: number, held: boolean): RankOp {
    const op = this.pool.pop();
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
  }
  /** Back to the pool: done, its wait has run and nothing blocks on it. */
  private release(op: RankOp): void {
    op.coll = null;
    this.pool.push(op);
  }

  private readonly onTransferDone = (t: number, tag: unknown, tag2: unknown): void => {
    if (tag2 === null) {
      for (const o of (tag as Instance).ops as RankOp[]) this.completeOp(o, t);
    } else if (tag2 === SELF) {
      this.p2pDone(tag as RankOp, t);
    } else {
      this.p2pDone(tag as RankOp, t);
      this.p2pDone(tag2 as RankOp, t);
    }
  };

  private groupKey(g: readonly number[]): string {
    let k = this.groupKeys.get(g);
    if (k === undefined) {
      k = g.join(',');
      this.groupKeys.set(g, k);
    }
    return k;
  }

  private completeOp(op: RankOp, t: number): void {
    op.end = t;
    const st = this.ranks[op.rank];
    if (this.trace) {
      const name = op.coll ? op.coll.kind : 'p2p';
      const tid = TID_COMM + op.chan;
      if (op.start > op.ready) this.trace.push({ name: `wait peers: ${name}`, ph: 'X', cat: 'comm', pid: op.rank, tid, ts: op.ready * 1e3, dur: (op.start - op.ready) * 1e3 });
      this.trace.push({ name, ph: 'X', cat: 'comm', pid: op.rank, tid, ts: op.start * 1e3, dur: (t - op.start) * 1e3, args: { step: op.pc } });
    }
    const ch = op.chan;
    st.chanFree[ch] = t;
    if (t > st.commEnd) st.commEnd = t;
    const next = op.next;
    op.next = null;
    st.chanHead[ch] = next;
    if (next === null) st.chanTail[ch] = null;
    else this.activate(next, Math.max(next.post, t));
    if (st.blocked === op) {
      st.blocked = null;
      this.stall(st, op);
      st.pc++;
      this.runnable.push(op.rank);
    }
    if (!op.held) this.release(op);
  }

  private activate(op: RankOp, ready: number): void {
    op.ready = ready;
    op.start = ready;
    const r = op.rank;
    const st = this.ranks[r];
    if (op.coll === null) {
      const c = st.c;
      const i32 = st.i32;
      const list = i32[c.p2pAt + 2 * op.idx];
      const first = i32[c.listsAt + 2 * list];
      const n = i32[c.listsAt + 2 * list + 1];
      if (n === 0) {
        op.pending = 1;
        this.transfers++;
        this.net.schedule(ready, [], 0, op, SELF);
        return;
      }
      op.pending = n;
      const opsAt = c.opsAt;
      const opBytesAt = c.opBytesAt;
      for (let k = first; k < first + n; k++) {
        const q = this.pairs[i32[opsAt + 2 * k + 1]];
        if (i32[opsAt + 2 * k] >= 0) {
          const bytes = st.f64[opBytesAt + k];
          st.bytesSent += bytes;
          if (q.recvHead < q.recvEnd) this.matchP2P(op, bytes, q.shiftRecv());
          else q.pushSend(op, bytes);
        } else if (q.sendHead < q.sendEnd) {
          const sendOp = q.sendOps[q.sendHead]!;
          const bytes = q.sendBytes[q.sendHead];
          q.shiftSend();
          this.matchP2P(sendOp, bytes, op);
        } else q.pushRecv(op);
      }
      return;
    }
    // Collectives: the k-th call on a group on every member is one instance.
    const s = op.coll;
    const gk = this.groupKey(s.group);
    const k = st.seq.get(gk) ?? 0;
    st.seq.set(gk, k + 1);
    const ikey = `${gk}#${k}`;
    let inst = this.instances.get(ikey);
    if (!inst) {
      inst = { step: s, members: s.group, ops: new Array(s.group.length), arrived: 0 };
      this.instances.set(ikey, inst);
    } else if (inst.step.kind !== s.kind) {
      throw new Error(`rank ${r} calls ${s.kind} where other members of group [${gk}] call ${inst.step.kind} (collective #${k})`);
    }
    const idx = s.group.indexOf(r);
    if (idx < 0) throw new Error(`rank ${r} calls ${s.kind} on group [${gk}] without being a member`);
    inst.ops[idx] = op;
    if (++inst.arrived < inst.members.length) return;
    this.instances.delete(ikey);
    this.startCollective(inst);
  }

  private startCollective(inst: Instance): void {
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
        const c = this.ranks[o.rank].c;
        const row = c.collBytes[o.idx];
        this.ranks[o.rank].bytesSent += row.reduce((a, x, j) => a + (j === i ? 0 : x), 0);
        return row;
      });
      spec = allToAllTransfer(this.topo, members, sendBytes);
    } else {
      const chunks = ops.map((o) => {
        const c = this.ranks[o.rank].c;
        return c.collBytes[o.idx][0];
      });
      const total = chunks.reduce((a, b) => a + b, 0);
      const order = members.map((r, i) => [r, i] as const).sort((a, b) => a[0] - b[0]);
      order.forEach(([r], j) => {
        this.ranks[r].bytesSent += total - chunks[order[(j + 1) % order.length][1]];
      });
      spec = ringTransfer(this.topo, members, chunks);
    }
    this.transfers++;
    if (this.noNet) this.net.schedule(start, [], 0, inst);
    else this.net.schedule(start, spec.flows, spec.latencyMs, inst);
  }

  private matchP2P(sendOp: RankOp, bytes: number, recvOp: RankOp): void {
    const start = Math.max(sendOp.ready, recvOp.ready);
    if (start > sendOp.start) sendOp.start = start;
    if (start > recvOp.start) recvOp.start = start;
    this.transfers++;
    if (this.noNet || sendOp.rank === recvOp.rank) {
      this.net.schedule(start, [], 0, sendOp, recvOp);
      return;
    }
    p2pRoute(this.topo, sendOp.rank, recvOp.rank, this.route);
    this.net.scheduleOne(start, this.route.res0, this.route.res1, bytes, this.route.latencyMs, sendOp, recvOp);
  }

  private p2pDone(op: RankOp, t: number): void {
    if (t > op.doneMax) op.doneMax = t;
    if (--op.pending === 0) this.completeOp(op, op.doneMax);
  }

  private stall(st: RankState, op: RankOp): void {
    const a = st.computeFree;
    const b = op.end;
    if (b <= a) return;
    const peer = Math.max(0, Math.min(b, op.start) - Math.max(a, op.ready));
    st.peerWaitMs += peer;
    st.exposedMs += b - a - peer;
    st.computeFree = b;
  }

  // --- rank programs ---------------------------------------------------------------------------
  private advance(r: number): void {
    const st = this.ranks[r];
    const c = st.c;
    const code = st.i32;
    const n = st.n;
    while (st.pc < n && st.blocked === null) {
      const pc = st.pc;
      const k = code[pc] & 3;
      const idx = code[pc] >> 2;
      if (k === K_COMPUTE) {
        const d = st.f64[idx];
        if (this.trace && d > 0) {
          const args: Record<string, string | number> = { step: pc };
          if (c.cflops && c.cflops[idx] > 0) args.gflop = c.cflops[idx] / 1e9;
          this.trace.push({ name: COMPUTE_NAMES[c.cname![idx]], ph: 'X', cat: 'compute', pid: r, tid: TID_COMPUTE, ts: st.computeFree * 1e3, dur: d * 1e3, args });
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
          this.stall(st, op);
          st.pc++;
          this.release(op);
        } else st.blocked = op;
      } else {
        const h = k === K_COLL ? c.collHid[idx] : code[c.p2pAt + 2 * idx + 1];
        const op = this.newOp(r, pc, idx, k === K_COLL ? c.collChan[idx] : 0, k === K_COLL ? c.colls[idx] : null, st.computeFree, h >= 0);
        const tail = st.chanTail[op.chan];
        if (tail === null) {
          st.chanHead[op.chan] = st.chanTail[op.chan] = op;
          this.activate(op, Math.max(op.post, st.chanFree[op.chan]));
        } else {
          tail.next = op;
          st.chanTail[op.chan] = op;
        }
        if (h >= 0) st.handles[h] = op;
        if (h >= 0 && this.overlap) st.pc++;
        else st.blocked = op; // synchronous, or overlap off: the compute stream waits for it now
      }
    }
  }
}
