import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bandToSlices } from '../../mask/band.js';
import { restrict } from '../../mask/slices.js';
import { arbGridMask } from '../../mask/testing.js';
import type { Mask, Slice } from '../../mask/types.js';
import { toleranceFor } from '../../util/tolerance.js';
import {
  plainJsForward,
  referenceBackward,
  referenceForward,
  tiledBackward,
  tiledForward,
  type CpuAttnShape,
  type MaskArg,
} from './index.js';

// Float32 kernels against the float64 reference: max-abs error within the float32 tolerance,
// relative to the reference's magnitude where that exceeds 1 (gradients of K/V sum over many rows).
const TOL = toleranceFor('float32');

function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length, name).toBe(want.length);
  let scale = 1;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === -Infinity || got[i] === -Infinity) {
      if (want[i] !== got[i]) throw new Error(`${name}[${i}]: got ${got[i]}, want ${want[i]}`);
      continue;
    }
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  expect(worst, `${name}: max abs error at ${at} (reference scale ${scale})`).toBeLessThanOrEqual(TOL * scale);
}

/** Deterministic uniform [-1, 1) values (mulberry32). */
function randoms(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

interface Inputs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly dout: Float32Array;
}

function inputs(s: CpuAttnShape, seed: number): Inputs {
  const nq = s.headsQ * s.seqlenQ * s.headDim;
  const nk = s.headsKv * s.seqlenK * s.headDim;
  return { q: randoms(nq, seed), k: randoms(nk, seed + 1), v: randoms(nk, seed + 2), dout: randoms(nq, seed + 3) };
}

/** Forward and backward of the tiled kernels against the reference. */
function checkAgainstReference(mask: MaskArg, s: CpuAttnShape, blocks: { blockQ?: number; blockK?: number } = {}, seed = 1): void {
  const { q, k, v, dout } = inputs(s, seed);
  const ref = referenceForward(q, k, v, mask, s);
  const fwd = tiledForward(q, k, v, mask, s, blocks);
  expectClose('out', fwd.out, ref.out);
  expectClose('lse', fwd.lse, ref.lse);
  const refB = referenceBackward(q, k, v, mask, s, dout);
  const bwd = tiledBackward(q, k, v, fwd.out, fwd.lse, dout, mask, s, blocks);
  expectClose('dq', bwd.dq, refB.dq);
  expectClose('dk', bwd.dk, refB.dk);
  expectClose('dv', bwd.dv, refB.dv);
}

const mk = (seqlenQ: number, seqlenK: number, slices: Slice[]): Mask => ({ seqlenQ, seqlenK, slices });
const sl = (qStart: number, qEnd: number, kStart: number, kEnd: number, kind: Slice['kind']): Slice => ({ qStart, qEnd, kStart, kEnd, kind });

/** Documents of the given lengths on the diagonal, each one slice of `kind`. */
function documents(lens: readonly number[], kind: Slice['kind']): Mask {
  const slices: Slice[] = [];
  let at = 0;
  for (const n of lens) {
    slices.push(sl(at, at + n, at, at + n, kind));
    at += n;
  }
  return mk(at, at, slices);
}

