// Wiring of the simulator to the rest of attnbench: mask families (which may read document-length
// histogram files) and the CP planner registry. The pure models take these as functions.
import { planCp } from '../cp/plan/index.js';
import type { CpLayout, CpShape, Plan, PlanOptions } from '../cp/types.js';
import { generateMask } from '../mask/families/index.js';
import type { GeneratedMask, Mask } from '../mask/types.js';
import type { MaskGenerator } from './calibrate.js';

/** Regenerates the mask of a result row (family, S, seed, params as recorded). */
export const rowMask: MaskGenerator = (family, seqlen, seed, params) => generateMask(family, seqlen, { seed, params: { ...params } });

export function familyMask(family: string, seqlen: number, seed: number, docLens?: string): GeneratedMask {
  return generateMask(family, seqlen, { seed, docLens });
}

export function plan(scheme: string, mask: Mask, world: number, layout: CpLayout, shape: CpShape, opts?: PlanOptions): Plan {
  return planCp(scheme, mask, world, layout, shape, opts);
}
