// 'window' format: FlashAttention's (left, right) window around the bottom-right-aligned diagonal.
// Detection: the smallest and largest j - i over the mask's pairs give the only candidate band;
// the mask lies inside it by construction, so equal areas prove the mask is that band.
import { bandArea } from '../band.js';
import { maskArea } from '../slices.js';
import type { Mask } from '../types.js';
import { maskDiagonalExtent, ok, unsupported } from './exact.js';
import type { AdaptResult, WindowValue } from './types.js';

export function toWindow(m: Mask): AdaptResult<WindowValue> {
  const ext = maskDiagonalExtent(m);
  if (!ext) return unsupported('the mask is empty; a window always keeps its diagonal');
  const band = { q0: 0, q1: m.seqlenQ, k0: 0, k1: m.seqlenK, lo: ext.min, hi: ext.max };
  const area = maskArea(m);
  if (area !== bandArea(band)) {
    return unsupported(`not a band: ${area} pairs, but the band ${ext.min} <= j - i <= ${ext.max} around them holds ${bandArea(band)}`);
  }
  const d = m.seqlenK - m.seqlenQ; // flash_attn aligns the diagonal bottom-right
  if (ext.min > d || ext.max < d) {
    return unsupported(`the band ${ext.min} <= j - i <= ${ext.max} misses the diagonal j - i = ${d}; window sizes cannot be negative`);
  }
  // A bound that cuts nothing off the rectangle is written -1 (unbounded).
  const left = ext.min <= 1 - m.seqlenQ ? -1 : d - ext.min;
  const right = ext.max >= m.seqlenK - 1 ? -1 : ext.max - d;
  return ok({ left, right });
}
