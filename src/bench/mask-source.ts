// The mask side of a kernel sweep: generate a case's mask per sample, count its work.
import { generateMask, isRandomFamily, meanArea } from '../mask/families/index.js';
import type { GeneratedMask } from '../mask/types.js';
import type { MaskSource } from './runner.js';
import type { KernelCase } from '../kernels/case.js';

/** Families whose masks depend on the seed get `samples` mask samples; the others get one. */
export function familyMaskSource(samples: number, docLens?: string): MaskSource {
  return {
    generate(c: KernelCase, sample: number): GeneratedMask {
      return generateMask(c.family, c.seqlen, { seed: c.seed + sample, params: { ...c.maskParams }, docLens });
    },
    meanArea,
    samples(family: string): number {
      return samples > 1 && isRandomFamily(family) ? samples : 1;
    },
  };
}
