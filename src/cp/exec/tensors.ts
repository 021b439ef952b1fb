// Buffers as float32 arrays; this executor keeps heads outermost (types.ts fixes what a buffer holds,
// not the order; the torch executor keeps tokens outermost, python/attnbench_worker/cp/logic.py):
//   q o do dq     [heads, tokens, D]          o: then lse [heads, tokens]
//   kv dkv        K [heads, tokens, D] then V [heads, tokens, D]
// Copy / accumulate by coordinates: the (token, head) elements two buffers both hold.
import type { Range } from '../../mask/types.js';
import type { BufferDesc, TensorKind } from '../types.js';

export const partsOf = (t: TensorKind): number => (t === 'kv' || t === 'dkv' ? 2 : 1);
export const hasLse = (t: TensorKind): boolean => t === 'o';

const tokensOf = (rs: readonly Range[]) => rs.reduce((a, r) => a + r.end - r.start, 0);

/** Element layout of a buffer. */
export interface Layout {
  readonly heads: number;
  readonly tokens: number;
  readonly dim: number;
  readonly parts: number;
  /** Offset of the lse block (o buffers), else -1. */
  readonly lseAt: number;
  readonly length: number;
}

export function layoutOf(d: BufferDesc, headDim: number): Layout {
  const heads = d.heads.end - d.heads.start;
  const tokens = tokensOf(d.tokens);
  const dim = d.tensor === 'lse' ? 1 : headDim;
  const parts = partsOf(d.tensor);
  const body = parts * heads * tokens * dim;
  const lse = hasLse(d.tensor) ? heads * tokens : 0;
  return { heads, tokens, dim, parts, lseAt: lse ? body : -1, length: body + lse };
}

export function allocate(d: BufferDesc, headDim: number): Float32Array {
  const l = layoutOf(d, headDim);
  const a = new Float32Array(l.length);
  if (l.lseAt >= 0) a.fill(-Infinity, l.lseAt);
  return a;
}

/** Pairs of overlapping token runs: [from offset, into offset, length] (python cp/logic.py overlap_runs). */
export function tokenOverlaps(from: readonly Range[], into: readonly Range[]): [number, number, number][] {
  const out: [number, number, number][] = [];
  let fo = 0;
  for (const f of from) {
    let io = 0;
    for (const i of into) {
      const s = Math.max(f.start, i.start);
      const e = Math.min(f.end, i.end);
      if (e > s) out.push([fo + s - f.start, io + s - i.start, e - s]);
      io += i.end - i.start;
    }
    fo += f.end - f.start;
  }
  return out;
}

/** into[x] = from[x] (or += when add) for every element both hold. Same tensor kind. */
export function copyByCoords(fromD: BufferDesc, from: Float32Array, intoD: BufferDesc, into: Float32Array, headDim: number, add: boolean): void {
  const lf = layoutOf(fromD, headDim);
  const li = layoutOf(intoD, headDim);
  const h0 = Math.max(fromD.heads.start, intoD.heads.start);
  const h1 = Math.min(fromD.heads.end, intoD.heads.end);
  const runs = tokenOverlaps(fromD.tokens, intoD.tokens);
  const D = lf.dim;
  const move = (src: number, dst: number, n: number) => {
    if (!add) into.set(from.subarray(src, src + n), dst);
    else for (let t = 0; t < n; t++) into[dst + t] += from[src + t];
  };
  for (let h = h0; h < h1; h++) {
    const hf = h - fromD.heads.start;
    const hi = h - intoD.heads.start;
    for (const [fo, io, n] of runs) {
      for (let p = 0; p < lf.parts; p++) {
        const src = p * lf.heads * lf.tokens * D + (hf * lf.tokens + fo) * D;
        const dst = p * li.heads * li.tokens * D + (hi * li.tokens + io) * D;
        move(src, dst, n * D);
      }
      if (lf.lseAt >= 0 && li.lseAt >= 0) {
        const src = lf.lseAt + hf * lf.tokens + fo;
        const dst = li.lseAt + hi * li.tokens + io;
        if (!add) into.set(from.subarray(src, src + n), dst);
      }
    }
  }
}

/** Rows [H, T, D] of the global tensor [H, S, D] at `tokens`, heads [h0, h1). */
export function gatherTokens(global: ArrayLike<number>, S: number, D: number, heads: Range, tokens: readonly Range[]): Float32Array {
  const T = tokensOf(tokens);
  const out = new Float32Array((heads.end - heads.start) * T * D);
  let o = 0;
  for (let h = heads.start; h < heads.end; h++) {
    for (const r of tokens) {
      for (let i = r.start * D; i < r.end * D; i++) out[o++] = global[h * S * D + i];
    }
  }
  return out;
}

/** Inverse of gatherTokens: writes local [H, T, D] rows into the global [H, S, D]. */
export function scatterTokens(local: ArrayLike<number>, global: Float32Array | Float64Array, S: number, D: number, heads: Range, tokens: readonly Range[], offset = 0): void {
  let o = offset;
  for (let h = heads.start; h < heads.end; h++) {
    for (const r of tokens) {
      for (let i = r.start * D; i < r.end * D; i++) global[h * S * D + i] = local[o++];
    }
  }
}

/** Elements per token of a buffer (all parts, all heads, + lse). */
export function perToken(d: BufferDesc, headDim: number): number {
  const l = layoutOf(d, headDim);
  return l.tokens === 0 ? 0 : l.length / l.tokens;
}

/**
 * Local tokens [t0, t0 + n) of a buffer as a dense buffer of the same kind and heads (what one
 * member of a reduce-scatter receives); `place` is the inverse (what an all-gather assembles).
 */
export function sliceTokens(d: BufferDesc, data: Float32Array, headDim: number, t0: number, n: number): Float32Array {
  const l = layoutOf(d, headDim);
  const out = new Float32Array(l.length === 0 ? 0 : (l.length / l.tokens) * n);
  moveTokens(l, t0, n, (big, small, len) => out.set(data.subarray(big, big + len), small));
  return out;
}

export function placeTokens(d: BufferDesc, data: Float32Array, chunk: Float32Array, headDim: number, t0: number, n: number, add = false): void {
  const l = layoutOf(d, headDim);
  moveTokens(l, t0, n, (big, small, len) => {
    if (!add) data.set(chunk.subarray(small, small + len), big);
    else for (let t = 0; t < len; t++) data[big + t] += chunk[small + t];
  });
}

/** Calls fn(big offset, chunk offset, length) for tokens [t0, t0 + n) of layout l vs a dense n-token chunk. */
function moveTokens(l: Layout, t0: number, n: number, fn: (big: number, small: number, len: number) => void): void {
  const D = l.dim;
  for (let p = 0; p < l.parts; p++) {
    for (let h = 0; h < l.heads; h++) {
      fn(p * l.heads * l.tokens * D + (h * l.tokens + t0) * D, p * l.heads * n * D + h * n * D, n * D);
    }
  }
  if (l.lseAt >= 0) {
    const body = l.parts * l.heads * n * D;
    for (let h = 0; h < l.heads; h++) fn(l.lseAt + h * l.tokens + t0, body + h * n, n);
  }
}
