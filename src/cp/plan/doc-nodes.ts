// Node-aware rank order for dispatch's document placement (issue 14): the placement decides which
// token sets exist; this decides which rank (and so which node of G GPUs, rank r on node
// floor(r / G)) holds each set, so that sets exchanging many K/V tokens share a node and their
// fetches cross NVLink instead of InfiniBand. Balance and total bytes do not change.
//
// Greedy: seed a node with the unplaced set that exchanges the most with the other unplaced sets,
// then add the unplaced set that exchanges the most with the node's members, until G; repeat.
// Kept only when it moves fewer tokens between nodes than the placement's own order.
import type { Range } from '../../mask/types.js';
import { rangesLength } from './area.js';

/**
 * A permutation `perm` of the sets (perm[newRank] = old index) grouping heavy exchanges into
 * nodes of G. `need[r]`: source -> ranges rank r fetches from it.
 */
export function nodeOrder(need: readonly Map<number, Range[]>[], G: number): number[] {
  const P = need.length;
  if (G <= 1 || P <= G) return Array.from({ length: P }, (_, r) => r);
  // Symmetric weights: tokens moved between a and b in either direction.
  const w: Map<number, number>[] = Array.from({ length: P }, () => new Map());
  for (let r = 0; r < P; r++) {
    for (const [s, rs] of need[r]) {
      const t = rangesLength(rs);
      w[r].set(s, (w[r].get(s) ?? 0) + t);
      w[s].set(r, (w[s].get(r) ?? 0) + t);
    }
  }
  const placed = new Uint8Array(P);
  const free = new Float64Array(P); // weight to unplaced sets
  for (let r = 0; r < P; r++) for (const t of w[r].values()) free[r] += t;
  const perm: number[] = [];
  const take = (r: number) => {
    placed[r] = 1;
    perm.push(r);
    for (const [s, t] of w[r]) free[s] -= t;
  };
  while (perm.length < P) {
    let seed = -1;
    for (let r = 0; r < P; r++) if (!placed[r] && (seed < 0 || free[r] > free[seed])) seed = r;
    take(seed);
    const gain = new Map<number, number>(); // unplaced set -> weight to this node
    const add = (r: number) => {
      for (const [s, t] of w[r]) if (!placed[s]) gain.set(s, (gain.get(s) ?? 0) + t);
    };
    add(seed);
    for (let k = 1; k < G && perm.length < P; k++) {
      let best = -1;
      let bestGain = -1;
      for (const [s, g] of gain) if (!placed[s] && (g > bestGain || (g === bestGain && s < best))) [best, bestGain] = [s, g];
      if (best < 0) {
        // Nothing connected: the lightest unplaced set (keeps heavy seeds for their own nodes).
        for (let r = 0; r < P; r++) if (!placed[r] && (best < 0 || free[r] < free[best])) best = r;
      }
      gain.delete(best);
      take(best);
      add(best);
    }
  }
  // Kept only when fewer tokens cross nodes than in the placement's own order.
  const cut = (order: readonly number[]) => {
    const node = new Int32Array(P);
    order.forEach((r, i) => (node[r] = Math.floor(i / G)));
    let c = 0;
    for (let r = 0; r < P; r++) for (const [s, t] of w[r]) if (node[s] !== node[r]) c += t;
    return c;
  };
  const identity = Array.from({ length: P }, (_, r) => r);
  return cut(perm) < cut(identity) ? perm : identity;
}
