// L2 reuse of triton_ranges' launches by program order (issue 13): a CPU model, no GPU. The
// hardware block scheduler hands programs out in launch order to W = SMs x programs-per-SM slots,
// each as a slot frees. Every program walks its list row's column tiles in the kernel's order (full
// runs, then partial tiles) at one time unit per full tile (PARTIAL_COST per partial tile, ROW_COST
// for the row's own loads), and reads one line per tile:
//   forward and the dQ pass   K and V of (KV head, 128-key tile)      tileK x D x 2 tensors
//   dK/dV                     Q, dO, LSE, DELTA of (KV head, query tile)  tileQ x pack rows
// plus its own row's line at its start (forward: Q; dK/dV: its K/V tile; dQ: its Q/dO tile) and
// its outputs at its end (write-allocate, never reused). Lines go through an LRU cache of C bytes;
// a miss is a DRAM read. The fused backward (bwdFused, the d 128 default) is one launch: dK/dV
// programs first, then the dQ pass's, at 2 and 1.5 time units per tile (4 and 3 matmuls against
// the forward's 2).
// Idealized: programs never stall on a miss (a real slot that misses slows down, which the model
// does not feed back), L2 is one fully-associative LRU of C bytes (the H100/H200 L2 is two ~25 MB
// halves, set-associative, with its own replacement), and tiles are whole lines.
import type { RangesValue, TileList } from '../mask/adapters/types.js';
import { PARTIAL_COST, ROW_COST } from '../mask/adapters/ranges-cost.js';
import { siftDown, siftUp } from '../util/heap.js';

/** The launch's geometry beside the lists. */
export interface L2Shape {
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtypeBytes: number;
}

export type Pass = 'fwd' | 'dkdv' | 'dq';
/** Time units per tile step of each pass (matmuls per step / the forward's 2). */
export const PASS_WEIGHT: Readonly<Record<Pass, number>> = { fwd: 1, dkdv: 2, dq: 1.5 };

/** One launched program: pass, list row x (or split item), the KV head inside the mask head (rep), sub-program (half / key split). */
export interface Program {
  readonly pass: Pass;
  readonly x: number;
  readonly rep: number;
  readonly item: number; // split list item, -1 = the whole row
}

/** An order of a launch: the programs in the order the hardware hands them out. */
export type Launch = readonly Program[];

/** The launch as the kernel builds it today: list order (or split items), the REP KV heads x `sub` sub-programs of each row consecutive. */
export function listLaunch(pass: Pass, l: TileList, rep: number, sub: number, rows: ArrayLike<number> = l.order): Program[] {
  const out: Program[] = [];
  const items = pass === 'dkdv' ? l.items : undefined;
  const n = items ? items.length / 6 : rows.length;
  for (let i = 0; i < n; i++) {
    const x = items ? items[6 * i] : rows[i];
    for (let r = 0; r < rep; r++) for (let s = 0; s < sub; s++) out.push({ pass, x, rep: r, item: items ? i : -1 });
  }
  return out;
}

/** Fully-associative LRU of `capacity` bytes over lines of given sizes; counts requested and missed bytes per line kind. */
export class Lru {
  private readonly lines = new Map<number, number>(); // id -> bytes, oldest first
  private used = 0;
  readonly requested = [0, 0, 0];
  readonly missed = [0, 0, 0];
  constructor(readonly capacity: number) {}
  access(id: number, bytes: number, kind: number): void {
    this.requested[kind] += bytes;
    const had = this.lines.get(id);
    if (had !== undefined) {
      this.lines.delete(id);
      this.lines.set(id, had);
      return;
    }
    this.missed[kind] += bytes;
    this.lines.set(id, bytes);
    this.used += bytes;
    if (this.used <= this.capacity) return;
    for (const [k, b] of this.lines) {
      if (this.used <= this.capacity) break;
      this.lines.delete(k);
      this.used -= b;
    }
  }
}

/** Line kinds: 0 K/V tiles, 1 Q (+dO, LSE, DELTA) tiles, 2 outputs. */
export const KIND_NAMES = ['K/V', 'Q/dO', 'out'] as const;

interface Access {
  readonly id: number;
  readonly bytes: number;
  readonly kind: number;
  readonly dur: number;
}

export interface L2Lists {
  readonly value: RangesValue;
  readonly shape: L2Shape;
}