const S = 150;
const MASKS: Record<string, Mask> = {
  full: mk(S, S, [sl(0, S, 0, S, 'full')]),
  causal: mk(S, S, [sl(0, S, 0, S, 'causal')]),
  causal_documents: documents([37, 1, 64, 48], 'causal'),
  full_documents: documents([70, 13, 67], 'full'),
  mixed_documents: mk(S, S, [sl(0, 50, 0, 50, 'full'), sl(50, 120, 50, 120, 'causal'), sl(120, S, 0, 50, 'full'), sl(120, S, 120, S, 'causal')]),
  sliding_window: mk(S, S, bandToSlices({ q0: 0, q1: S, k0: 0, k1: S, lo: -17, hi: 17 })),
  sliding_window_causal: mk(S, S, bandToSlices({ q0: 0, q1: S, k0: 0, k1: S, lo: -40, hi: 0 })),
  invcausal: mk(S, S, [sl(0, S, 0, S, 'invcausal')]),
  bicausal: mk(S, S + 20, [sl(0, S, 0, S + 20, 'bicausal')]),
  // Rows 0-9 and 100-129 see nothing at all; rows 10-99 only a few columns.
  fully_masked_rows: mk(S, S, [sl(10, 60, 3, 9, 'full'), sl(60, 100, 60, 100, 'causal'), sl(130, S, 0, S, 'causal')]),
  empty: mk(S, S, []),
  sq_lt_sk: mk(90, 200, [sl(0, 90, 0, 150, 'causal'), sl(0, 30, 170, 200, 'invcausal'), sl(60, 90, 150, 200, 'full')]),
  sq_gt_sk: mk(200, 90, [sl(0, 100, 0, 50, 'full'), sl(100, 200, 0, 90, 'causal')]),
};

const SHAPES = (m: Mask, headDim: number): CpuAttnShape[] => [
  { seqlenQ: m.seqlenQ, seqlenK: m.seqlenK, headsQ: 4, headsKv: 2, headDim },
  { seqlenQ: m.seqlenQ, seqlenK: m.seqlenK, headsQ: 2, headsKv: 2, headDim, scale: 0.3 },
];

describe('tiled kernels match the float64 reference', () => {
  for (const [name, mask] of Object.entries(MASKS)) {
    it(`${name}: GQA 4:2 and MHA, head dims 16 and 5, several block sizes`, () => {
      for (const s of SHAPES(mask, 16)) checkAgainstReference(mask, s);
      for (const s of SHAPES(mask, 5)) checkAgainstReference(mask, s, { blockQ: 16, blockK: 8 });
      checkAgainstReference(mask, SHAPES(mask, 16)[0], { blockQ: 4, blockK: 12 });
    });
  }

  it('per-KV-head masks (block-sparse style)', () => {
    const s: CpuAttnShape = { seqlenQ: 128, seqlenK: 128, headsQ: 6, headsKv: 3, headDim: 16 };
    const blocks = (keep: (qb: number, kb: number) => boolean): Mask => {
      const slices: Slice[] = [];
      for (let qb = 0; qb < 4; qb++) for (let kb = 0; kb < 4; kb++) if (keep(qb, kb)) slices.push(sl(qb * 32, qb * 32 + 32, kb * 32, kb * 32 + 32, 'full'));
      return mk(128, 128, slices);
    };
    const masks = [blocks((a, b) => (a + b) % 2 === 0), blocks((a, b) => b <= a), blocks((a) => a !== 2)];
    checkAgainstReference(masks, s);
    checkAgainstReference(masks, s, { blockQ: 16, blockK: 48 });
  });

  it('head dim 128 and blocks of 64', () => {
    const mask = MASKS.causal_documents;
    checkAgainstReference(mask, { seqlenQ: S, seqlenK: S, headsQ: 2, headsKv: 1, headDim: 128 });
  });

  it('accepts Float64Array inputs', () => {
    const s: CpuAttnShape = { seqlenQ: 40, seqlenK: 40, headsQ: 2, headsKv: 1, headDim: 8 };
    const { q, k, v } = inputs(s, 5);
    const mask = mk(40, 40, [sl(0, 40, 0, 40, 'causal')]);
    const ref = referenceForward(q, k, v, mask, s);
    const fwd = tiledForward(Float64Array.from(q), Float64Array.from(k), Float64Array.from(v), mask, s);
    expectClose('out', fwd.out, ref.out);
  });
});

/** Random mask: the grid cut into a random grid of rectangles, each a slice of a random kind (as in slices.test.ts). */
const arbMask: fc.Arbitrary<Mask> = arbGridMask(48);

