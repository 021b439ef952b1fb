// 'dense' format: the boolean Sq x Sk matrix, for small sizes only (torch_naive, SDPA masks).
// Above DENSE_MAX_CELLS the worker builds it on the device from the slices, if at all.
import { toDense } from '../slices.js';
import type { Mask } from '../types.js';
import { ok, unsupported } from './exact.js';
import type { AdaptOptions, AdaptResult, DenseValue } from './types.js';

/** 2^26 cells = 64 MiB of bytes, an 8192 x 8192 mask. */
export const DENSE_MAX_CELLS = 2 ** 26;
/** toDense's own ceiling; a larger denseMaxCells option is clamped to it. */
const TO_DENSE_CEILING = 2 ** 28;

/** Why the dense matrix is not built, or undefined when it fits. */
export function denseProblem(m: Mask, opts: AdaptOptions = {}): string | undefined {
  const limit = Math.min(opts.denseMaxCells ?? DENSE_MAX_CELLS, TO_DENSE_CEILING);
  const cells = m.seqlenQ * m.seqlenK;
  return cells > limit ? `dense mask of ${m.seqlenQ}x${m.seqlenK} = ${cells} cells exceeds the limit of ${limit}` : undefined;
}

export function toDenseFormat(m: Mask, opts: AdaptOptions = {}): AdaptResult<DenseValue> {
  const bad = denseProblem(m, opts);
  return bad ? unsupported(bad) : ok({ seqlenQ: m.seqlenQ, seqlenK: m.seqlenK, data: toDense(m) });
}