/** Accesses of one program, in its walk order. */
function programAccesses(p: Program, v: RangesValue, s: L2Shape, outId: () => number): Access[] {
  const rep = s.headsKv / v.heads;
  const pack = s.headsQ / s.headsKv;
  const w = PASS_WEIGHT[p.pass];
  const l = p.pass === 'dkdv' ? v.bwd : v.fwd;
  const g = Math.floor(p.x / l.numRows) * rep + p.rep; // KV head
  const kvTiles = Math.ceil(v.seqlenK / v.tileK);
  const qTiles = Math.ceil(v.seqlenQ / v.tileQ);
  const kvBytes = v.tileK * s.headDim * 2 * s.dtypeBytes;
  const qBytes = v.tileQ * pack * s.headDim * s.dtypeBytes;
  const qdBytes = p.pass === 'fwd' ? qBytes : v.tileQ * pack * (2 * s.headDim * s.dtypeBytes + 8);
  const kvLine = (c: number) => 2 * (g * kvTiles + c); // even ids: K/V; odd: Q/dO
  const qLine = (c: number) => 2 * (g * qTiles + c) + 1;
  const col = p.pass === 'dkdv' ? (c: number): Access => ({ id: qLine(c), bytes: qdBytes, kind: 1, dur: w }) : (c: number): Access => ({ id: kvLine(c), bytes: kvBytes, kind: 0, dur: w });
  const own = p.x % l.numRows;
  const acc: Access[] = [p.pass === 'dkdv' ? { id: kvLine(own), bytes: kvBytes, kind: 0, dur: ROW_COST * w } : { id: qLine(own), bytes: qdBytes, kind: 1, dur: ROW_COST * w }];
  let r0 = l.rowRuns[p.x];
  let r1 = l.rowRuns[p.x + 1];
  let p0 = l.rowParts[p.x];
  let p1 = l.rowParts[p.x + 1];
  let runs = l.runs;
  if (p.item >= 0 && l.items && l.itemRuns) {
    [r0, r1, p0, p1] = [l.items[6 * p.item + 1], l.items[6 * p.item + 2], l.items[6 * p.item + 3], l.items[6 * p.item + 4]];
    runs = l.itemRuns;
  }
  for (let t = r0; t < r1; t++) for (let c = runs[2 * t]; c < runs[2 * t + 1]; c++) acc.push(col(c));
  for (let q = p0; q < p1; q++) acc.push({ ...col(l.parts[5 * q]), dur: w * PARTIAL_COST });
  const outBytes = p.pass === 'dkdv' ? kvBytes * (p.item >= 0 && l.items && l.items[6 * p.item + 5] >= 0 ? 2 : 1) : qBytes + (p.pass === 'fwd' ? v.tileQ * pack * 4 : 0);
  acc.push({ id: outId(), bytes: outBytes, kind: 2, dur: 0 });
  return acc;
}

export interface L2Result {
  /** Simulated end of the launch, in time units (a full forward tile = 1). */
  readonly makespan: number;
  /** Per cache capacity: requested and missed bytes per line kind. */
  readonly caches: readonly { readonly capacity: number; readonly requested: readonly number[]; readonly missed: readonly number[] }[];
  /** Bytes of every distinct K/V and Q/dO line the launch reads (what an unbounded cache would miss). */
  readonly compulsory: readonly number[];
  /** Mean over samples of the distinct K/V + Q/dO bytes that the resident programs' whole rows touch (the span of the window). */
  readonly residentSpan: number;
  /** Mean distinct K/V + Q/dO bytes touched per `window` time units (the live working set). */
  readonly live: number;
  /** FLOP of the tile steps (every tile counted whole). */
  readonly flop: number;
}

export interface L2Options {
  readonly slots: number;
  readonly capacities: readonly number[];
  /** Time units per live-set window (default 16). */
  readonly window?: number;
  /** Resident-span samples over the launch (default 64). */
  readonly samples?: number;
}