describe('property: tiled == reference on random masks', () => {
  it('forward and backward', () => {
    fc.assert(
      fc.property(
        arbMask,
        fc.constantFrom([1, 1], [2, 1], [4, 2], [3, 3]),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(4, 8, 16, 64),
        fc.constantFrom(4, 8, 12, 64),
        fc.nat(),
        (mask, [headsQ, headsKv], headDim, blockQ, blockK, seed) => {
          const s: CpuAttnShape = { seqlenQ: mask.seqlenQ, seqlenK: mask.seqlenK, headsQ, headsKv, headDim };
          checkAgainstReference(mask, s, { blockQ, blockK }, seed);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('reference backward', () => {
  it('matches central finite differences of sum(out * W)', () => {
    const s: CpuAttnShape = { seqlenQ: 6, seqlenK: 7, headsQ: 2, headsKv: 1, headDim: 3, scale: 0.8 };
    const mask = mk(6, 7, [sl(0, 3, 0, 4, 'causal'), sl(3, 5, 2, 7, 'bicausal'), sl(5, 6, 0, 7, 'full')]);
    const f64 = (a: Float32Array) => Float64Array.from(a, (x) => x * 1.5);
    const { q: q32, k: k32, v: v32, dout: w32 } = inputs(s, 11);
    const [q, k, v, w] = [f64(q32), f64(k32), f64(v32), f64(w32)];
    const loss = () => referenceForward(q, k, v, mask, s).out.reduce((a, x, i) => a + x * w[i], 0);
    const grads = referenceBackward(q, k, v, mask, s, w);
    const h = 1e-6;
    for (const [x, g] of [[q, grads.dq], [k, grads.dk], [v, grads.dv]] as const) {
      for (let i = 0; i < x.length; i++) {
        const x0 = x[i];
        x[i] = x0 + h;
        const up = loss();
        x[i] = x0 - h;
        const down = loss();
        x[i] = x0;
        expect(Math.abs((up - down) / (2 * h) - g[i])).toBeLessThan(1e-7);
      }
    }
  });
});

describe('ring attention decomposition', () => {
  it('backward over two key blocks, given the merged out/lse, sums to the full backward', () => {
    const mask = MASKS.mixed_documents;
    const s: CpuAttnShape = { seqlenQ: S, seqlenK: S, headsQ: 4, headsKv: 2, headDim: 16 };
    const { q, k, v, dout } = inputs(s, 21);
    const D = s.headDim;
    const split = 70;
    const parts = [
      { start: 0, end: split },
      { start: split, end: S },
    ].map((r) => {
      const sk = r.end - r.start;
      const take = (x: Float32Array) => {
        const o = new Float32Array(s.headsKv * sk * D);
        for (let g = 0; g < s.headsKv; g++) o.set(x.subarray((g * S + r.start) * D, (g * S + r.end) * D), g * sk * D);
        return o;
      };
      const shape = { ...s, seqlenK: sk };
      const m = restrict(mask, { start: 0, end: S }, r);
      const kb = take(k);
      const vb = take(v);
      return { r, shape, m, kb, vb, fwd: tiledForward(q, kb, vb, m, shape) };
    });
    // Merge the two partial results by log-sum-exp.
    const lse = new Float32Array(s.headsQ * S);
    const out = new Float32Array(s.headsQ * S * D);
    for (let row = 0; row < lse.length; row++) {
      const [a, b] = parts.map((p) => p.fwd.lse[row]);
      const m = Math.max(a, b);
      if (m === -Infinity) {
        lse[row] = -Infinity;
        continue;
      }
      lse[row] = m + Math.log(Math.exp(a - m) + Math.exp(b - m));
      for (const p of parts) {
        const w = Math.exp(p.fwd.lse[row] - lse[row]);
        for (let d = 0; d < D; d++) out[row * D + d] += w * p.fwd.out[row * D + d];
      }
    }
    const full = tiledForward(q, k, v, mask, s);
    expectClose('merged out', out, full.out);
    expectClose('merged lse', lse, full.lse);

    const fullB = tiledBackward(q, k, v, full.out, full.lse, dout, mask, s);
    const dq = new Float64Array(fullB.dq.length);
    const dk = new Float32Array(fullB.dk.length);
    const dv = new Float32Array(fullB.dv.length);
    for (const p of parts) {
      const b = tiledBackward(q, p.kb, p.vb, out, lse, dout, p.m, p.shape);
      b.dq.forEach((x, i) => (dq[i] += x));
      const sk = p.r.end - p.r.start;
      for (let g = 0; g < s.headsKv; g++) {
        dk.set(b.dk.subarray(g * sk * D, (g + 1) * sk * D), (g * S + p.r.start) * D);
        dv.set(b.dv.subarray(g * sk * D, (g + 1) * sk * D), (g * S + p.r.start) * D);
      }
    }
    expectClose('dq', dq, fullB.dq);
    expectClose('dk', dk, fullB.dk);
    expectClose('dv', dv, fullB.dv);
  });
});

describe('head ranges and the plain-JS baseline', () => {
  it('results over disjoint head ranges sum to the full result', () => {
    const mask = MASKS.sliding_window;
    const s: CpuAttnShape = { seqlenQ: S, seqlenK: S, headsQ: 6, headsKv: 2, headDim: 8 };
    const { q, k, v, dout } = inputs(s, 31);
    const full = tiledForward(q, k, v, mask, s);
    const fullB = tiledBackward(q, k, v, full.out, full.lse, dout, mask, s);
    const ranges = [
      { start: 0, end: 2 },
      { start: 2, end: 5 },
      { start: 5, end: 6 },
    ];
    const sum = (xs: Float32Array[]) => xs.reduce((a, x) => a.map((y, i) => y + x[i]));
    const fwds = ranges.map((heads) => tiledForward(q, k, v, mask, s, { heads }));
    expect(sum(fwds.map((f) => f.out))).toEqual(full.out);
    const bwds = ranges.map((heads) => tiledBackward(q, k, v, full.out, full.lse, dout, mask, s, { heads }));
    expect(sum(bwds.map((b) => b.dq))).toEqual(fullB.dq);
    expectClose('dk', sum(bwds.map((b) => b.dk)), fullB.dk);
    expectClose('dv', sum(bwds.map((b) => b.dv)), fullB.dv);
  });

  it('plainJsForward matches the reference', () => {
    for (const name of ['causal_documents', 'fully_masked_rows', 'sq_lt_sk']) {
      const mask = MASKS[name];
      const s = SHAPES(mask, 16)[0];
      const { q, k, v } = inputs(s, 41);
      const ref = referenceForward(q, k, v, mask, s);
      const got = plainJsForward(q, k, v, mask, s);
      expectClose(`${name} out`, got.out, ref.out);
      expectClose(`${name} lse`, got.lse, ref.lse);
    }
  });

  it('rejects inconsistent inputs', () => {
    const s: CpuAttnShape = { seqlenQ: 8, seqlenK: 8, headsQ: 3, headsKv: 2, headDim: 4 };
    const mask = mk(8, 8, [sl(0, 8, 0, 8, 'full')]);
    const x = new Float32Array(3 * 8 * 4);
    expect(() => tiledForward(x, x, x, mask, s)).toThrow(/multiple of headsKv/);
    const s2 = { ...s, headsKv: 1 };
    expect(() => tiledForward(x, x.subarray(1), x, mask, s2)).toThrow(/k must hold/);
    expect(() => tiledForward(x, x.subarray(0, 32), x.subarray(0, 32), [mask, mask], s2)).toThrow(/per-KV-head masks/);
    expect(() => tiledForward(x, x.subarray(0, 32), x.subarray(0, 32), mask, s2, { blockQ: 6 })).toThrow(/multiple of 4/);
  });
});

describe('generated wasm', () => {
  it('attn-wasm.generated.ts is in sync with wasm/attn.as', () => {
    const script = fileURLToPath(new URL('./wasm/build.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toContain('up to date');
    expect(r.status).toBe(0);
  });
});
