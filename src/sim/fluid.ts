// Fluid network engine: transfers made of flows that share link resources over time.
//
// A *resource* is one direction of one link (a GPU's NVLink egress, a NIC's ingress...) with a
// bandwidth. A *flow* moves bytes through two resources (the egress and the ingress it crosses).
// Every resource is shared equally by the flows that cross it (processor sharing), and each of a
// flow's two resources carries all of its bytes on its own clock:
//     rate on r = bandwidth(r) / (number of flows still passing r),
// and the flow is done when both have carried them (the later of its two ends). A flow counts on a
// resource until that resource has carried its bytes. So both sides charge every flow: one sender
// to N receivers needs N x bytes / egress bandwidth even where the receivers' links are slower,
// N senders into one ingress likewise, and where both sides are equal (a ring) each ends at
// bytes / bandwidth. Exact whenever one link limits a flow throughout. Not max-min fairness: a
// resource shares equally and does not hand a slower flow's unused share to the others (pessimistic
// there), and a flow's two sides progress independently (optimistic when its bottleneck moves from
// one side to the other while it runs).
// (Until 2026-12-05 a flow advanced only on the side with the smaller share at its start; the other
// side never charged it, so a rank sending to many receivers whose ingress links bound was never
// charged its egress.)
// Each resource keeps a virtual clock V (bytes delivered to each of its flows so far, advancing at
// bandwidth / flows) and a min-heap of its flows by the V at which they finish, so a flow start or
// end costs O(log n) even with thousands of flows on a link (a rank fetching from every other rank).
// A *transfer* is a set of flows plus a fixed latency; it is done when its last flow has drained
// from both of its resources, plus the latency (the latency does not occupy bandwidth).
// Time unit: milliseconds; bandwidth unit: bytes per millisecond.
//
// The engine allocates nothing per message once warm (a 1024-rank ring plan sends millions of
// messages, and the garbage of one object per transfer / flow / event made V8 scavenge every few
// tens of milliseconds): events, transfers and flows live in growable typed arrays addressed by
// integer ids, and finished transfer ids are reused.

/** A flow to start: `bytes` through resources r0 and r1 (every link is an egress and an ingress). */
export interface FlowSpec {
  readonly r0: number;
  readonly r1: number;
  readonly bytes: number;
}

/** Called as each transfer completes: its done time (end of its last flow plus its latency) and the caller's payload. */
export type TransferDone = (doneMs: number, tag: unknown, tag2: unknown) => void;

function grownF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(n, 2 * a.length));
  b.set(a);
  return b;
}

function grownI32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(n, 2 * a.length));
  b.set(a);
  return b;
}

// The two heaps below keep their own sift loops instead of src/util/heap.ts's siftUp / siftDown:
// those move one array of numbers, so these would become heaps of slot ids over the key arrays.
// Tried on 2026-12-05 (same pop order, identical sim rows): the 1024-rank ring_p2p simulation of
// `npm run bench -- sim` took 10-35% more CPU (bwd 2.7-3.0 s -> 3.3-4.4 s, four paired runs on this
// 2-core machine) against its 5 s target, so the hand-written hole-based loops over parallel arrays stay.

/**
 * Min-heap of events ordered by (time, insertion order). Payload: a resource id r >= 0 (its next
 * drain, valid while `ver` matches the resource's version) or ~id of a transfer to start.
 */
class EventHeap {
  t = new Float64Array(256);
  s = new Float64Array(256);
  p = new Int32Array(256);
  v = new Int32Array(256);
  n = 0;
  private seq = 0;
  /** The last popped event. */
  time = 0;
  payload = 0;
  ver = 0;

  push(time: number, payload: number, ver: number): void {
    let i = this.n++;
    if (i === this.t.length) {
      this.t = grownF64(this.t, i + 1);
      this.s = grownF64(this.s, i + 1);
      this.p = grownI32(this.p, i + 1);
      this.v = grownI32(this.v, i + 1);
    }
    const t = this.t;
    const s = this.s;
    const p = this.p;
    const v = this.v;
    const sq = this.seq++;
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

  /** Pops the earliest event into time / payload / ver; returns false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    const t = this.t;
    const s = this.s;
    const p = this.p;
    const v = this.v;
    this.time = t[0];
    this.payload = p[0];
    this.ver = v[0];
    const n = --this.n;
    if (n > 0) {
      const lt = t[n];
      const ls = s[n];
      const lp = p[n];
      const lv = v[n];
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

/**
 * Min-heap of the flows passing a resource, by finishV (the value of the resource's virtual clock
 * at which the flow has passed all its bytes); per flow also the other resource it crosses (kept
 * for tracing) and its transfer id. Entry i is a[3i] = finishV, a[3i + 1] = other, a[3i + 2] =
 * transfer (one array, so the top entry is one cache line).
 */
class FlowHeap {
  a = new Float64Array(12);
  n = 0;

  push(finishV: number, other: number, tr: number): void {
    let i = this.n++;
    if (3 * i === this.a.length) this.a = grownF64(this.a, 3 * i + 3);
    const a = this.a;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[3 * p] <= finishV) break;
      a[3 * i] = a[3 * p];
      a[3 * i + 1] = a[3 * p + 1];
      a[3 * i + 2] = a[3 * p + 2];
      i = p;
    }
    a[3 * i] = finishV;
    a[3 * i + 1] = other;
    a[3 * i + 2] = tr;
  }

