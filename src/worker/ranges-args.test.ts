// The 'ranges' job arguments: triton_ranges' tiles and tuning chosen for the case's heads, and the
// work lists written as binary arrays that read back to what the adapter built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelCase } from '../kernels/case.js';
import { RANGES_GATHER_PARTIAL_SHARE, RANGES_SHORT_LOOP_STEPS, tritonRanges } from '../kernels/gpu/triton_ranges.js';
import { toRanges } from '../mask/adapters/index.js';
import { innerSteps, meanInnerSteps, partialStepShare } from '../mask/adapters/ranges.js';
import { generateMask } from '../mask/families/index.js';
import { ArrayFile, readArray } from './arrays.js';
import { buildJob } from './jobs.js';
import { partialArgs } from '../cp/torch/partial-arrays.js';
import { STEP_TILES_Q } from './ranges-args.js';
import type { ArrayRef } from './protocol.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-ranges-args-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function kcase(headsQ: number, headsKv: number, family: string, seqlen: number, headDim = 128): KernelCase {
  return {
    suite: 'kernel', kernel: 'triton_ranges', family, maskParams: {}, seed: 0, seqlen, batch: 1, headsQ, headsKv, headDim,
    dtype: 'bfloat16', direction: 'bwd', warmup: 5, iters: 20, checkUpTo: 8192, id: 'x',
  } as KernelCase;
}

