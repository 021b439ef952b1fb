// 'varlen' format: cu_seqlens of square documents on the diagonal, one kind for all of them
// (full, causal, or one (left, right) window), as flash_attn_varlen_func takes them.
//
// Detection. A cut c (0 < c < S) is crossed when some pair (i, j) has min(i, j) < c <= max(i, j).
// Document boundaries are never crossed, and inside a document of two or more tokens every cut is
// crossed (by (c, c-1) or (c-1, c)) unless the window is (0, 0), whose documents are diagonals and
// may as well be split into single tokens. So the uncrossed cuts are the only candidate documents.
// The one candidate window is the smallest and largest j - i over all pairs; the mask lies inside
// the candidate (documents x window) by construction, so equal areas prove equality.
//
//   crossed cuts of the pairs below the diagonal of one band (j < i): the union of (j, i] over its
//   pairs, which for a band is the single run (min j, max i] (it is convex and every row meets it
//   in a run of columns); above the diagonal likewise (min i, max j].
import { bandArea, bandRowHi, bandRowLo, bandRows, sliceToBand, type Band } from '../band.js';
import { maskArea, mergeRanges } from '../slices.js';
import type { Mask, Range } from '../types.js';
import { int32Problem, maskDiagonalExtent, ok, unsupported, withDiagonals } from './exact.js';
import type { AdaptResult, VarlenValue, WindowValue } from './types.js';

/** Cuts [start, end) crossed by the band's pairs on one side of the diagonal, or undefined. */
function crossedCuts(b: Band, below: boolean): Range | undefined {
  const part = below ? withDiagonals(b, -Infinity, -1) : withDiagonals(b, 1, Infinity);
  const r = bandRows(part);
  if (r.end <= r.start) return undefined;
  const minJ = bandRowLo(part, r.start);
  const maxJ = bandRowHi(part, r.end - 1) - 1;
  return below ? { start: minJ + 1, end: r.end } : { start: r.start + 1, end: maxJ + 1 };
}

/** Boundaries 0 = c0 < c1 < ... < S of the finest split of [0, S) that no pair crosses. */
export function uncrossedCuts(m: Mask): number[] {
  const crossed: Range[] = [];
  for (const s of m.slices) {
    const b = sliceToBand(s);
    for (const below of [true, false]) {
      const r = crossedCuts(b, below);
      if (r && r.end > r.start) crossed.push(r);
    }
  }
  const cuts = [0];
  let next = 1;
  for (const r of mergeRanges(crossed)) {
    for (let c = next; c < r.start; c++) cuts.push(c);
    next = Math.max(next, r.end);
  }
  for (let c = next; c < m.seqlenQ; c++) cuts.push(c);
  cuts.push(m.seqlenQ);
  return cuts;
}

export function toVarlen(m: Mask): AdaptResult<VarlenValue> {
  const bad = int32Problem(m);
  if (bad) return unsupported(bad);
  if (m.seqlenQ !== m.seqlenK) return unsupported(`documents are squares on the diagonal; Sq ${m.seqlenQ} != Sk ${m.seqlenK}`);
  const ext = maskDiagonalExtent(m);
  if (!ext) return unsupported('the mask is empty; every document sees its own diagonal');
  if (ext.min > 0 || ext.max < 0) return unsupported(`pairs only at ${ext.min} <= j - i <= ${ext.max}: the diagonal is missing`);
  const cuts = uncrossedCuts(m);
  let maxLen = 0;
  let minLen = Infinity;
  for (let t = 0; t + 1 < cuts.length; t++) {
    maxLen = Math.max(maxLen, cuts[t + 1] - cuts[t]);
    minLen = Math.min(minLen, cuts[t + 1] - cuts[t]);
  }
  // A bound no document is long enough to feel is written -1 (unbounded).
  const left = -ext.min >= maxLen - 1 ? -1 : -ext.min;
  const right = ext.max >= maxLen - 1 ? -1 : ext.max;
  let docsArea = 0;
  for (let t = 0; t + 1 < cuts.length; t++) {
    const [a, b] = [cuts[t], cuts[t + 1]];
    docsArea += bandArea({ q0: a, q1: b, k0: a, k1: b, lo: ext.min, hi: ext.max });
  }
  const area = maskArea(m);
  if (area !== docsArea) {
    return unsupported(
      `not ${cuts.length - 1} documents of one kind: ${area} pairs, but those documents with window (${left}, ${right}) hold ${docsArea}`,
    );
  }
  const cu = Int32Array.from(cuts);
  const causal = right === 0;
  const plain = left === -1 && (right === -1 || right === 0);
  const window: WindowValue | undefined = plain ? undefined : { left, right };
  return ok({ cuSeqlensQ: cu, cuSeqlensK: cu.slice(), maxSeqlenQ: maxLen, maxSeqlenK: maxLen, minSeqlenQ: minLen, minSeqlenK: minLen, causal, ...(window ? { window } : {}) });
}
