// The mask side of a kernel sweep: generate a case's mask per sample, count its work.
import { badInput } from '../errors.js';
import { generateMask, getFamily, isRandomFamily, meanArea } from '../mask/families/index.js';
import type { GeneratedMask } from '../mask/types.js';
import type { MaskSource } from './runner.js';
import type { KernelCase } from '../kernels/case.js';

/**
 * The mask parameters of a case: a per-head family (block_sparse, variable_block_sparse) draws one
 * mask per KV head of the case (`kvHeads` follows --heads: 4:4 gives 4 masks, 2:1 one), so every
 * kernel gets the head count it runs with; an explicit kvHeads that disagrees is bad input. The case
 * id is untouched (kvHeads is implied by the heads already in it).
 */
export function caseMaskParams(c: KernelCase): Record<string, number | string> {
  const params: Record<string, number | string> = { ...c.maskParams };
  if (!getFamily(c.family).params.some((p) => p.name === 'kvHeads')) return params;
  if (params.kvHeads === undefined) params.kvHeads = c.headsKv;
  else if (Number(params.kvHeads) !== c.headsKv)
    throw badInput(`${c.family}: kvHeads=${params.kvHeads} disagrees with the case's ${c.headsQ}:${c.headsKv} heads (leave kvHeads out: it follows --heads)`);
  return params;
}

/** Families whose masks depend on the seed get `samples` mask samples; the others get one. */
export function familyMaskSource(samples: number, docLens?: string): MaskSource {
  return {
    generate(c: KernelCase, sample: number): GeneratedMask {
      return generateMask(c.family, c.seqlen, { seed: c.seed + sample, params: caseMaskParams(c), docLens });
    },
    meanArea,
    samples(family: string): number {
      return samples > 1 && isRandomFamily(family) ? samples : 1;
    },
  };
}
