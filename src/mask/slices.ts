// Operations on masks made of slices: area, row/column ranges, restriction, block map, dense form.
// Everything is O(slices) or O(blocks touched) except `toDense`, which is O(Sq * Sk) by nature.
import {
  bandArea,
  bandRowHi,
  bandRowLo,
  bandRows,
  bandToSlices,
  clipBand,
  sliceToBand,
  type Band,
} from './band.js';
import type { BlockMap, BlockRun, Mask, Range, Slice } from './types.js';

export function sliceArea(s: Slice): number {
  return bandArea(sliceToBand(s));
}

export function maskArea(m: Mask): number {
  let a = 0;
  for (const s of m.slices) a += sliceArea(s);
  return a;
}

/** Fraction of the Sq x Sk grid that is masked out. */
export function sparsity(m: Mask): number {
  return 1 - maskArea(m) / (m.seqlenQ * m.seqlenK);
}

export function shiftSlice(s: Slice, dq: number, dk: number): Slice {
  return { qStart: s.qStart + dq, qEnd: s.qEnd + dq, kStart: s.kStart + dk, kEnd: s.kEnd + dk, kind: s.kind };
}

/**
 * Slices sorted by qStart with a running maximum of qEnd, so that the slices overlapping any query
 * range are found by binary search. Build once per mask; queries cost O(log n + hits).
 */
export class SliceIndex {
  readonly mask: Mask;
  private readonly sorted: Slice[];
  private readonly bands: Band[];
  private readonly maxQEnd: Float64Array;

  constructor(mask: Mask) {
    this.mask = mask;
    this.sorted = [...mask.slices].sort((x, y) => x.qStart - y.qStart || x.kStart - y.kStart);
    this.bands = this.sorted.map(sliceToBand);
    this.maxQEnd = new Float64Array(this.sorted.length);
    let m = -Infinity;
    for (let t = 0; t < this.sorted.length; t++) {
      m = Math.max(m, this.sorted[t].qEnd);
      this.maxQEnd[t] = m;
    }
  }

  /** Bands of the slices that overlap rows [q0, q1) and columns [k0, k1) (unclipped). */
  *overlapping(q0: number, q1: number, k0 = 0, k1 = Infinity): Generator<Band> {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.maxQEnd[mid] > q0) hi = mid;
      else lo = mid + 1;
    }
    for (let t = lo; t < this.sorted.length && this.sorted[t].qStart < q1; t++) {
      const b = this.bands[t];
      if (b.q1 > q0 && b.k0 < k1 && b.k1 > k0) yield b;
    }
  }

  /** Unmasked pairs inside [q0, q1) x [k0, k1), without building the restricted mask. */
  rectArea(q0: number, q1: number, k0: number, k1: number): number {
    let a = 0;
    for (const b of this.overlapping(q0, q1, k0, k1)) a += bandArea(clipBand(b, q0, q1, k0, k1));
    return a;
  }

  /** Canonical slices of the mask inside the rectangle, in the rectangle's local coordinates. */
  restrictSlices(q: Range, k: Range, dq = 0, dk = 0): Slice[] {
    const out: Slice[] = [];
    for (const b of this.overlapping(q.start, q.end, k.start, k.end)) {
      for (const s of bandToSlices(clipBand(b, q.start, q.end, k.start, k.end))) {
        out.push(shiftSlice(s, dq - q.start, dk - k.start));
      }
    }
    return out;
  }
}

/** The mask restricted to a sub-rectangle, in local coordinates (what one CP step computes). */
export function restrict(m: Mask | SliceIndex, q: Range, k: Range): Mask {
  const idx = m instanceof SliceIndex ? m : new SliceIndex(m);
  return { seqlenQ: q.end - q.start, seqlenK: k.end - k.start, slices: idx.restrictSlices(q, k) };
}

/**
 * The mask seen by queries gathered from several q ranges against keys gathered from several k
 * ranges, each list concatenated in order (zigzag shards, gathered K/V chunks).
 */
export function restrictRanges(m: Mask | SliceIndex, qs: readonly Range[], ks: readonly Range[]): Mask {
  const idx = m instanceof SliceIndex ? m : new SliceIndex(m);
  const slices: Slice[] = [];
  let dq = 0;
  for (const q of qs) {
    let dk = 0;
    for (const k of ks) {
      for (const s of idx.restrictSlices(q, k, dq, dk)) slices.push(s);
      dk += k.end - k.start;
    }
    dq += q.end - q.start;
  }
  const len = (rs: readonly Range[]) => rs.reduce((a, r) => a + r.end - r.start, 0);
  return { seqlenQ: len(qs), seqlenK: len(ks), slices };
}

