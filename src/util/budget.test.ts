// Resource guards (issue 17): refuse before allocating, with the estimate in the message.
import { afterEach, describe, expect, it } from 'vitest';
import { guardCpuSweep, splitInvalid } from '../bench/guard.js';
import { familyMaskSource } from '../bench/mask-source.js';
import { expandSweep } from '../bench/sweep.js';
import { KERNEL_PRESETS } from '../config/presets.js';
import { planCp, sharedMask } from '../cp/plan/index.js';
import { generateMask } from '../mask/families/index.js';
import { referenceForward } from '../kernels/cpu/reference.js';
import { cpuCpBytes, guardMemory, guardPlan, memoryBudget, parseBytes, planBytes, timeBudgetS } from './budget.js';

const saved = { ...process.env };
afterEach(() => {
  process.env.ATTNBENCH_MEM_BUDGET = saved.ATTNBENCH_MEM_BUDGET;
  process.env.ATTNBENCH_TIME_BUDGET = saved.ATTNBENCH_TIME_BUDGET;
  if (saved.ATTNBENCH_MEM_BUDGET === undefined) delete process.env.ATTNBENCH_MEM_BUDGET;
  if (saved.ATTNBENCH_TIME_BUDGET === undefined) delete process.env.ATTNBENCH_TIME_BUDGET;
});

const refusal = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return e as { exit: number; message: string };
  }
  return undefined;
};

describe('budgets', () => {
  it('parses sizes; the env overrides the default (60% of the machine)', () => {
    expect(parseBytes('8G')).toBe(8 * 2 ** 30);
    expect(parseBytes('512m')).toBe(512 * 2 ** 20);
    expect(parseBytes('1000')).toBe(1000);
    expect(refusal(() => parseBytes('lots'))?.exit).toBe(2);
    process.env.ATTNBENCH_MEM_BUDGET = '1G';
    expect(memoryBudget().bytes).toBe(2 ** 30);
  });

  it('ATTNBENCH_TIME_BUDGET is decimal seconds: Infinity, 1e999, hex and blanks are refused (1e999 used to turn the guard off)', () => {
    for (const v of ['1e999', 'Infinity', '0x10', ' ', '-5', 'abc']) {
      process.env.ATTNBENCH_TIME_BUDGET = v;
      expect(refusal(() => timeBudgetS())?.message, v).toMatch(/^invalid ATTNBENCH_TIME_BUDGET/);
    }
    process.env.ATTNBENCH_TIME_BUDGET = '90.5';
    expect(timeBudgetS().seconds).toBe(90.5);
  });

  it('world = 100000 is refused before planning, naming the estimate and the budget', () => {
    const mask = sharedMask(generateMask('causal', 100000 * 16, { seed: 0 }));
    const e = refusal(() => planCp('ring_p2p', mask, 100000, {}, { headsQ: 8, headsKv: 4, headDim: 32, dtypeBytes: 4 }));
    expect(e?.exit).toBe(2);
    expect(e?.message).toMatch(/^a ring_p2p plan of 100000 ranks needs an estimated 19\.1 TiB of memory, over the budget of .* --mem-budget/);
    expect(planBytes('usp', 1024)).toBeGreaterThan(4.5e9); // measured 4.6 kB x P^2 on a full mask
  });

  it('a budget below the estimate refuses, one above passes; the JS heap is checked for plans', () => {
    process.env.ATTNBENCH_MEM_BUDGET = '1G';
    expect(refusal(() => guardMemory('x', 2 ** 31))?.message).toMatch(/^x needs an estimated 2\.0 GiB of memory, over the budget of 1\.0 GiB \(ATTNBENCH_MEM_BUDGET/);
    expect(refusal(() => guardMemory('x', 2 ** 29))).toBeUndefined();
    process.env.ATTNBENCH_MEM_BUDGET = '1T';
    expect(refusal(() => guardPlan('usp', 4096))?.message).toMatch(/JS heap, more than this process's .*NODE_OPTIONS=--max-old-space-size=\d+/);
    // The heap the plan will be built in (cp plan / sim run re-run themselves with 16 GB from 512 ranks).
    expect(refusal(() => guardPlan('usp', 1024, 2 ** 30))?.message).toMatch(/needs an estimated 4\.9 GiB of JS heap, more than this process's 1\.0 GiB/);
    expect(refusal(() => guardPlan('usp', 1024, 16 * 2 ** 30))).toBeUndefined();
    expect(cpuCpBytes(2 * 2 ** 20, 8, 4, 32, true)).toBeGreaterThan(40 * 2 ** 30); // 2M tokens on CPU ranks
  });

  it('the GPU paper preset on the CPU executor is refused with its case count and time; the cpu preset passes', () => {
    const masks = familyMaskSource(1);
    const paper = splitInvalid(expandSweep(KERNEL_PRESETS.paper.sweeps('cpu')[0]), masks); // the dense study (the sparse suite's masks are slow to draw)
    const e = refusal(() => guardCpuSweep(paper.valid, masks));
    expect(e?.exit).toBe(2);
    expect(e?.message).toMatch(/^\d+ case\(s\) on the cpu executor: about .* FLOP, an estimated .* days at 20 GFLOP\/s, over the time budget of 1\.0 h/);
    const cpu = splitInvalid(KERNEL_PRESETS.cpu.sweeps('cpu').flatMap(expandSweep), masks);
    expect(refusal(() => guardCpuSweep(cpu.valid, masks))).toBeUndefined();
    // w = 1024 at S = 1024 does not fit: an invalid parameter, split off before anything runs
    expect(cpu.invalid.map((x) => `${x.c.family} ${x.c.seqlen}`)).toEqual(['sliding_window_causal 1024', 'sliding_window_causal 1024']);
    expect(cpu.invalid[0].message).toMatch(/window w=1024 must satisfy 0 <= w < S/);
  });

  it('the float64 reference stops at its deadline with a timeout error', () => {
    const S = 512;
    const shape = { seqlenQ: S, seqlenK: S, headsQ: 1, headsKv: 1, headDim: 8 };
    const x = new Float32Array(S * 8).fill(0.5);
    const mask = generateMask('causal', S, { seed: 0 }).heads[0];
    expect(() => referenceForward(x, x, x, mask, shape, { deadline: Date.now() - 1 })).toThrow(expect.objectContaining({ code: 'timeout' }));
    expect(referenceForward(x, x, x, mask, shape).out.length).toBe(S * 8);
  });
});