  /** Removes the top flow (read it from a[0..2] first). */
  pop(): void {
    const a = this.a;
    const n = --this.n;
    if (n > 0) {
      const lk = a[3 * n];
      const lo = a[3 * n + 1];
      const lt = a[3 * n + 2];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[3 * r] < a[3 * l] ? r : l;
        if (a[3 * c] >= lk) break;
        a[3 * i] = a[3 * c];
        a[3 * i + 1] = a[3 * c + 1];
        a[3 * i + 2] = a[3 * c + 2];
        i = c;
      }
      a[3 * i] = lk;
      a[3 * i + 1] = lo;
      a[3 * i + 2] = lt;
    }
  }
}

const NO_SPECS: readonly FlowSpec[] = [];

export class FluidNetwork {
  /**
   * Per resource r, side by side (one cache line): res[4r] bandwidth, res[4r + 1] virtual clock,
   * res[4r + 2] when the clock was last advanced, res[4r + 3] flows crossing it.
   */
  private readonly res: Float64Array;
  /** Per resource: version of its planned drain event (older plans go stale). */
  private readonly ver: Int32Array;
  private readonly queues: (FlowHeap | undefined)[];
  private readonly heap = new EventHeap();
  private readonly onDone: TransferDone;
  /**
   * Transfers by id: flows to start (a list, or null for the single flow res0 -> res1 of `bytes`),
   * flows not yet drained, latency, payloads. Ids of finished transfers go on a free stack.
   */
  private trSpecs: (readonly FlowSpec[] | null)[] = [];
  private trTag: unknown[] = [];
  private trTag2: unknown[] = [];
  private trRes0 = new Int32Array(256);
  private trRes1 = new Int32Array(256);
  private trPending = new Int32Array(256);
  private trBytes = new Float64Array(256);
  private trLatency = new Float64Array(256);
  private trCount = 0;
  private free = new Int32Array(256);
  private nFree = 0;
  /** Scratch for drain: the transfer of each flow that passed the resource. */
  private doneTr = new Int32Array(64);
  /** Current simulated time (ms): the time of the event being processed. */
  now = 0;
  /** Events processed (for benchmarks). */
  events = 0;

  /** bandwidthBytesPerMs[r] is resource r's bandwidth; onDone is called as each transfer completes. */
  constructor(bandwidthBytesPerMs: Float64Array, onDone: TransferDone) {
    const n = bandwidthBytesPerMs.length;
    this.res = new Float64Array(4 * n);
    for (let r = 0; r < n; r++) this.res[4 * r] = bandwidthBytesPerMs[r];
    this.ver = new Int32Array(n);
    this.queues = new Array<FlowHeap | undefined>(n);
    this.onDone = onDone;
  }

  /** Schedules a transfer of several flows to start at `startMs` (>= now). */
  schedule(startMs: number, specs: readonly FlowSpec[], latencyMs: number, tag: unknown, tag2: unknown = null): void {
    this.push(specs, -1, -1, 0, startMs, latencyMs, tag, tag2);
  }

  /** Schedules a single flow of `bytes` through resources res0 and res1 (the common p2p case). */
  scheduleOne(startMs: number, res0: number, res1: number, bytes: number, latencyMs: number, tag: unknown, tag2: unknown = null): void {
    this.push(null, res0, res1, bytes, startMs, latencyMs, tag, tag2);
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
  ): void {
    let id: number;
    if (this.nFree > 0) {
      id = this.free[--this.nFree];
      this.trSpecs[id] = specs;
      this.trTag[id] = tag;
      this.trTag2[id] = tag2;
    } else {
      id = this.trCount++;
      if (id === this.trRes0.length) {
        this.trRes0 = grownI32(this.trRes0, id + 1);
        this.trRes1 = grownI32(this.trRes1, id + 1);
        this.trPending = grownI32(this.trPending, id + 1);
        this.trBytes = grownF64(this.trBytes, id + 1);
        this.trLatency = grownF64(this.trLatency, id + 1);
      }
      this.trSpecs.push(specs);
      this.trTag.push(tag);
      this.trTag2.push(tag2);
    }
    this.trRes0[id] = res0;
    this.trRes1[id] = res1;
    this.trBytes[id] = bytes;
    this.trPending[id] = 0;
    this.trLatency[id] = latencyMs;
    this.heap.push(Math.max(startMs, this.now), ~id, 0);
  }

