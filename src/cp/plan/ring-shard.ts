// Token placement of the head x ring schemes (ring_p2p, usp, loongtrain) and a bound on the work
// of planning them.
//
// doc_zigzag with a Ulysses degree U > 1 shards at the ring level: every document is cut into 2C
// pieces (C = the context degree), context index c holds pieces c and 2C-1-c of each, and the U
// members of its head group hold consecutive slices of that list (sorted by position), so the
// group's tokens after the Ulysses all-to-all are 2 ranges per document again. Cutting every
// document into 2P pieces instead (one pair per rank) gives the group 2U ranges per document, and
// every ring step a restricted mask of (2U)^2 range pairs per document: usp at P = 64 on
// causal_document (512k, 758 documents) ran out of a 3 GB heap after a minute.
import { badInput } from '../../errors.js';
import type { Mask, Range } from '../../mask/types.js';
import type { SchemeId } from '../types.js';
import { AreaIndex, firstEndingAfter, mergeSorted } from './area.js';
import { shard, type Sharding } from './common.js';
import { docZigzagShards, documentUnits } from './doc-place.js';

/**
 * Range pairs planning may visit before it refuses: the restricted masks of all ring steps hold
 * about this many slices (measured: ring_p2p doc_zigzag at P = 64 on 512k causal_document, about 1.2e7: 27 s and 0.9 GB; usp P = 256, 2M: 1.1e7, 4 s).
 */
export const MAX_RING_PAIRS = 2e7;

/**
 * Owned ranges of every rank. `rankOf(u, c)`: the rank of head index u and context index c.
 * Every sharding but doc_zigzag with U > 1 is the plain per-rank one (`shard`).
 */
export function headRingShards(
  scheme: SchemeId,
  mask: Mask,
  world: number,
  U: number,
  sharding: Sharding,
  rankOf: (u: number, c: number) => number,
): Range[][] {
  if (sharding !== 'doc_zigzag' || U === 1) return shard(scheme, mask.seqlenQ, world, sharding, mask);
  const S = mask.seqlenQ;
  if (S < 2 * world) throw badInput(`${scheme}: seqlen ${S} is smaller than 2*world = ${2 * world} (doc_zigzag sharding)`);
  const C = world / U;
  const ctx = docZigzagShards(documentUnits(new AreaIndex(mask), 0), C);
  const owned: Range[][] = new Array(world);
  for (let c = 0; c < C; c++) {
    const parts = splitTokens(ctx[c], U);
    for (let u = 0; u < U; u++) owned[rankOf(u, c)] = parts[u];
  }
  return owned;
}

/** `rs` (sorted) cut into n consecutive parts of floor/ceil equal token counts. */
export function splitTokens(rs: readonly Range[], n: number): Range[][] {
  let total = 0;
  for (const r of rs) total += r.end - r.start;
  const out: Range[][] = Array.from({ length: n }, () => []);
  let part = 0;
  let seen = 0; // tokens before the current range
  for (const r of rs) {
    let s = r.start;
    while (s < r.end) {
      const limit = Math.floor(((part + 1) * total) / n); // tokens that end part `part`
      const take = Math.min(r.end - s, limit - (seen + s - r.start));
      if (take <= 0) {
        part++;
        continue;
      }
      out[part].push({ start: s, end: s + take });
      s += take;
    }
    seen += r.end - r.start;
  }
  return out;
}

/**
 * About how many (query range, key range) pairs the restricted masks of a head x ring plan visit:
 * on a mask of documents, sum over documents of N_d^2, N_d the ranges of all context groups
 * (merged) that overlap document d: every range of d in one group meets every range of d in
 * every other group once. `groupTokens[c]` sorted and merged.
 */
export function ringPairEstimate(units: readonly Range[], groupTokens: readonly (readonly Range[])[]): number {
  const n = new Float64Array(units.length);
  for (const T of groupTokens) {
    for (const r of T) for (let d = firstEndingAfter(units, r.start); d < units.length && units[d].start < r.end; d++) n[d]++;
  }
  let sum = 0;
  for (const x of n) sum += x * x;
  return sum;
}

/** Refuses (exit 2, one line) a head x ring plan whose restricted masks would not fit. */
export function guardRingPairs(scheme: SchemeId, mask: Mask, world: number, sharding: Sharding, groupTokens: readonly (readonly Range[])[]): void {
  const units = documentUnits(new AreaIndex(mask), 0);
  const pairs = ringPairEstimate(units, groupTokens.map((T) => mergeSorted(T)));
  if (pairs <= MAX_RING_PAIRS) return;
  const alt = sharding === 'doc_zigzag' ? 'use sharding=zigzag or fewer ranks' : 'use fewer ranks';
  throw badInput(
    `${scheme}: sharding=${sharding} at ${world} ranks on ${units.length} documents needs about ${pairs.toExponential(1)} range pairs in its step masks, over the planner's limit of ${MAX_RING_PAIRS.toExponential(0)}: ${alt}`,
  );
}
