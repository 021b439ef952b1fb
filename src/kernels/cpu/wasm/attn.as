// AssemblyScript source of the CPU attention block kernels (WebAssembly SIMD, f32x4).
// Built by build.mjs beside this file into ../attn-wasm.generated.ts; the extension is `.as` so that
// the project's tsc does not try to type-check AssemblyScript.
//
// Everything here works on one (query block x key block) tile; src/kernels/cpu/tiled.ts walks the
// block map and owns the memory layout. Conventions:
//   - pointers are byte offsets into linear memory; matrices are row-major f32
//   - row counts of tiles are multiples of 4, the head dimension `dp` a multiple of 8 (callers pad
//     with zeros, which changes no dot product)
//   - scores are kept in base 2: t = log2(e) * scale * q.k, so exp(scale*q.k - m) = exp2(t - m/ln 2)
//   - a bias tile (0 or -inf per score) carries the mask of partial blocks and padded key columns;
//     bias = 0 means "no mask in this block"

const NEG_INF: f32 = -Infinity;

// ---------------------------------------------------------------------------------------------
// exp2 on four lanes: Cephes exp2f (range reduction to [-0.5, 0.5], degree-6 polynomial,
// relative error ~2e-7), flushed to 0 for x < -100 (and for -inf / NaN, which masked and empty
// rows produce) so that masked scores contribute exactly zero. The flush threshold keeps every
// intermediate and product far from subnormal floats, which cost x86 a microcode assist each
// (they made partial tiles several times slower); callers only pass x <= 0 relative to a row
// maximum, where 2^-100 is invisible in f32 sums.
function exp2v(x: v128): v128 {
  const keep = f32x4.ge(x, f32x4.splat(-100.0));
  const c = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-100.0)), f32x4.splat(126.0));
  const n = f32x4.nearest(c);
  const f = f32x4.sub(c, n);
  let p = f32x4.splat(1.535336188319500e-4);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.339887440266574e-3));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(9.618437357674640e-3));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(5.550332471162809e-2));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(2.402264791363012e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(6.931472028550421e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return v128.and(f32x4.mul(p, pow2n), keep);
}

function exp2s(x: f32): f32 {
  return f32x4.extract_lane(exp2v(f32x4.splat(x)), 0);
}

function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

function hmax(v: v128): f32 {
  return Mathf.max(Mathf.max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), Mathf.max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// ---------------------------------------------------------------------------------------------
// C[m x n] = A[m x kk] * B[n x kk]^T   ("NT": both operands have the reduced index contiguous).
// Register tile: 4 rows of A x 2 rows of B, each accumulator a 4-lane partial dot product.
// m % 4 == 0, n % 2 == 0, kk % 4 == 0. Strides (lda, ldb, ldc) in elements.
function gemmNT(a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, m: i32, n: i32, kk: i32): void {
  const sa = <usize>lda << 2;
  const kb = <usize>kk << 2;
  for (let i = 0; i < m; i += 4) {
    const a0 = a + <usize>i * sa;
    const a1 = a0 + sa;
    const a2 = a1 + sa;
    const a3 = a2 + sa;
    const crow = c + ((<usize>i * <usize>ldc) << 2);
    for (let j = 0; j < n; j += 2) {
      const b0 = b + ((<usize>j * <usize>ldb) << 2);
      const b1 = b0 + (<usize>ldb << 2);
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      for (let d: usize = 0; d < kb; d += 16) {
        const y0 = v128.load(b0 + d);
        const y1 = v128.load(b1 + d);
        let x = v128.load(a0 + d);
        c00 = f32x4.add(c00, f32x4.mul(x, y0));
        c01 = f32x4.add(c01, f32x4.mul(x, y1));
        x = v128.load(a1 + d);
        c10 = f32x4.add(c10, f32x4.mul(x, y0));
        c11 = f32x4.add(c11, f32x4.mul(x, y1));
        x = v128.load(a2 + d);
        c20 = f32x4.add(c20, f32x4.mul(x, y0));
        c21 = f32x4.add(c21, f32x4.mul(x, y1));
        x = v128.load(a3 + d);
        c30 = f32x4.add(c30, f32x4.mul(x, y0));
        c31 = f32x4.add(c31, f32x4.mul(x, y1));
      }
      const sc = <usize>ldc << 2;
      const o = crow + (<usize>j << 2);
      store<f32>(o, hsum(c00));
      store<f32>(o + 4, hsum(c01));
      store<f32>(o + sc, hsum(c10));
      store<f32>(o + sc + 4, hsum(c11));
      store<f32>(o + 2 * sc, hsum(c20));
      store<f32>(o + 2 * sc + 4, hsum(c21));
      store<f32>(o + 3 * sc, hsum(c30));
      store<f32>(o + 3 * sc + 4, hsum(c31));
    }
  }
}

// C[m x n] += A[m x kk] * B[kk x n], where element (r, t) of A is at a + r*ars + t*ats (bytes), so
// the same loop serves A (ars = row stride, ats = 4) and A^T (ars = 4, ats = row stride).
// Register tile: 4 rows x 8 columns (two vectors). m % 4 == 0, n % 8 == 0. ldb, ldc in elements.
function gemmAcc(a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32, m: i32, n: i32, kk: i32): void {
  const sb = <usize>ldb << 2;
  const sc = <usize>ldc << 2;
  const rs = <usize>ars;
  const ts = <usize>ats;
  for (let i = 0; i < m; i += 4) {
    const ar = a + <usize>i * rs;
    const crow = c + <usize>i * sc;
    for (let col = 0; col < n; col += 8) {
      const cb = crow + (<usize>col << 2);
      let c00 = v128.load(cb), c01 = v128.load(cb + 16);
      let c10 = v128.load(cb + sc), c11 = v128.load(cb + sc + 16);
      let c20 = v128.load(cb + 2 * sc), c21 = v128.load(cb + 2 * sc + 16);
      let c30 = v128.load(cb + 3 * sc), c31 = v128.load(cb + 3 * sc + 16);
      let bp = b + (<usize>col << 2);
      let ap = ar;
      for (let t = 0; t < kk; t++) {
        const y0 = v128.load(bp);
        const y1 = v128.load(bp + 16);
        let x = v128.load32_splat(ap);
        c00 = f32x4.add(c00, f32x4.mul(x, y0));
        c01 = f32x4.add(c01, f32x4.mul(x, y1));
        x = v128.load32_splat(ap + rs);
        c10 = f32x4.add(c10, f32x4.mul(x, y0));
        c11 = f32x4.add(c11, f32x4.mul(x, y1));
        x = v128.load32_splat(ap + 2 * rs);
        c20 = f32x4.add(c20, f32x4.mul(x, y0));
        c21 = f32x4.add(c21, f32x4.mul(x, y1));
        x = v128.load32_splat(ap + 3 * rs);
        c30 = f32x4.add(c30, f32x4.mul(x, y0));
        c31 = f32x4.add(c31, f32x4.mul(x, y1));
        bp += sb;
        ap += ts;
      }
      v128.store(cb, c00);
      v128.store(cb + 16, c01);
      v128.store(cb + sc, c10);
      v128.store(cb + sc + 16, c11);
      v128.store(cb + 2 * sc, c20);
      v128.store(cb + 2 * sc + 16, c21);
      v128.store(cb + 3 * sc, c30);
      v128.store(cb + 3 * sc + 16, c31);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forward: one key block folded into the running state (acc, m, l) of one query block.
// Online softmax (FlashAttention-2, Algorithm 1), per row i with scores t_ij in base 2:
//   m' = max(m, max_j t_ij)      alpha = 2^(m - m')      P_ij = 2^(t_ij - m')
//   l' = alpha * l + sum_j P_ij  acc' = alpha * acc + P V
// s: scratch tile [bq4 x bk4]; bias: 0 or a [bq4 x bk4] tile of 0 / -inf.
export function fwdBlock(
  q: usize, k: usize, v: usize, s: usize, bias: usize, acc: usize, mrow: usize, lrow: usize,
  bq4: i32, bk4: i32, dp: i32, scaleLog2: f32,
): void {
  gemmNT(q, dp, k, dp, s, bk4, bq4, bk4, dp);
  const rowBytes = <usize>bk4 << 2;
  const kb = rowBytes;
  const vs = f32x4.splat(scaleLog2);
  for (let i = 0; i < bq4; i++) {
    const row = s + <usize>i * rowBytes;
    let mx = f32x4.splat(NEG_INF);
    if (bias != 0) {
      const brow = bias + <usize>i * rowBytes;
      for (let j: usize = 0; j < kb; j += 16) {
        const t = f32x4.add(f32x4.mul(v128.load(row + j), vs), v128.load(brow + j));
        v128.store(row + j, t);
        mx = f32x4.pmax(mx, t);
      }
    } else {
      for (let j: usize = 0; j < kb; j += 16) {
        const t = f32x4.mul(v128.load(row + j), vs);
        v128.store(row + j, t);
        mx = f32x4.pmax(mx, t);
      }
    }
    const mOld = load<f32>(mrow + (<usize>i << 2));
    const mNew = Mathf.max(mOld, hmax(mx));
    if (mNew == NEG_INF) {
      // Nothing unmasked in this row so far: P row is zero, state unchanged.
      memory.fill(row, 0, rowBytes);
      continue;
    }
    const vm = f32x4.splat(mNew);
    let sum = f32x4.splat(0);
    for (let j: usize = 0; j < kb; j += 16) {
      const p = exp2v(f32x4.sub(v128.load(row + j), vm));
      v128.store(row + j, p);
      sum = f32x4.add(sum, p);
    }
    const alpha = exp2s(mOld - mNew);
    const lp = lrow + (<usize>i << 2);
    store<f32>(lp, load<f32>(lp) * alpha + hsum(sum));
    store<f32>(mrow + (<usize>i << 2), mNew);
    if (alpha != 1) {
      const va = f32x4.splat(alpha);
      const arow = acc + ((<usize>i * <usize>dp) << 2);
      const ab = <usize>dp << 2;
      for (let d: usize = 0; d < ab; d += 16) v128.store(arow + d, f32x4.mul(v128.load(arow + d), va));
    }
  }
  gemmAcc(s, bk4 << 2, 4, v, dp, acc, dp, bq4, dp, bk4);
}

// Forward epilogue for `rows` rows: out = acc / l and lse = ln 2 * (m + log2 l) (natural log);
// rows with nothing unmasked (l == 0) get out = 0 and lse = -inf.
export function fwdFinish(acc: usize, mrow: usize, lrow: usize, out: usize, lse: usize, rows: i32, dp: i32): void {
  const ab = <usize>dp << 2;
  for (let i = 0; i < rows; i++) {
    const l = load<f32>(lrow + (<usize>i << 2));
    const arow = acc + <usize>i * ab;
    const orow = out + <usize>i * ab;
    if (l == 0) {
      memory.fill(orow, 0, ab);
      store<f32>(lse + (<usize>i << 2), NEG_INF);
      continue;
    }
    const inv = f32x4.splat(1 / l);
    for (let d: usize = 0; d < ab; d += 16) v128.store(orow + d, f32x4.mul(v128.load(arow + d), inv));
    store<f32>(lse + (<usize>i << 2), <f32>((<f64>load<f32>(mrow + (<usize>i << 2)) + Math.log2(<f64>l)) * Math.LN2));
  }
}

// ---------------------------------------------------------------------------------------------
// Backward: one (query block, key block) tile, FlashAttention-2 style recompute from the final
// log-sum-exp (Algorithm 2):
//   P = exp(scale q.k - lse)         dP = dO V^T        dS = scale * P * (dP - Di),  Di = dO_i . O_i
//   dV += P^T dO                     dK += dS^T Q       dQ += dS K
// lseLog2[i] = lse_i / ln 2, or +inf for rows whose P must be zero (fully masked, padding).
// s, dpt: scratch tiles [bq4 x bk4].
export function bwdBlock(
  q: usize, k: usize, v: usize, dout: usize, lseLog2: usize, di: usize, s: usize, dpt: usize, bias: usize,
  dq: usize, dk: usize, dv: usize, bq4: i32, bk4: i32, dp: i32, scaleLog2: f32, scale: f32,
): void {
  gemmNT(q, dp, k, dp, s, bk4, bq4, bk4, dp);
  gemmNT(dout, dp, v, dp, dpt, bk4, bq4, bk4, dp);
  const rowBytes = <usize>bk4 << 2;
  const vs = f32x4.splat(scaleLog2);
  const vscale = f32x4.splat(scale);
  for (let i = 0; i < bq4; i++) {
    const row = s + <usize>i * rowBytes;
    const drow = dpt + <usize>i * rowBytes;
    const vl = f32x4.splat(load<f32>(lseLog2 + (<usize>i << 2)));
    const vd = f32x4.splat(load<f32>(di + (<usize>i << 2)));
    const brow = bias + <usize>i * rowBytes;
    for (let j: usize = 0; j < rowBytes; j += 16) {
      let t = f32x4.mul(v128.load(row + j), vs);
      if (bias != 0) t = f32x4.add(t, v128.load(brow + j));
      const p = exp2v(f32x4.sub(t, vl));
      v128.store(row + j, p);
      v128.store(drow + j, f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(drow + j), vd)), vscale));
    }
  }
  // dV[j, :] += sum_i P[i, j] dO[i, :]  (A = P^T: element (j, i) at s + i*rowBytes + 4j)
  gemmAcc(s, 4, bk4 << 2, dout, dp, dv, dp, bk4, dp, bq4);
  gemmAcc(dpt, 4, bk4 << 2, q, dp, dk, dp, bk4, dp, bq4);
  gemmAcc(dpt, bk4 << 2, 4, k, dp, dq, dp, bq4, dp, bk4);
}

/** First byte the host may use (after the module's static data), 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}
