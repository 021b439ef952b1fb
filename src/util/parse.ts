// Parsing of user-facing values (CLI flags, config files). Throws AttnbenchError (exit 2) naming the value.
import { badInput } from '../errors.js';

/**
 * The largest token count accepted (2^32 = 4096M): beyond it nothing fits any machine, and the masks'
 * random draws (32-bit ranges) fail; 1e12 used to hang the document masks and the simulator.
 */
export const MAX_TOKENS = 2 ** 32;

/** Token counts like 4096, 4k, 1M, 1.5k (k = 1024, M = 1024^2), at most MAX_TOKENS. */
export function parseTokens(text: string, what = 'seqlen'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(text);
  if (!m) throw badInput(`invalid ${what} '${text}': expected a positive integer like 4096, 4k or 1M`);
  const mult = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024;
  const v = Number(m[1]) * mult;
  if (!Number.isInteger(v) || v <= 0) throw badInput(`invalid ${what} '${text}': must be a positive whole number of tokens`);
  if (v > MAX_TOKENS) throw badInput(`invalid ${what} '${text}': at most 4096M (2^32) tokens`);
  return v;
}

/** Lists of numbers keep each value once, like the id lists (ids.ts): `--seqlen 1k,1024` ran every case twice, one id in two rows. */
const unique = (xs: number[]): number[] => [...new Set(xs)];

export function parseTokenList(text: string, what = 'seqlen'): number[] {
  return unique(splitList(text).map((t) => parseTokens(t, what)));
}

export function parseIntList(text: string, what: string): number[] {
  return unique(splitList(text).map((t) => parseInteger(t, what)));
}

export function parseInteger(text: string, what: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min)
    throw badInput(`invalid ${what} '${text}': expected an integer >= ${min}`);
  if (v > max) throw badInput(`invalid ${what} '${text}': at most ${max}`);
  return v;
}

/**
 * A number written in decimal (1, -2, 1.5, 1e3), or null: Number() also reads hex, octal and binary
 * ('0x10' = 16), blanks (0) and 'Infinity', none of which a user means as a parameter value.
 */
export function decimalNumber(text: string): number | null {
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text)) return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/** Head dimensions past this are no attention head (the largest in use: 576, MLA's query/key). */
export const MAX_HEAD_DIM = 1024;
/** Query (and KV) heads past this: no model has them (the largest: 128). */
export const MAX_HEADS = 1024;

export function parseHeadDim(text: string, what = '--head-dim'): number {
  return parseInteger(text, what, 1, MAX_HEAD_DIM);
}

/** `q:kv` heads: positive, KV heads dividing query heads, at most MAX_HEADS. */
export function parseHeads(text: string, what = '--heads'): { headsQ: number; headsKv: number } {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw badInput(`invalid ${what} '${text}': expected query:kv heads like 64:8`);
  const headsQ = Number(m[1]);
  const headsKv = Number(m[2]);
  if (headsQ < 1 || headsKv < 1 || headsQ % headsKv !== 0)
    throw badInput(`invalid ${what} '${text}': query heads must be a positive multiple of KV heads`);
  if (headsQ > MAX_HEADS) throw badInput(`invalid ${what} '${text}': at most ${MAX_HEADS} query heads`);
  return { headsQ, headsKv };
}

/** Timing loops and mask samples past these run for days; the budgets cannot see GPU runs. */
export const MAX_ITERS = 1_000_000;
export const MAX_SAMPLES = 1000;

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** Human form of a token count: 4096 -> 4k, 1048576 -> 1M. */
export function formatTokens(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}k`;
  return String(n);
}
