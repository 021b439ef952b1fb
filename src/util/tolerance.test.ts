// The one numerical check of every suite: out / lse within the dtype tolerance, gradients within
// it times max(1, max |reference gradient|).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf, exceedsTolerance, toleranceFor } from './tolerance.js';

describe('exceedsTolerance', () => {
  it('a bf16 gradient error of 0.05 passes when the reference gradient reaches 4, an output error of 0.05 does not', () => {
    expect(exceedsTolerance('bfloat16', { dv: { maxAbs: 0.05, refMaxAbs: 4 } })).toBe(false);
    expect(exceedsTolerance('bfloat16', { dv: { maxAbs: 0.05 } })).toBe(true);
    expect(exceedsTolerance('bfloat16', { out: { maxAbs: 0.05, refMaxAbs: 4 } })).toBe(true);
    expect(exceedsTolerance('bfloat16', { dq: { maxAbs: 0.05, refMaxAbs: 0.5 } })).toBe(true);
  });

  it('non-finite errors always exceed; an empty check never does', () => {
    expect(exceedsTolerance('float32', { out: { maxAbs: Number.POSITIVE_INFINITY } })).toBe(true);
    expect(exceedsTolerance('float32', { dk: { maxAbs: Number.NaN, refMaxAbs: 1e9 } })).toBe(true);
    expect(exceedsTolerance('float32', {})).toBe(false);
  });

  it('the bound is the tolerance, scaled for gradients only, and only upward', () => {
    fc.assert(
      fc.property(fc.constantFrom('float32', 'float16', 'bfloat16'), fc.constantFrom('out', 'lse', 'dq', 'dk', 'dv'), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (dtype, name, ref, frac) => {
        const tol = toleranceFor(dtype);
        const bound = ['dq', 'dk', 'dv'].includes(name) ? tol * Math.max(1, ref) : tol;
        expect(exceedsTolerance(dtype, { [name]: { maxAbs: bound * frac, refMaxAbs: ref } })).toBe(false);
        expect(exceedsTolerance(dtype, { [name]: { maxAbs: bound * 1.001 + 1e-12, refMaxAbs: ref } })).toBe(true);
      }),
    );
  });
});

describe('errorOf', () => {
  it('max / mean abs error and the largest finite |reference|; -inf on both sides is equal, NaN is infinite', () => {
    expect(errorOf([1, -2.5, Number.NEGATIVE_INFINITY], [1.5, -2, Number.NEGATIVE_INFINITY])).toEqual({ maxAbs: 0.5, meanAbs: 1 / 3, refMaxAbs: 2 });
    expect(errorOf([Number.NaN], [1]).maxAbs).toBe(Number.POSITIVE_INFINITY);
  });
});
