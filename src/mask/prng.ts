// The one pseudo-random generator behind every random mask part (SPEC section 3: "a specified PRNG,
// not Math.random"). Same (seed, stream label) -> same numbers on every machine and in every runtime:
// the algorithm below uses only 32-bit integer arithmetic (Math.imul, shifts, | 0) and exact
// double operations, so any port (Python, C) reproduces it bit for bit.
//
// Algorithm (all arithmetic modulo 2^32, >>> is a logical shift):
//   1. Key. h = FNV-1a-32 over the bytes: UTF-8(label), 0x00, then the seed as 8 bytes little-endian
//      (seed a non-negative safe integer; low word = seed mod 2^32, high word = floor(seed / 2^32)).
//      FNV-1a-32: h = 0x811c9dc5; for each byte x: h = (h ^ x) * 0x01000193.
//   2. Seeding. splitmix32 with state s = h produces four words a, b, c, d:
//        s = s + 0x9e3779b9; z = s; z = (z ^ z >>> 16) * 0x21f0aaad; z = (z ^ z >>> 15) * 0x735a2d97;
//        output z ^ z >>> 15
//   3. Generator. sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit variant):
//        t = a + b + d; d = d + 1; a = b ^ b >>> 9; b = c + (c << 3); c = (c << 21 | c >>> 11) + t;
//        output t
//      The first 12 outputs after seeding are discarded.
//   Helpers:
//      u32()          the next sfc32 output, in [0, 2^32)
//      float()        53-bit double in [0, 1): x = u32() >>> 5, y = u32() >>> 6, (x * 2^26 + y) / 2^53
//      int(lo, hi)    uniform integer in [lo, hi) (hi - lo <= 2^32), unbiased by rejection: with
//                     n = hi - lo, draw r = u32() until r < 2^32 - (2^32 mod n); return lo + r mod n
//
// Streams: every random quantity of a family draws from its own label ('doclens', 'g', 'kept:3', ...),
// so adding a draw to one quantity never shifts another.

export interface Rng {
  /** Next raw 32-bit output, in [0, 2^32). */
  u32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  float(): number;
  /** Uniform integer in [lo, hi); requires hi > lo and hi - lo <= 2^32. */
  int(lo: number, hi: number): number;
}

const TWO_32 = 4294967296;

/** FNV-1a-32 over UTF-8(label), a 0 byte, and the seed as 8 little-endian bytes. */
export function streamKey(seed: number, label: string): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`PRNG seed must be a non-negative safe integer, got ${seed}`);
  let h = 0x811c9dc5;
  const byte = (x: number) => {
    h = Math.imul(h ^ x, 0x01000193);
  };
  for (const x of new TextEncoder().encode(label)) byte(x);
  byte(0);
  const lo = seed % TWO_32;
  const hi = Math.floor(seed / TWO_32);
  for (const w of [lo, hi]) for (let s = 0; s < 32; s += 8) byte((w >>> s) & 0xff);
  return h >>> 0;
}

/** A generator for one (seed, stream label) pair; see the file header for the exact algorithm. */
export function rngFor(seed: number, label: string): Rng {
  let s = streamKey(seed, label);
  const split = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) | 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let t = 0; t < 12; t++) u32();
  return {
    u32,
    float: () => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992,
    int(lo: number, hi: number): number {
      const n = hi - lo;
      if (!(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && n >= 1 && n <= TWO_32))
        throw new Error(`rng.int: bad range [${lo}, ${hi})`);
      const limit = TWO_32 - (TWO_32 % n);
      let r = u32();
      while (r >= limit) r = u32();
      return lo + (r % n);
    },
  };
}

/** Fisher-Yates shuffle in place, drawing j = int(0, i + 1) for i = n-1 down to 1. */
export function shuffleInPlace<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}