describe('ranges job arguments', () => {
  it('packs the GQA group into the tile and writes both lists', () => {
    const mask = generateMask('causal_document', 1024, { seed: 1 });
    const arrays = new ArrayFile(path.join(tmp, 'a.bin'), tmp);
    const plan = buildJob(kcase(64, 8, 'causal_document', 1024), mask, tritonRanges, arrays);
    arrays.close();
    expect(plan.kind).toBe('job');
    if (plan.kind !== 'job') return;
    const a = plan.job.mask.args as Record<string, any>;
    expect(plan.job.mask.format).toBe('ranges');
    expect([a.tileQ, a.tileK, a.tuning.pack]).toEqual([16, 128, 8]);
    const want = toRanges(mask.heads[0], { ranges: { tileQ: 16, tileK: 128 } });
    if (want.kind !== 'ok') throw new Error(want.reason);
    expect(Array.from(readArray(a.bands as ArrayRef, tmp))).toEqual(Array.from(want.value.bands));
    for (const dir of ['fwd', 'bwd'] as const) {
      const l = want.value[dir];
      expect(a[dir].numRows).toBe(l.numRows);
      for (const k of ['rowRuns', 'runs', 'rowParts', 'parts', 'sliceIds', 'order'] as const) {
        const got = Array.from(readArray(a[dir][k] as ArrayRef, tmp));
        expect(got.slice(0, l[k].length)).toEqual(Array.from(l[k]));
      }
    }
  });

  it('4:4 heads: no packing, 128-token tiles; block_sparse 64-blocks: 64-key tiles; an empty list is one zero row', () => {
    const arrays = new ArrayFile(path.join(tmp, 'b.bin'), tmp);
    const full = buildJob(kcase(4, 4, 'full', 256), generateMask('full', 256), tritonRanges, arrays);
    const bs = generateMask('block_sparse', 512, { params: { block: 64, s: 0.5, kvHeads: 4 } });
    const sparse = buildJob(kcase(4, 4, 'block_sparse', 512), bs, tritonRanges, arrays);
    arrays.close();
    if (full.kind !== 'job' || sparse.kind !== 'job') throw new Error('expected jobs');
    const f = full.job.mask.args as Record<string, any>;
    expect([f.tileQ, f.tileK, f.tuning.pack]).toEqual([128, 128, 1]);
    expect(f.fwd.partialTiles).toBe(0);
    expect((f.fwd.parts as ArrayRef).shape).toEqual([1, 5]);
    const s = sparse.job.mask.args as Record<string, any>;
    expect([s.tileQ, s.tileK, s.heads]).toEqual([64, 64, 4]);
    expect(sparse.job.mask.perHead).toBe(true);
    expect(s.fwd.partialTiles).toBe(0); // 64-blocks on 64 x 64 tiles: every tile full or empty
  });

  it('CP steps: the triton_ranges hook writes the lists at every query tile, flat names', () => {
    const arrays = new ArrayFile(path.join(tmp, 'c.bin'), tmp);
    const m = { seqlenQ: 300, seqlenK: 500, slices: [{ qStart: 0, qEnd: 300, kStart: 100, kEnd: 500, kind: 'causal' as const }] };
    const args = partialArgs(m, ['triton_ranges'], arrays).triton_ranges;
    arrays.close();
    for (const t of STEP_TILES_Q) {
      expect(args[`t${t}.tileQ`]).toBe(t);
      const want = toRanges(m, { ranges: { tileQ: t, tileK: 128 } });
      if (want.kind !== 'ok') throw new Error(want.reason);
      expect(Array.from(readArray(args[`t${t}.fwd.order`] as ArrayRef, tmp))).toEqual(Array.from(want.value.fwd.order));
      expect(Array.from(readArray(args[`t${t}.bwd.rowRuns`] as ArrayRef, tmp))).toEqual(Array.from(want.value.bwd.rowRuns));
    }
    expect(Object.values(args).every((v) => typeof v === 'number' || (typeof v === 'object' && 'path' in v))).toBe(true);
  });

  it('the forward tuning is chosen from the work list: split tiles on short key loops only, the statistic in the args', () => {
    const arrays = new ArrayFile(path.join(tmp, 'd.bin'), tmp);
    const got: Record<string, { split: number; warps: number; stages: number; mean: number | undefined }> = {};
    const means: Record<string, number> = {};
    for (const [family, d] of [['causal', 128], ['causal_document', 128], ['causal_document', 64]] as const) {
      const mask = generateMask(family, 8192, { seed: 0 });
      const plan = buildJob(kcase(64, 8, family, 8192, d), mask, tritonRanges, arrays);
      if (plan.kind !== 'job') throw new Error('expected a job');
      const a = plan.job.mask.args as Record<string, any>;
      got[`${family}/d${d}`] = { split: a.tuning.fwdSplit, warps: a.tuning.fwdWarps, stages: a.tuning.fwdStages, mean: a.fwdMeanSteps };
      const l = toRanges(mask.heads[0], { ranges: { tileQ: 16, tileK: 128 } });
      if (l.kind !== 'ok') throw new Error(l.reason);
      means[family] = meanInnerSteps(l.value.fwd, 128, 64);
    }
    arrays.close();
    // causal at 8k: query tile r walks 16 r / 64 + 1 steps, mean ~64; documents: far fewer
    expect(means.causal).toBeGreaterThan(60);
    expect(means.causal_document).toBeLessThan(RANGES_SHORT_LOOP_STEPS);
    expect(got['causal/d128']).toEqual({ split: 1, warps: 8, stages: 3, mean: Math.round(means.causal * 10) / 10 });
    expect(got['causal_document/d128']).toEqual({ split: 2, warps: 4, stages: 3, mean: Math.round(means.causal_document * 10) / 10 });
    // d 64: the rule was not measured there, so the shape class's tuning stands and no statistic is sent
    expect(got['causal_document/d64']).toEqual({ split: 1, warps: 8, stages: 3, mean: undefined });
  });

  it('the gathered forward is chosen from the work list: where partial-tile steps are a large share (documents), not on causal or block_sparse', () => {
    const arrays = new ArrayFile(path.join(tmp, 'g.bin'), tmp);
    const got: Record<string, { gather: number | undefined; full: number | undefined }> = {};
    const share: Record<string, number> = {};
    for (const [family, d] of [['causal', 128], ['causal_document', 128], ['block_sparse', 128], ['causal_document', 64]] as const) {
      const mask = generateMask(family, 8192, { seed: 0 });
      const plan = buildJob(kcase(64, 8, family, 8192, d), mask, tritonRanges, arrays);
      if (plan.kind !== 'job') throw new Error('expected a job');
      const a = plan.job.mask.args as Record<string, any>;
      got[`${family}/d${d}`] = { gather: a.tuning.fwdGather, full: a.tuning.fwdGatherFull };
      const l = toRanges(mask.heads, { ranges: { tileQ: 16, tileK: 128 } });
      if (l.kind !== 'ok') throw new Error(l.reason);
      share[family] = partialStepShare(l.value.fwd, 128, 64);
    }
    arrays.close();
    expect(share.causal_document).toBeGreaterThanOrEqual(RANGES_GATHER_PARTIAL_SHARE);
    expect(share.causal).toBeLessThan(RANGES_GATHER_PARTIAL_SHARE);
    expect(share.block_sparse).toBe(0); // 128-blocks: every tile full
    expect(got['causal_document/d128']).toEqual({ gather: 2, full: 0 });
    expect(got['causal/d128']).toEqual({ gather: undefined, full: undefined });
    expect(got['block_sparse/d128']).toEqual({ gather: undefined, full: undefined });
    // d 64: not measured there, the shape class's tuning stands
    expect(got['causal_document/d64']).toEqual({ gather: undefined, full: undefined });
  });

  it('mean inner steps of a causal list: full tiles count tileK / step, the diagonal tile its touched steps', () => {
    const S = 4096;
    const r = toRanges({ seqlenQ: S, seqlenK: S, slices: [{ qStart: 0, qEnd: S, kStart: 0, kEnd: S, kind: 'causal' }] }, { ranges: { tileQ: 16, tileK: 128 } });
    if (r.kind !== 'ok') throw new Error(r.reason);
    let steps = 0;
    for (let q = 0; q < S / 16; q++) {
      const c = Math.floor((16 * q) / 128); // full key tiles [0, c), then the diagonal tile c up to key 16 q + 15
      steps += c * 2 + Math.ceil((16 * q + 16 - c * 128) / 64);
    }
    expect(meanInnerSteps(r.value.fwd, 128, 64)).toBeCloseTo(steps / (S / 16), 9);
    expect(meanInnerSteps(r.value.fwd, 128, 128)).toBeLessThan(meanInnerSteps(r.value.fwd, 128, 64));
    // every query tile has one partial (diagonal) tile: its steps are the partial ones
    const { full, partial } = innerSteps(r.value.fwd, 128, 64);
    expect(partial).toBe(Array.from({ length: S / 16 }, (_, q) => Math.ceil((16 * q + 16 - Math.floor((16 * q) / 128) * 128) / 64)).reduce((x, y) => x + y, 0));
    expect(partialStepShare(r.value.fwd, 128, 64)).toBeCloseTo(partial / (full + partial), 12);
  });
});
