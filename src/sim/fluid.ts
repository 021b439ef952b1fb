// Fluid network engine: transfers made of flows that share link resources over time.
//
// A *resource* is one direction of one link (a GPU's NVLink egress, a NIC's ingress...) with a
// bandwidth. A *flow* moves bytes through two resources (the egress and the ingress it crosses).
// Every resource is shared equally by the flows that cross it (processor sharing), and a flow
// advances at the share of its *bottleneck*: the one of its two resources that offered the smaller
// share when it started,
//     rate = bandwidth(b) / (number of flows active on b).
// This is exact whenever one link limits a flow throughout (two ranks sharing one NIC get half of
// it each, a flow that starts while another drains slows it down from then on), and approximate
// when the bottleneck would move to the other link later.
// Each resource keeps a virtual clock V (bytes delivered to each of its flows so far, advancing at
// bandwidth / flows) and a min-heap of its flows by the V at which they finish, so a flow start or
// end costs O(log n) even with thousands of flows on a link (a rank fetching from every other rank).
// A *transfer* is a set of flows plus a fixed latency; it is done when its last flow has drained,
// plus the latency (the latency does not occupy bandwidth).
// Time unit: milliseconds; bandwidth unit: bytes per millisecond.

export interface Flow {
  /** The two resources crossed (egress and ingress of a link) and the bottleneck b (r0 or r1). */
  readonly r0: number;
  readonly r1: number;
  readonly b: number;
  /** Value of the bottleneck's virtual clock at which the flow has delivered all its bytes. */
  readonly finishV: number;
  readonly transfer: Transfer;
}

export interface Transfer {
  readonly kind: 'transfer';
  /** Flows to start (a list, or the single flow res0 -> res1 of `bytes`). */
  readonly specs: readonly FlowSpec[] | null;
  readonly res0: number;
  readonly res1: number;
  readonly bytes: number;
  pending: number;
  readonly latencyMs: number;
  readonly startMs: number;
  doneMs: number;
  /** Caller's payload, handed back on completion. */
  readonly tag: unknown;
  readonly tag2: unknown;
}

/** A flow to start: `bytes` through resources r0 and r1 (every link is an egress and an ingress). */
export interface FlowSpec {
  readonly r0: number;
  readonly r1: number;
  readonly bytes: number;
}

/** Min-heap of events ordered by (time, insertion order); payload kinds kept in parallel arrays. */
class EventHeap {
  private t: number[] = [];
  private s: number[] = [];
  private p: unknown[] = [];
  private v: number[] = [];
  private seq = 0;

  get size(): number {
    return this.t.length;
  }

  push(time: number, payload: unknown, ver: number): void {
    const t = this.t;
    const s = this.s;
    const p = this.p;
    const v = this.v;
    let i = t.length;
    const sq = this.seq++;
    t.push(time);
    s.push(sq);
    p.push(payload);
    v.push(ver);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent] < time || (t[parent] === time && s[parent] < sq)) break;
      t[i] = t[parent];
      s[i] = s[parent];
      p[i] = p[parent];
      v[i] = v[parent];
      i = parent;
    }
    t[i] = time;
    s[i] = sq;
    p[i] = payload;
    v[i] = ver;
  }

  /** Pops the earliest event into `out` (time, payload, ver); returns false when empty. */
  pop(out: { time: number; payload: unknown; ver: number }): boolean {
    const t = this.t;
    if (t.length === 0) return false;
    const s = this.s;
    const p = this.p;
    const v = this.v;
    out.time = t[0];
    out.payload = p[0];
    out.ver = v[0];
    const lt = t.pop()!;
    const ls = s.pop()!;
    const lp = p.pop();
    const lv = v.pop()!;
    const n = t.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const a = 2 * i + 1;
        if (a >= n) break;
        const b = a + 1;
        let c = a;
        if (b < n && (t[b] < t[a] || (t[b] === t[a] && s[b] < s[a]))) c = b;
        if (t[c] > lt || (t[c] === lt && s[c] > ls)) break;
        t[i] = t[c];
        s[i] = s[c];
        p[i] = p[c];
        v[i] = v[c];
        i = c;
      }
      t[i] = lt;
      s[i] = ls;
      p[i] = lp;
      v[i] = lv;
    }
    return true;
  }
}

/** Min-heap of flows by finishV (one per resource, for the flows it is the bottleneck of). */
class FlowHeap {
  readonly a: Flow[] = [];

