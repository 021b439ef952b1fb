// The one log-sum-exp merge of partial attention results (used by every executor).
//
// Two partials of the same query rows over disjoint key sets, (o_a, l_a) and (o_b, l_b), with
// l = log sum_j exp(s_j) over each key set and o the softmax-weighted value sum within it:
//   l   = log(exp(l_a) + exp(l_b)) = m + log(exp(l_a - m) + exp(l_b - m)),  m = max(l_a, l_b)
//   o   = exp(l_a - l) o_a + exp(l_b - l) o_b
// A fully masked partial has l = -Infinity and o = 0 and drops out; if both are, the row stays
// (0, -Infinity).

/**
 * Merges (outB, lseB) into (outA, lseA) in place. Layout: `rows` query rows (heads x tokens,
 * row-major) of `dim` values each; lse holds one value per row.
 */
export function mergePartial(outA: Float32Array, lseA: Float32Array, outB: Float32Array, lseB: Float32Array, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    const la = lseA[r];
    const lb = lseB[r];
    if (lb === -Infinity) continue;
    if (la === -Infinity) {
      lseA[r] = lb;
      outA.set(outB.subarray(r * dim, (r + 1) * dim), r * dim);
      continue;
    }
    const m = Math.max(la, lb);
    const ea = Math.exp(la - m);
    const eb = Math.exp(lb - m);
    const s = ea + eb;
    const wa = ea / s;
    const wb = eb / s;
    lseA[r] = m + Math.log(s);
    for (let d = r * dim; d < (r + 1) * dim; d++) outA[d] = wa * outA[d] + wb * outB[d];
  }
}
