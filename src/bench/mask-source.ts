// The mask side of a kernel sweep: generate a case's mask per sample, count its work.
import { generateMask, maskFlops, meanArea } from '../mask/families/index.js';
import type { GeneratedMask } from '../mask/types.js';
import type { MaskSource } from './runner.js';
import type { KernelCase } from './types.js';

/** Families whose masks depend on the seed get `samples` mask samples; the others get one. */
export function familyMaskSource(samples: number, docLens?: string): MaskSource {
  const randomCache = new Map<string, boolean>();
  const isRandom = (family: string, seqlen: number, params: KernelCase['maskParams']): boolean => {
    if (!randomCache.has(family)) {
      const a = generateMask(family, seqlen, { seed: 1, params: { ...params }, docLens });
      const b = generateMask(family, seqlen, { seed: 2, params: { ...params }, docLens });
      randomCache.set(family, JSON.stringify(a.heads) !== JSON.stringify(b.heads));
    }
    return randomCache.get(family)!;
  };
  let last: KernelCase | undefined;
  return {
    generate(c: KernelCase, sample: number): GeneratedMask {
      last = c;
      return generateMask(c.family, c.seqlen, { seed: c.seed + sample, params: { ...c.maskParams }, docLens });
    },
    flops(g: GeneratedMask, c: KernelCase): number {
      return maskFlops(g, c.headsQ, c.headDim, c.direction) * c.batch;
    },
    meanArea,
    samples(family: string): number {
      if (samples <= 1 || !last || last.family !== family) return 1;
      return isRandom(family, last.seqlen, last.maskParams) ? samples : 1;
    },
  };
}