/** Unmasked column ranges of row i, sorted and merged. */
export function rowRanges(m: Mask | SliceIndex, i: number): Range[] {
  const idx = m instanceof SliceIndex ? m : new SliceIndex(m);
  const out: Range[] = [];
  for (const b of idx.overlapping(i, i + 1)) {
    const r = bandRows(b);
    if (i < r.start || i >= r.end) continue;
    out.push({ start: bandRowLo(b, i), end: bandRowHi(b, i) });
  }
  return mergeRanges(out);
}

/** Unmasked row ranges of column j, sorted and merged. O(slices). */
export function colRanges(m: Mask, j: number): Range[] {
  const out: Range[] = [];
  for (const s of m.slices) {
    if (j < s.kStart || j >= s.kEnd) continue;
    const b = sliceToBand(s);
    const start = Math.max(b.q0, j - b.hi);
    const end = Math.min(b.q1, j - b.lo + 1);
    if (end > start) out.push({ start, end });
  }
  return mergeRanges(out);
}

export function mergeRanges(rs: Range[]): Range[] {
  rs.sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

/** Dense boolean expansion, row-major Sq x Sk (1 = unmasked). Small sizes only. */
export function toDense(m: Mask): Uint8Array {
  const cells = m.seqlenQ * m.seqlenK;
  if (cells > 1 << 28) throw new Error(`toDense: ${m.seqlenQ}x${m.seqlenK} is too large for a dense mask`);
  const d = new Uint8Array(cells);
  for (const s of m.slices) {
    const b = sliceToBand(s);
    const r = bandRows(b);
    for (let i = r.start; i < r.end; i++) d.fill(1, i * m.seqlenK + bandRowLo(b, i), i * m.seqlenK + bandRowHi(b, i));
  }
  return d;
}

/**
 * Sparse block map at block size blockQ x blockK. Each slice contributes to the block rows it spans:
 * columns covered by every one of its rows in that block row add a uniform count (rows x width) to
 * whole runs of blocks; only the few blocks its diagonal edges cross get an exact count (closed form,
 * `rectBandArea`). Totals per block then say empty / partial / full.
 *
 * Block rows are swept in order with the set of slices that touch the current one. A block row that
 * one slice touches (most of them in document masks: the inside of every document longer than a
 * block) needs no bookkeeping: that slice's left edge blocks, uniform run and right edge blocks come
 * in key order and never overlap, so they are written straight out. Where several slices meet, their
 * contributions become events sorted by key block and a sweep adds them up. Everything lives in flat
 * typed arrays, the result too (no per-row or per-run objects). Cost O(slices + block rows spanned +
 * edge blocks), plus the sort of the events of shared block rows.
 */
export function blockMap(m: Mask, blockQ: number, blockK: number = blockQ): BlockMap {
  if (!(blockQ > 0 && blockK > 0)) throw new Error(`block size must be positive, got ${blockQ}x${blockK}`);
  const nbq = Math.ceil(m.seqlenQ / blockQ);
  const nbk = Math.ceil(m.seqlenK / blockK);
  if (!(nbq < 2 ** 31 && nbk < 2 ** 31)) throw new Error(`blockMap: ${nbq} x ${nbk} blocks exceed the int32 block index`);
  const sweep = new BlockSweep(m, blockQ, blockK, nbq);
  const { qbFirst, qbEnd, byFirst } = sweep;
  const live = byFirst.length;
  const active = new Int32Array(live);
  let na = 0;
  let admitted = 0;
  for (let qb = 0; qb < nbq; qb++) {
    let kept = 0;
    for (let t = 0; t < na; t++) if (qbEnd[active[t]] > qb) active[kept++] = active[t];
    na = kept;
    while (admitted < live && qbFirst[byFirst[admitted]] <= qb) active[na++] = byFirst[admitted++];
    if (na === 1) sweep.single(active[0], qb);
    else if (na > 1) sweep.shared(active, na, qb);
    sweep.out.endRow(qb);
  }
  const { partial, full } = sweep.out;
  return {
    blockQ,
    blockK,
    numBlocksQ: nbq,
    numBlocksK: nbk,
    ...sweep.out.result(),
    counts: { empty: nbq * nbk - partial - full, partial, full },
  };
}

/** blockMap's tables and per-row work (small methods, so that the JIT optimizes them early). */
class BlockSweep {
  readonly out: RunWriter;
  private readonly Sq: number;
  private readonly Sk: number;
  /** Per slice: its band's columns and diagonals, its non-empty rows [r0, r1), block rows [first, end). */
  private readonly k0s: Float64Array;
  private readonly k1s: Float64Array;
  private readonly los: Float64Array;
  private readonly his: Float64Array;
  private readonly r0s: Float64Array;
  private readonly r1s: Float64Array;
  readonly qbFirst: Int32Array;
  readonly qbEnd: Int32Array;
  /** Slices with rows, by first block row. */
  readonly byFirst: Int32Array;
  // Edges of one slice in one block row (set by `edges`): rows [r0, r1); key blocks [fa, fb)
  // uniform (every column covered by all r1 - r0 rows), [kbFirst, fa) and [fb, kbLast) crossed by
  // its edges.
  private r0 = 0;
  private r1 = 0;
  private fa = 0;
  private fb = 0;
  private kbFirst = 0;
  private kbLast = 0;
  // Contributions of a shared block row (stride 3): key blocks [a, b), value. A uniform run adds
  // `value` rows to every column of its blocks; an exact block (b = -1) adds `value` pairs to block a.
  private con = new Float64Array(48);
  private keys = new Float64Array(32);

  constructor(
    m: Mask,
    private readonly blockQ: number,
    private readonly blockK: number,
    nbq: number,
  ) {
    const slices = m.slices;
    const ns = slices.length;
    this.k0s = new Float64Array(ns);
    this.k1s = new Float64Array(ns);
    this.los = new Float64Array(ns);
    this.his = new Float64Array(ns);
    this.r0s = new Float64Array(ns);
    this.r1s = new Float64Array(ns);
    this.qbFirst = new Int32Array(ns);
    this.qbEnd = new Int32Array(ns);
    const firstCount = new Int32Array(nbq + 1);
    for (let t = 0; t < ns; t++) {
      const band = sliceToBand(slices[t]);
      const rows = bandRows(band);
      this.k0s[t] = band.k0;
      this.k1s[t] = band.k1;
      this.los[t] = band.lo;
      this.his[t] = band.hi;
      this.r0s[t] = rows.start;
      this.r1s[t] = rows.end;
      if (rows.end <= rows.start) continue;
      this.qbFirst[t] = Math.floor(rows.start / blockQ);
      this.qbEnd[t] = Math.ceil(rows.end / blockQ);
      firstCount[this.qbFirst[t] + 1]++;
    }
    for (let qb = 0; qb < nbq; qb++) firstCount[qb + 1] += firstCount[qb];
    this.byFirst = new Int32Array(firstCount[nbq]);
    for (let t = 0; t < ns; t++) if (this.r1s[t] > this.r0s[t]) this.byFirst[firstCount[this.qbFirst[t]]++] = t;
    this.Sq = m.seqlenQ;
    this.Sk = m.seqlenK;
    this.out = new RunWriter(nbq, this.byFirst.length);
  }

  /** Rows of block row qb (the last one may be short). */
  private rowsInBlock(qb: number): number {
    return Math.min(this.Sq, (qb + 1) * this.blockQ) - qb * this.blockQ;
  }

  /** Edges of slice s in block row qb, which it touches. */
  private edges(s: number, qb: number): void {
    const { blockQ, blockK } = this;
    const k0 = this.k0s[s];
    const k1 = this.k1s[s];
    const lo = this.los[s];
    const hi = this.his[s];
    const r0 = Math.max(this.r0s[s], qb * blockQ);
    const r1 = Math.min(this.r1s[s], (qb + 1) * blockQ);
    const loMin = Math.max(k0, r0 + lo); // first column of row r0
    const loMax = Math.max(k0, r1 - 1 + lo);
    const hiMin = Math.min(k1, r0 + hi + 1); // one past the last column of row r0
    const hiMax = Math.min(k1, r1 + hi);
    this.r0 = r0;
    this.r1 = r1;
    this.fa = Math.ceil(loMax / blockK);
    this.fb = Math.max(this.fa, Math.floor(hiMin / blockK));
    this.kbFirst = Math.floor(loMin / blockK);
    this.kbLast = Math.ceil(hiMax / blockK); // exclusive
  }

  /** Unmasked pairs of slice s in key block kb and rows [r0, r1). */
  private exact(s: number, kb: number): number {
    const c0 = kb * this.blockK;
    const c1 = Math.min(this.k1s[s], this.Sk, c0 + this.blockK);
    return rectBandArea(this.r0, this.r1, Math.max(this.k0s[s], c0), c1, this.los[s], this.his[s]);
  }

  /** Block row qb touched by slice s only: its edge blocks and uniform run, already in key order. */
  single(s: number, qb: number): void {
    this.edges(s, qb);
    const { fa, fb, kbLast, out } = this;
    const rowsInBlock = this.rowsInBlock(qb);
    for (let kb = this.kbFirst; kb < kbLast; kb++) {
      if (kb === fa && fb > fa) {
        out.add(fa, fb, this.r1 - this.r0 === rowsInBlock);
        kb = fb - 1;
        continue;
      }
      const c = this.exact(s, kb);
      if (c > 0) out.add(kb, kb + 1, c === rowsInBlock * (Math.min(this.Sk, (kb + 1) * this.blockK) - kb * this.blockK));
    }
  }

  /** Block row qb touched by slices active[0, na): contributions, sorted events, one sweep. */
  shared(active: Int32Array, na: number, qb: number): void {
    let nc = 0;
    for (let t = 0; t < na; t++) {
      const s = active[t];
      this.edges(s, qb);
      const { fa, fb, kbFirst, kbLast } = this;
      if (3 * (nc + kbLast - kbFirst + 1) > this.con.length) {
        const grown = new Float64Array(Math.max(2 * this.con.length, 3 * (nc + kbLast - kbFirst + 1)));
        grown.set(this.con);
        this.con = grown;
      }
      const con = this.con;
      if (fb > fa) {
        con[3 * nc] = fa;
        con[3 * nc + 1] = fb;
        con[3 * nc + 2] = this.r1 - this.r0;
        nc++;
      }
      for (let kb = kbFirst; kb < kbLast; kb++) {
        if (kb === fa && fb > fa) {
          kb = fb - 1;
          continue;
        }
        const c = this.exact(s, kb);
        if (c > 0) {
          con[3 * nc] = kb;
          con[3 * nc + 1] = -1;
          con[3 * nc + 2] = c;
          nc++;
        }
      }
    }
    const con = this.con;
    // Events sort as numbers: key = position * EV + 2 * contribution + isEnd.
    let EV = 2;
    while (EV < 2 * nc) EV *= 2;
    if ((Math.ceil(this.Sk / this.blockK) + 1) * EV > Number.MAX_SAFE_INTEGER) throw new Error(`blockMap: too many slices in one block row`);
    if (this.keys.length < 2 * nc) this.keys = new Float64Array(4 * nc);
    const keys = this.keys;
    let ne = 0;
    for (let c = 0; c < nc; c++) {
      keys[ne++] = con[3 * c] * EV + 2 * c;
      if (con[3 * c + 1] >= 0) keys[ne++] = con[3 * c + 1] * EV + 2 * c + 1;
    }
    sortPrefix(keys, ne);
    // Sweep: at each event position p, uniform runs add/remove their rows and exact blocks at p add
    // their pairs; [p, next position) then has one uniform row count, except block p itself when it
    // also has an exact count.
    const rowsInBlock = this.rowsInBlock(qb);
    let rowsSum = 0;
    for (let t = 0; t < ne; ) {
      const p = Math.floor(keys[t] / EV);
      let ex = 0;
      let hasExact = false;
      for (; t < ne && Math.floor(keys[t] / EV) === p; t++) {
        const id = keys[t] - p * EV;
        const c = 3 * (id >> 1);
        if (con[c + 1] < 0) {
          ex += con[c + 2];
          hasExact = true;
        } else rowsSum += id & 1 ? -con[c + 2] : con[c + 2];
      }
      const q = t < ne ? Math.floor(keys[t] / EV) : p + 1;
      let a = p;
      if (hasExact) {
        const width = Math.min(this.Sk, (p + 1) * this.blockK) - p * this.blockK;
        this.out.add(p, p + 1, rowsSum * width + ex === rowsInBlock * width);
        a = p + 1;
      }
      if (rowsSum > 0 && q > a) this.out.add(a, q, rowsSum === rowsInBlock);
    }
  }
}

/** The runs of block row qb as objects (convenience for callers off the hot path). */
export function blockRuns(bm: BlockMap, qb: number): BlockRun[] {
  const runs: BlockRun[] = [];
  for (let r = bm.rowRuns[qb]; r < bm.rowRuns[qb + 1]; r++) {
    runs.push({ kbStart: bm.runStart[r], kbEnd: bm.runEnd[r], kind: bm.runFull[r] ? 'full' : 'partial' });
  }
  return runs;
}

/**
 * Unmasked pairs of the band {lo <= j - i <= hi} inside [q0, q1) x [k0, k1): bandArea(clipBand(...))
 * without building the clipped band. O(1), no allocation. Row i holds
 * [max(k0, i + lo), min(k1, i + hi + 1)); its left edge follows the diagonal for i >= k0 - lo and its
 * right edge for i < k1 - hi, so the rows split into at most three pieces of linear row length.
 */
function rectBandArea(q0: number, q1: number, k0: number, k1: number, lo: number, hi: number): number {
  if (k1 <= k0 || lo > hi) return 0;
  const start = Math.max(q0, k0 - hi);
  const end = Math.min(q1, k1 - lo);
  if (end <= start) return 0;
  const pLo = k0 - lo;
  const pHi = k1 - hi;
  const c1 = Math.min(end, Math.max(start, Math.min(pLo, pHi)));
  const c2 = Math.min(end, Math.max(c1, Math.max(pLo, pHi)));
  return piece(start, c1, k0, k1, lo, hi, pLo, pHi) + piece(c1, c2, k0, k1, lo, hi, pLo, pHi) + piece(c2, end, k0, k1, lo, hi, pLo, pHi);
}

/** Pairs in rows [a, b) of a band whose edge types are fixed over those rows (see rectBandArea). */
function piece(a: number, b: number, k0: number, k1: number, lo: number, hi: number, pLo: number, pHi: number): number {
  if (b <= a) return 0;
  const n = b - a;
  const loDiag = a >= pLo;
  const hiDiag = a < pHi;
  if (!loDiag && !hiDiag) return n * (k1 - k0);
  const sumI = (n * (a + b - 1)) / 2;
  if (!loDiag) return n * (hi - k0 + 1) + sumI;
  if (!hiDiag) return n * (k1 - lo) - sumI;
  return n * (hi - lo + 1);
}

/**
 * The block map's runs, written block row by block row in key order: a run is extended while the
 * blocks touch and keep their kind, never across rows.
 */
class RunWriter {
  partial = 0;
  full = 0;
  private n = 0;
  private rowBegin = 0;
  private readonly rowRuns: Int32Array;
  private start: Int32Array;
  private end: Int32Array;
  private isFull: Uint8Array;

  /** For `rows` block rows and `slices` slices (a guess at the number of runs, grown as needed). */
  constructor(rows: number, slices: number) {
    this.rowRuns = new Int32Array(rows + 1);
    const cap = 2 * rows + 4 * slices + 16;
    this.start = new Int32Array(cap);
    this.end = new Int32Array(cap);
    this.isFull = new Uint8Array(cap);
  }

  /** Blocks [a, b) of the current row, full or partial, after every block already added. */
  add(a: number, b: number, full: boolean): void {
    if (full) this.full += b - a;
    else this.partial += b - a;
    const n = this.n;
    const f = full ? 1 : 0;
    if (n > this.rowBegin && this.end[n - 1] === a && this.isFull[n - 1] === f) {
      this.end[n - 1] = b;
      return;
    }
    if (n === this.start.length) {
      const grow = <T extends Int32Array | Uint8Array>(x: T, y: T): T => (y.set(x), y);
      this.start = grow(this.start, new Int32Array(2 * n));
      this.end = grow(this.end, new Int32Array(2 * n));
      this.isFull = grow(this.isFull, new Uint8Array(2 * n));
    }
    this.start[n] = a;
    this.end[n] = b;
    this.isFull[n] = f;
    this.n = n + 1;
  }

  /** Close block row qb (rows are closed in order, each exactly once). */
  endRow(qb: number): void {
    this.rowRuns[qb + 1] = this.n;
    this.rowBegin = this.n;
  }

  result(): Pick<BlockMap, 'rowRuns' | 'runStart' | 'runEnd' | 'runFull'> {
    const n = this.n;
    return { rowRuns: this.rowRuns, runStart: this.start.slice(0, n), runEnd: this.end.slice(0, n), runFull: this.isFull.slice(0, n) };
  }
}

/** Sort xs[0, n) ascending: insertion sort for the usual handful of events, native sort beyond. */
function sortPrefix(xs: Float64Array, n: number): void {
  if (n > 32) {
    xs.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = xs[i];
    let j = i - 1;
    while (j >= 0 && xs[j] > x) {
      xs[j + 1] = xs[j];
      j--;
    }
    xs[j + 1] = x;
  }
}