  /** Processes one event; returns false when none is left. */
  step(): boolean {
    const h = this.heap;
    if (!h.pop()) return false;
    this.events++;
    this.now = h.time;
    const pl = h.payload;
    if (pl >= 0) {
      if (h.ver === this.ver[pl]) this.drain(pl);
    } else this.startTransfer(~pl);
    return true;
  }

  private startTransfer(tr: number): void {
    const t = this.now;
    let n = 0;
    const specs = this.trSpecs[tr];
    if (specs === null) {
      const bytes = this.trBytes[tr];
      if (bytes > 0) {
        n = 1;
        this.startFlow(this.trRes0[tr], this.trRes1[tr], bytes, tr, t);
      }
    } else {
      for (let i = 0; i < specs.length; i++) if (specs[i].bytes > 0) n++;
      for (let i = 0; i < specs.length; i++) {
        const sp = specs[i];
        if (sp.bytes > 0) this.startFlow(sp.r0, sp.r1, sp.bytes, tr, t);
      }
    }
    // Each flow ends once on each of its two resources.
    this.trPending[tr] += 2 * n;
    if (n === 0) this.finish(tr, t);
  }

  private startFlow(r0: number, r1: number, bytes: number, tr: number, t: number): void {
    const res = this.res;
    this.advance(r0, t);
    this.advance(r1, t);
    res[4 * r0 + 3]++;
    res[4 * r1 + 3]++;
    let q0 = this.queues[r0];
    if (q0 === undefined) this.queues[r0] = q0 = new FlowHeap();
    q0.push(res[4 * r0 + 1] + bytes, r1, tr);
    let q1 = this.queues[r1];
    if (q1 === undefined) this.queues[r1] = q1 = new FlowHeap();
    q1.push(res[4 * r1 + 1] + bytes, r0, tr);
    this.reschedule(r0, t);
    this.reschedule(r1, t);
  }

  /** Takes off resource r every flow that has passed its bytes through r by now. */
  private drain(r: number): void {
    const t = this.now;
    this.advance(r, t);
    const q = this.queues[r]!;
    const v = this.res[4 * r + 1];
    let nd = 0;
    while (q.n > 0 && q.a[0] <= v + 1e-9 * q.a[0] + 1e-6) {
      if (nd === this.doneTr.length) this.doneTr = grownI32(this.doneTr, nd + 1);
      this.doneTr[nd++] = q.a[2];
      q.pop();
    }
    const doneTr = this.doneTr;
    this.res[4 * r + 3] -= nd;
    this.reschedule(r, t);
    // finish() runs the caller's callback, which only schedules transfers (no drain re-enters).
    for (let i = 0; i < nd; i++) {
      const tr = doneTr[i];
      if (--this.trPending[tr] === 0) this.finish(tr, t);
    }
  }

  /** Reports transfer tr done and frees its id (the callback may reuse it right away). */
  private finish(tr: number, t: number): void {
    const done = t + this.trLatency[tr];
    const tag = this.trTag[tr];
    const tag2 = this.trTag2[tr];
    this.trTag[tr] = null;
    this.trTag2[tr] = null;
    this.trSpecs[tr] = NO_SPECS;
    if (this.nFree === this.free.length) this.free = grownI32(this.free, this.nFree + 1);
    this.free[this.nFree++] = tr;
    this.onDone(done, tag, tag2);
  }

  /** Moves resource r's virtual clock to time t at its current per-flow share. */
  private advance(r: number, t: number): void {
    const res = this.res;
    const n = res[4 * r + 3];
    if (n > 0) res[4 * r + 1] += (res[4 * r] / n) * (t - res[4 * r + 2]);
    res[4 * r + 2] = t;
  }

  /** Plans the next completion among the flows passing r (older plans go stale). */
  private reschedule(r: number, t: number): void {
    const v = ++this.ver[r];
    const q = this.queues[r];
    if (q === undefined || q.n === 0) return;
    const share = this.res[4 * r] / this.res[4 * r + 3];
    this.heap.push(t + Math.max(0, q.a[0] - this.res[4 * r + 1]) / share, r, v);
  }
}
