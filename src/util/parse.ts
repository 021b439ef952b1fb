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

export function parseTokenList(text: string, what = 'seqlen'): number[] {
  return splitList(text).map((t) => parseTokens(t, what));
}

export function parseIntList(text: string, what: string): number[] {
  return splitList(text).map((t) => parseInteger(t, what));
}

export function parseInteger(text: string, what: string, min = 1): number {
  const v = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < min)
    throw badInput(`invalid ${what} '${text}': expected an integer >= ${min}`);
  return v;
}

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
