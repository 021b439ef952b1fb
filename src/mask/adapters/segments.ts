// 'segments' format: JAX segment ids. Query i sees key j iff both carry the same id (and j <= i
// when causal). Segments may interleave ([0, 1, 0, 1] is allowed), so documents, full and causal
// masks are all special cases.
//
// Detection, O(slices + runs) plus one row query per run:
//   causal     iff no pair lies above the diagonal (a diagonal-only mask is both; causal is chosen).
//   runs       maximal stretches where (t, t-1) is unmasked: consecutive tokens of one segment.
//   segment    of a run starting at t: the run holding row t's first unmasked column, or a new one.
//   proof      area(mask) = area(candidate) = area(mask ∩ candidate), the last summed over the
//              rectangles run x run of equal segments (the mask has nothing above the diagonal in
//              the causal case, so those rectangles count only candidate pairs there too).
import { bandRowLo, bandRows, sliceToBand } from '../band.js';
import { SliceIndex, maskArea, mergeRanges } from '../slices.js';
import type { Mask, Range } from '../types.js';
import { areaOnDiagonals, int32Problem, ok, unsupported, withDiagonals } from './exact.js';
import type { AdaptResult, SegmentsValue } from './types.js';

/**
 * Run pairs (summed over segments of runs^2) the proof may visit. Interleaved segments cost
 * quadratically in their runs; beyond this the adapter says unsupported rather than stall.
 */
export const SEGMENTS_MAX_RUN_PAIRS = 4_000_000;

export function toSegments(m: Mask): AdaptResult<SegmentsValue> {
  const bad = int32Problem(m);
  if (bad) return unsupported(bad);
  const S = m.seqlenQ;
  if (S !== m.seqlenK) return unsupported(`segment ids need Sq = Sk, got ${m.seqlenQ}x${m.seqlenK}`);
  const onDiagonal = areaOnDiagonals(m, 0, 0);
  if (onDiagonal !== S) return unsupported(`only ${onDiagonal} of ${S} tokens see themselves; every token sees its own segment`);
  const causal = areaOnDiagonals(m, 1, Infinity) === 0;

  // Runs: tokens t with (t, t-1) unmasked continue the run of t-1.
  const joined: Range[] = [];
  for (const s of m.slices) {
    const r = bandRows(withDiagonals(sliceToBand(s), -1, -1));
    if (r.end > r.start) joined.push({ start: r.start, end: r.end });
  }
  const runStarts: number[] = [0];
  let next = 1;
  for (const r of mergeRanges(joined)) {
    for (let t = Math.max(next, 1); t < r.start; t++) runStarts.push(t);
    next = Math.max(next, r.end);
  }
  for (let t = Math.max(next, 1); t < S; t++) runStarts.push(t);
  const runs = runStarts.length;
  const runEnd = (r: number) => (r + 1 < runs ? runStarts[r + 1] : S);

  // Segment of each run, from the first unmasked column of its first row.
  const idx = new SliceIndex(m);
  const runSeg = new Int32Array(runs);
  const segRuns: number[][] = [];
  for (let r = 0; r < runs; r++) {
    const t = runStarts[r];
    let first = t;
    for (const b of idx.overlapping(t, t + 1)) {
      const rows = bandRows(b);
      if (t >= rows.start && t < rows.end) first = Math.min(first, bandRowLo(b, t));
    }
    const seg = first < t ? runSeg[runOf(runStarts, first)] : segRuns.length;
    if (seg === segRuns.length) segRuns.push([]);
    runSeg[r] = seg;
    segRuns[seg].push(r);
  }

  let candidate = 0;
  let pairs = 0;
  for (const rs of segRuns) {
    let n = 0;
    for (const r of rs) n += runEnd(r) - runStarts[r];
    candidate += causal ? (n * (n + 1)) / 2 : n * n;
    pairs += rs.length * rs.length;
  }
  const area = maskArea(m);
  if (candidate !== area) {
    return unsupported(`not segments: ${area} pairs, but the ${segRuns.length} segments read off the rows hold ${candidate}`);
  }
  if (pairs > SEGMENTS_MAX_RUN_PAIRS) {
    return unsupported(`segments too interleaved to verify: ${pairs} run pairs > ${SEGMENTS_MAX_RUN_PAIRS}`);
  }
  let common = 0;
  for (const rs of segRuns) {
    for (const a of rs) for (const b of rs) common += idx.rectArea(runStarts[a], runEnd(a), runStarts[b], runEnd(b));
  }
  if (common !== area) return unsupported(`not segments: only ${common} of ${area} pairs join tokens of one segment`);

  const segmentIds = new Int32Array(S);
  for (let r = 0; r < runs; r++) segmentIds.fill(runSeg[r], runStarts[r], runEnd(r));
  return ok({ segmentIds, causal });
}

/** Index of the run holding token t (runStarts ascending, runStarts[0] = 0). */
function runOf(runStarts: readonly number[], t: number): number {
  let lo = 0;
  let hi = runStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runStarts[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