/** Runs the launch on `slots` slots through LRU caches of the given capacities. */
export function simulateL2(launch: Launch, lists: L2Lists, o: L2Options): L2Result {
  const { value: v, shape: s } = lists;
  const W = Math.max(1, Math.floor(o.slots));
  const win = o.window ?? 16;
  const caches = o.capacities.map((c) => new Lru(c));
  const pack = s.headsQ / s.headsKv;
  const tileFlop = 4 * v.tileQ * pack * v.tileK * s.headDim; // a forward tile: QK^T and PV
  let nextOut = -1;
  const outId = () => nextOut--;
  const seen = new Set<number>();
  const compulsory = [0, 0, 0];
  const time = new Float64Array(W);
  const accs: (Access[] | null)[] = new Array(W).fill(null);
  const rows: (Access[] | null)[] = new Array(W).fill(null);
  const at = new Int32Array(W);
  let next = 0;
  let flop = 0;
  const start = (slot: number) => {
    if (next >= launch.length) {
      accs[slot] = null;
      rows[slot] = null;
      return;
    }
    const a = programAccesses(launch[next++], v, s, outId);
    accs[slot] = a;
    rows[slot] = a.filter((x) => x.kind < 2);
    at[slot] = 0;
  };
  // min-heap of slots by (time, slot)
  const heap: number[] = [];
  const less = (a: number, b: number) => time[a] < time[b] || (time[a] === time[b] && a < b);
  const push = (x: number) => {
    heap.push(x);
    siftUp(heap, heap.length - 1, less);
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop() as number;
    if (heap.length > 0) {
      heap[0] = last;
      siftDown(heap, 0, heap.length, less);
    }
    return top;
  };
  for (let w = 0; w < W; w++) {
    start(w);
    if (accs[w]) push(w);
  }
  let liveSet = new Set<number>();
  let liveBin = 0;
  let liveSum = 0;
  let liveBins = 0;
  let liveBytes = 0;
  const spans: number[] = [];
  let makespan = 0;
  // the resident span at fixed times; the makespan is unknown up front: when samples pile up, keep every other and double the step
  let nextSample = 0;
  let sampleStep = 1;
  while (heap.length > 0) {
    const w = pop();
    const t = time[w];
    while (t >= nextSample) {
      spans.push(residentSpan(rows));
      nextSample += sampleStep;
      if (spans.length >= 4 * (o.samples ?? 64)) {
        // keep every other sample, double the step
        for (let i = 0; i < spans.length / 2; i++) spans[i] = spans[2 * i];
        spans.length = Math.floor(spans.length / 2);
        sampleStep *= 2;
      }
    }
    const a = accs[w] as Access[];
    const x = a[at[w]++];
    for (const c of caches) c.access(x.id, x.bytes, x.kind);
    if (x.kind < 2) {
      if (!seen.has(x.id)) {
        seen.add(x.id);
        compulsory[x.kind] += x.bytes;
      }
      const bin = Math.floor(t / win);
      if (bin !== liveBin) {
        liveSum += liveBytes;
        liveBins += 1;
        liveSet = new Set();
        liveBytes = 0;
        liveBin = bin;
      }
      if (!liveSet.has(x.id)) {
        liveSet.add(x.id);
        liveBytes += x.bytes;
      }
    }
    time[w] = t + x.dur;
    makespan = Math.max(makespan, time[w]);
    if (at[w] >= a.length) start(w);
    if (accs[w]) push(w);
  }
  liveSum += liveBytes;
  liveBins += 1;
  // FLOP: every column tile of every program (counted whole), weighted by its pass's matmuls
  for (const p of launch) flop += tileFlop * PASS_WEIGHT[p.pass] * columnTiles(p, v);
  return {
    makespan,
    caches: caches.map((c) => ({ capacity: c.capacity, requested: [...c.requested], missed: [...c.missed] })),
    compulsory,
    residentSpan: spans.length ? spans.reduce((a, b) => a + b, 0) / spans.length : 0,
    live: liveBins ? liveSum / liveBins : 0,
    flop,
  };
}

function residentSpan(rows: readonly (readonly Access[] | null)[]): number {
  const u = new Set<number>();
  let b = 0;
  for (const r of rows)
    if (r)
      for (const x of r)
        if (!u.has(x.id)) {
          u.add(x.id);
          b += x.bytes;
        }
  return b;
}

/** Column tiles a program walks. */
function columnTiles(p: Program, v: RangesValue): number {
  const l = p.pass === 'dkdv' ? v.bwd : v.fwd;
  let n = 0;
  let [r0, r1, p0, p1] = [l.rowRuns[p.x], l.rowRuns[p.x + 1], l.rowParts[p.x], l.rowParts[p.x + 1]];
  let runs = l.runs;
  if (p.item >= 0 && l.items && l.itemRuns) {
    [r0, r1, p0, p1] = [l.items[6 * p.item + 1], l.items[6 * p.item + 2], l.items[6 * p.item + 3], l.items[6 * p.item + 4]];
    runs = l.itemRuns;
  }
  for (let t = r0; t < r1; t++) n += runs[2 * t + 1] - runs[2 * t];
  return n + (p1 - p0);
}
