// Resource guard of a CPU kernel sweep (issue 17): the GPU paper preset on the CPU executor used to
// start 512 cases without a word (the first took 81 s). Refuses, before any case runs, a sweep
// whose largest case exceeds the memory budget or whose FLOPs exceed the time budget.
import { AttnbenchError } from '../errors.js';
import { guardCpuTime, guardMemory, cpuKernelBytes } from '../util/budget.js';
import type { MaskSource } from './runner.js';
import type { KernelCase } from '../kernels/case.js';

/** Mask area per distinct mask of the sweep, or the bad-input message of a parameter that does not
 * fit the case (a window w >= S is an invalid parameter, issue 17, not a kernel's `unsupported`). */
export function splitInvalid(cases: readonly KernelCase[], masks: MaskSource): { valid: KernelCase[]; invalid: { c: KernelCase; message: string }[] } {
  const seen = new Map<string, string | null>();
  const valid: KernelCase[] = [];
  const invalid: { c: KernelCase; message: string }[] = [];
  for (const c of cases) {
    const key = `${c.family}|${c.seqlen}|${c.seed}|${c.headsKv}|${JSON.stringify(c.maskParams)}`;
    let why = seen.get(key);
    if (why === undefined) {
      try {
        masks.generate(c, 0);
        why = null;
      } catch (e) {
        if (!(e instanceof AttnbenchError) || e.exit !== 2) throw e;
        why = e.message;
      }
      seen.set(key, why);
    }
    if (why === null) valid.push(c);
    else invalid.push({ c, message: why });
  }
  return { valid, invalid };
}

/** Estimated FLOPs of the sweep: timed calls + warm-up, per mask sample, from each case's mask. */
export function sweepFlops(cases: readonly KernelCase[], masks: MaskSource): number {
  const perMask = new Map<string, number>();
  let total = 0;
  for (const c of cases) {
    const key = `${c.family}|${c.seqlen}|${c.seed}|${c.headsKv}|${JSON.stringify(c.maskParams)}`;
    let area = perMask.get(key);
    if (area === undefined) perMask.set(key, (area = masks.meanArea(masks.generate(c, 0))));
    const fwd = 4 * area * c.headsQ * c.headDim * c.batch;
    total += (c.direction === 'fwd' ? fwd : 3.5 * fwd) * (c.warmup + c.iters) * masks.samples(c.family);
  }
  return total;
}

export function guardCpuSweep(cases: readonly KernelCase[], masks: MaskSource): void {
  if (!cases.length) return;
  const big = cases.reduce((a, c) => (cpuKernelBytes(c.seqlen, c.headsQ, c.headsKv, c.headDim, c.seqlen <= c.checkUpTo) > cpuKernelBytes(a.seqlen, a.headsQ, a.headsKv, a.headDim, a.seqlen <= a.checkUpTo) ? c : a));
  guardMemory(
    `the CPU case ${big.kernel} ${big.family} S=${big.seqlen} ${big.headsQ}:${big.headsKv}x${big.headDim}`,
    cpuKernelBytes(big.seqlen, big.headsQ, big.headsKv, big.headDim, big.seqlen <= big.checkUpTo),
  );
  guardCpuTime(`${cases.length} case(s) on the cpu executor`, sweepFlops(cases, masks));
}