  push(f: Flow): void {
    const a = this.a;
    let i = a.length;
    a.push(f);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].finishV <= f.finishV) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = f;
  }

  pop(): Flow {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r].finishV < a[l].finishV ? r : l;
        if (a[c].finishV >= last.finishV) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export class FluidNetwork {
  private readonly bw: Float64Array;
  /** Per resource: flows crossing it, virtual clock, when the clock was last advanced, event version. */
  private readonly count: Int32Array;
  private readonly vclock: Float64Array;
  private readonly lastT: Float64Array;
  private readonly ver: Int32Array;
  private readonly queues: (FlowHeap | undefined)[];
  private readonly heap = new EventHeap();
  private readonly onDone: (tr: Transfer) => void;
  private readonly popOut = { time: 0, payload: undefined as unknown, ver: 0 };
  private readonly finished: Flow[] = [];
  /** Current simulated time (ms): the time of the event being processed. */
  now = 0;
  /** Events processed (for benchmarks). */
  events = 0;

  /** bandwidthBytesPerMs[r] is resource r's bandwidth; onDone is called as each transfer completes. */
  constructor(bandwidthBytesPerMs: Float64Array, onDone: (tr: Transfer) => void) {
    const n = bandwidthBytesPerMs.length;
    this.bw = bandwidthBytesPerMs;
    this.count = new Int32Array(n);
    this.vclock = new Float64Array(n);
    this.lastT = new Float64Array(n);
    this.ver = new Int32Array(n);
    this.queues = new Array<FlowHeap | undefined>(n);
    this.onDone = onDone;
  }

  /** Schedules a transfer of several flows to start at `startMs` (>= now). */
  schedule(startMs: number, specs: readonly FlowSpec[], latencyMs: number, tag: unknown, tag2: unknown = null): Transfer {
    return this.push(specs, -1, -1, 0, startMs, latencyMs, tag, tag2);
  }

  /** Schedules a single flow of `bytes` through resources res0 and res1 (the common p2p case). */
  scheduleOne(startMs: number, res0: number, res1: number, bytes: number, latencyMs: number, tag: unknown, tag2: unknown = null): Transfer {
    return this.push(null, res0, res1, bytes, startMs, latencyMs, tag, tag2);
  }

  private push(
    specs: readonly FlowSpec[] | null,
    res0: number,
    res1: number,
    bytes: number,
    startMs: number,
    latencyMs: number,
    tag: unknown,
    tag2: unknown,
  ): Transfer {
    const tr: Transfer = {
      kind: 'transfer',
      specs,
      res0,
      res1,
      bytes,
      pending: 0,
      latencyMs,
      startMs: Math.max(startMs, this.now),
      doneMs: -1,
      tag,
      tag2,
    };
    this.heap.push(tr.startMs, tr, 0);
    return tr;
  }

  /** Processes one event; returns false when none is left. */
  step(): boolean {
    const out = this.popOut;
    if (!this.heap.pop(out)) return false;
    this.events++;
    this.now = out.time;
    const pl = out.payload;
    if (typeof pl === 'number') {
      if (out.ver === this.ver[pl]) this.drain(pl);
    } else this.startTransfer(pl as Transfer);
    return true;
  }

  private startTransfer(tr: Transfer): void {
    const t = this.now;
    let n = 0;
    if (tr.specs === null) {
      if (tr.bytes > 0) {
        n = 1;
        this.startFlow(tr.res0, tr.res1, tr.bytes, tr, t);
      }
    } else {
      for (const sp of tr.specs) if (sp.bytes > 0) n++;
      for (const sp of tr.specs) if (sp.bytes > 0) this.startFlow(sp.r0, sp.r1, sp.bytes, tr, t);
    }
    tr.pending += n;
    if (n === 0) this.finish(tr, t);
  }

  private startFlow(r0: number, r1: number, bytes: number, tr: Transfer, t: number): void {
    const bw = this.bw;
    const count = this.count;
    this.advance(r0, t);
    this.advance(r1, t);
    const b = bw[r1] / (count[r1] + 1) < bw[r0] / (count[r0] + 1) ? r1 : r0;
    count[r0]++;
    count[r1]++;
    let q = this.queues[b];
    if (q === undefined) this.queues[b] = q = new FlowHeap();
    q.push({ r0, r1, b, finishV: this.vclock[b] + bytes, transfer: tr });
    this.reschedule(r0, t);
    this.reschedule(r1, t);
  }

  /** Ends every flow of resource r that has delivered its bytes by now. */
  private drain(r: number): void {
    const t = this.now;
    this.advance(r, t);
    const q = this.queues[r]!;
    const v = this.vclock[r];
    const done = this.finished;
    done.length = 0;
    while (q.a.length > 0 && q.a[0].finishV <= v + 1e-9 * q.a[0].finishV + 1e-6) done.push(q.pop());
    for (const f of done) {
      const o = f.r0 === r ? f.r1 : f.r0;
      this.advance(o, t);
      this.count[o]--;
      this.reschedule(o, t);
    }
    this.count[r] -= done.length;
    this.reschedule(r, t);
    for (const f of done) {
      const tr = f.transfer;
      if (--tr.pending === 0) this.finish(tr, t);
    }
  }

  private finish(tr: Transfer, t: number): void {
    tr.doneMs = t + tr.latencyMs;
    this.onDone(tr);
  }

  /** Moves resource r's virtual clock to time t at its current per-flow share. */
  private advance(r: number, t: number): void {
    const n = this.count[r];
    if (n > 0) this.vclock[r] += (this.bw[r] / n) * (t - this.lastT[r]);
    this.lastT[r] = t;
  }

  /** Plans the next completion among the flows r is the bottleneck of (older plans go stale). */
  private reschedule(r: number, t: number): void {
    const v = ++this.ver[r];
    const q = this.queues[r];
    if (q === undefined || q.a.length === 0) return;
    const share = this.bw[r] / this.count[r];
    this.heap.push(t + Math.max(0, q.a[0].finishV - this.vclock[r]) / share, r, v);
  }
}
