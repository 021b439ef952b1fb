import { EXECUTOR_IDS } from '../ids.js';
import { describe, expect, it } from 'vitest';
import { expandSweep } from '../bench/sweep.js';
import { AttnbenchError } from '../errors.js';
import { generateMask } from '../mask/families/index.js';
import { kernelSweepFromOptions, type KernelCliOptions } from './kernel-options.js';
import { CALIBRATE_KERNELS, KERNEL_PRESETS, PAPER_FAMILIES, PAPER_SEQLENS } from './presets.js';

const opts = (o: Partial<KernelCliOptions>): KernelCliOptions => ({ executor: 'torch', seed: '0', out: 'x.jsonl', ...o });

describe('kernel presets', () => {
  it.each(Object.keys(KERNEL_PRESETS))('every case of preset %s has a mask its family accepts', (name) => {
    for (const executor of EXECUTOR_IDS) {
      const cases = KERNEL_PRESETS[name].sweeps(executor).flatMap(expandSweep);
      const seen = new Set<string>();
      for (const c of cases) {
        const key = `${c.family}|${c.seqlen}|${JSON.stringify(c.maskParams)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        // sliding windows larger than S are a legitimate `unsupported` row; anything else is a preset bug
        try {
          generateMask(c.family, c.seqlen, { seed: c.seed, params: { ...c.maskParams } });
        } catch (e) {
          expect((e as Error).message, key).toMatch(/window|must be (smaller|less)|exceeds|>=|at most/);
        }
      }
      expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    }
  });

  it('paper preset: 12 families x S 1k-48k x fwd/bwd at 64:8, d128, bf16, plus the sparse grid', () => {
    const [dense, sparse] = KERNEL_PRESETS.paper.sweeps('torch');
    expect(dense.families).toEqual([...PAPER_FAMILIES]);
    expect(dense.seqlens).toEqual(PAPER_SEQLENS);
    expect([dense.headsQ, dense.headsKv, dense.headDim, dense.dtype]).toEqual([64, 8, 128, 'bfloat16']);
    const sc = expandSweep(sparse);
    expect(new Set(sc.map((c) => c.maskParams.s))).toEqual(new Set([0.1, 0.2, 0.5, 0.8, 1.0]));
    expect(new Set(sc.map((c) => c.maskParams.block))).toEqual(new Set([64, 128]));
  });
});

describe('kernel sweep options', () => {
  it('--family replaces plain families and selects inside a parameter-grid sweep', () => {
    const { sweeps } = kernelSweepFromOptions(opts({ preset: 'paper', family: 'causal' }));
    expect(sweeps).toHaveLength(1);
    expect(sweeps[0].families).toEqual(['causal']);
    const both = kernelSweepFromOptions(opts({ preset: 'paper', family: 'causal,block_sparse' })).sweeps;
    expect(both.map((s) => s.families)).toEqual([['causal', 'block_sparse'], ['block_sparse']]);
  });

  it('--param goes only to the families that have the parameter', () => {
    const { sweeps } = kernelSweepFromOptions(opts({ family: 'causal,sliding_window_causal', param: 'w=256' }));
    const cases = sweeps.flatMap(expandSweep);
    expect(cases.filter((c) => c.family === 'causal').every((c) => Object.keys(c.maskParams).length === 0)).toBe(true);
    expect(cases.filter((c) => c.family === 'sliding_window_causal').every((c) => c.maskParams.w === 256)).toBe(true);
  });

  it('bad input: a parameter no family has, a family outside a grid preset, an unknown preset', () => {
    const code = (o: Partial<KernelCliOptions>) => {
      try {
        kernelSweepFromOptions(opts(o));
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(AttnbenchError);
        return (e as AttnbenchError).exit;
      }
    };
    expect(code({ family: 'causal', param: 'w=3' })).toBe(2);
    expect(code({ preset: 'sparse', family: 'causal' })).toBe(2);
    expect(code({ preset: 'nope' })).toBe(2);
    expect(code({ family: 'causal' })).toBe('ok');
  });

  it('calibrate preset: heads 64:8, 16:2, 4:4, 4:1, S 1k-1M, documents and dense-mask families, block-sparse at 4:4', () => {
    const cases = KERNEL_PRESETS.calibrate.sweeps('torch').flatMap(expandSweep);
    expect(new Set(cases.map((c) => `${c.headsQ}:${c.headsKv}`))).toEqual(new Set(['64:8', '16:2', '4:4', '4:1']));
    expect(Math.min(...cases.map((c) => c.seqlen))).toBe(1024);
    expect(Math.max(...cases.map((c) => c.seqlen))).toBe(1 << 20);
    expect(cases.some((c) => c.family === 'causal_document' && c.seqlen === 1 << 20)).toBe(true);
    expect(cases.some((c) => c.family === 'block_sparse' && c.headsQ === 4 && c.headsKv === 4)).toBe(true);
    expect(cases.some((c) => c.kernel === 'torch_naive' || c.kernel === 'sdpa_math')).toBe(false);
    // Only the kernels the simulator is calibrated for; priority order: new heads at small S first,
    // the costliest shape (4:4 causal at 256k) last, so a device call cut short keeps the rest.
    expect(new Set(cases.map((c) => c.kernel))).toEqual(new Set(CALIBRATE_KERNELS));
    expect(`${cases[0].headsQ}:${cases[0].headsKv}`).not.toBe('64:8');
    expect(cases[0].seqlen).toBeLessThanOrEqual(2048);
    const last = cases[cases.length - 1];
    expect([last.family, last.seqlen, last.headsQ, last.headsKv]).toEqual(['causal', 256 * 1024, 4, 4]);
    expect(cases.findIndex((c) => c.seqlen >= 64 * 1024)).toBeGreaterThan(cases.findLastIndex((c) => c.family === 'block_sparse'));
  });
});

describe('one paper-cp', () => {
  it('the measured cases and the simulator projection read the same study', async () => {
    const { paperCp } = await import('./cp-presets.js');
    const { CP_PRESETS: SIM } = await import('../sim/project.js');
    const { CP_PRESETS: TORCH } = await import('../cp/torch/preset.js');
    const study = paperCp();
    const sim = SIM['paper-cp'];
    expect([sim.families, sim.schemes, sim.tokensPerGpu, sim.gpus, sim.dtype]).toEqual([study.families, study.schemes, study.tokensPerGpu, study.projectedWorlds, study.dtype]);
    expect(sim.shape).toMatchObject({ headsQ: study.headsQ, headsKv: study.headsKv, headDim: study.headDim });
    const measured = TORCH['paper-cp']();
    expect(measured.cases).toHaveLength(study.schemes.length * study.families.length * study.measuredWorlds.length);
    for (const c of measured.cases) expect([c.headsQ, c.headsKv, c.headDim, c.dtype, c.seqlen]).toEqual([study.headsQ, study.headsKv, study.headDim, study.dtype, study.tokensPerGpu * c.world]);
  });
});

describe('timing flags against SPEC 6 minimums', () => {
  it('the GPU executors refuse --warmup below 5 and --iters below 20 at parse time (exit 2)', () => {
    for (const bad of [{ warmup: '2' }, { iters: '10' }]) {
      let err: unknown;
      try {
        kernelSweepFromOptions(opts({ preset: 'paper', family: 'causal', ...bad }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AttnbenchError);
      expect((err as AttnbenchError).exit).toBe(2);
      expect((err as Error).message).toMatch(/SPEC 6/);
    }
    const ok = kernelSweepFromOptions(opts({ preset: 'paper', family: 'causal', warmup: '5', iters: '20' }));
    expect(ok.sweeps.every((s) => s.warmup === 5 && s.iters === 20)).toBe(true);
    // the cpu executor keeps its own short timing
    expect(kernelSweepFromOptions(opts({ executor: 'cpu', preset: 'cpu', warmup: '1', iters: '2' })).sweeps.length).toBeGreaterThan(0);
  });
});
