// The one row builder, case-id grammar, FLOP count and resume rule.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCpRow, buildRow, buildSimRow, type CpRowCase } from './build.js';
import { caseId, caseIdOfRow, cpKernelOf, legacyKernelId, type CaseKey } from './case-id.js';
import { attentionFlops, tflopsPerGpu } from './flops.js';
import { doneCaseIds, parseRetry } from './resume.js';
import { ResultRowSchema, type Environment, type ResultRow } from './schema.js';

const env: Environment = { host: 'h', gpu: null, driver: null, cuda: null, libs: {}, gitRev: null, date: '2026-12-04' };
const kernelKey: CaseKey = {
  suite: 'kernel', executor: 'torch', kernel: 'flex', scheme: null, family: 'causal', maskParams: {}, seed: 0, seqlen: 1024, batch: 1,
  headsQ: 8, headsKv: 2, headDim: 64, dtype: 'bfloat16', direction: 'fwd', world: 1, layout: null,
};
const cpKey: CaseKey = { ...kernelKey, suite: 'cp', kernel: 'reference', scheme: 'ring_p2p', world: 2, layout: { sharding: 'zigzag' }, launch: 'dist-gloo', device: 'cpu' };
const times = (ms: number) => ({ medianMs: ms, p20Ms: ms, p80Ms: ms, samples: 3 });

describe('FLOPs', () => {
  it('forward 4 * area * headsQ * headDim, backward 2.5x; TFLOP/s per GPU', () => {
    expect(attentionFlops(100, 8, 64, 'fwd')).toBe(4 * 100 * 8 * 64);
    expect(attentionFlops(100, 8, 64, 'bwd')).toBe(2.5 * 4 * 100 * 8 * 64);
    expect(tflopsPerGpu(2e12, 1000, 2)).toBe(1);
    expect(tflopsPerGpu(1, 0)).toBeNull();
  });
});

describe('case ids', () => {
  it('kernel ids: the one grammar; the ids committed rows carry (kernel/family/S/dir/hash) are aliases computed from the same fields', () => {
    expect(caseId(kernelKey)).toBe('kernel:flex:causal:-:seed0:S1024:B1:8x2x64:bfloat16|fwd|torch');
    expect(legacyKernelId(kernelKey)).toMatch(/^flex\/causal\/1024\/fwd\/[0-9a-f]{10}$/);
    // Every committed H200 kernel row: its stored id is the legacy id of its fields (nothing else
    // went into it), and --resume settles the case under the new id too.
    const rows = fs.readFileSync('results/h200/kernels/paper.jsonl', 'utf8').trim().split('\n').map((l) => ResultRowSchema.parse(JSON.parse(l)));
    for (const row of rows) expect(legacyKernelId(row)).toBe(row.id);
    const done = doneCaseIds(rows);
    for (const row of rows) expect(done.has(caseIdOfRow(row)) && done.has(row.id)).toBe(true);
    // One new id per old id (the grammar keeps every field the hash had).
    expect(new Set(rows.map(caseIdOfRow)).size).toBe(new Set(rows.map((r) => r.id)).size);
    const changes: Partial<CaseKey>[] = [{ suite: 'sparse' }, { kernel: 'sdpa_flash' }, { family: 'full' }, { maskParams: { window: 3 } }, { seed: 1 }, { seqlen: 2048 }, { batch: 2 }, { headsQ: 16 }, { headsKv: 8 }, { headDim: 128 }, { dtype: 'float16' }, { direction: 'bwd' }, { executor: 'cpu' }];
    expect(new Set([caseId(kernelKey), ...changes.map((c) => caseId({ ...kernelKey, ...c }))]).size).toBe(changes.length + 1);
  });
  it('CP ids: the job case, direction, executor, launch, device, kernel; every field that changes the measurement changes the id', () => {
    expect(caseId(cpKey)).toBe('cp:ring_p2p:sharding=zigzag:causal:-:seed0:S1024:P2:8x2x64:bfloat16|fwd|torch|dist-gloo|cpu|reference');
    // The id of a committed gloo row from its fields: its old id (no kernel segment) and its kernel.
    const line = fs.readFileSync('results/cpu-local/cp/gloo-p2.jsonl', 'utf8').split('\n')[0];
    const committed = ResultRowSchema.parse(JSON.parse(line));
    expect(caseIdOfRow(committed)).toBe(`${committed.id}|reference`);
    const changes: Partial<CaseKey>[] = [
      { layout: { sharding: 'contiguous' } }, { launch: 'dist-nccl' }, { device: 'cuda' }, { executor: 'cpu' }, { seed: 1 }, { maskParams: { window: 3 } }, { dtype: 'float32' }, { headsKv: 4 },
      { kernel: 'flex' }, { kernel: 'triton_ranges' },
    ];
    const ids = new Set([caseId(cpKey), ...changes.map((c) => caseId({ ...cpKey, ...c }))]);
    expect(ids.size).toBe(changes.length + 1);
    // Not part of it: the executor's own virtualRanks bookkeeping, the order of layout keys.
    expect(caseId({ ...cpKey, layout: { sharding: 'zigzag', virtualRanks: 2 } })).toBe(caseId(cpKey));
    expect(caseId({ ...cpKey, layout: { b: 1, a: 2 } })).toBe(caseId({ ...cpKey, layout: { a: 2, b: 1 } }));
    // The kernel segment is the resolved kernel: 'auto' is what python runs for it (src/kernels/cp-auto.ts,
    // issue 13): triton_ranges on cuda where its limits take the shape (head dim 64/128, bf16/fp16,
    // GQA group <= 128), else flex; the reference on cpu.
    const shape = { headsQ: 64, headsKv: 8, headDim: 128, dtype: 'bfloat16' };
    expect(cpKernelOf('auto', 'cuda', shape)).toBe('triton_ranges');
    expect(cpKernelOf(undefined, 'cuda', { ...shape, headDim: 64, dtype: 'float16' })).toBe('triton_ranges');
    expect(cpKernelOf('auto', 'cuda', { ...shape, headDim: 100 })).toBe('flex');
    expect(cpKernelOf('auto', 'cuda', { ...shape, dtype: 'float32' })).toBe('flex');
    expect(cpKernelOf('auto', 'cuda', { ...shape, headsQ: 12 })).toBe('flex'); // 12:8 is no GQA grouping
    expect(cpKernelOf('auto', 'cuda', { ...shape, headsQ: 256, headsKv: 1 })).toBe('flex'); // a group of 256 > 128 rows
    expect(cpKernelOf('auto', 'cpu', shape)).toBe('reference');
    expect(cpKernelOf(null, 'cpu', shape)).toBe('reference');
    // Every other kernel stays selectable by id, whatever the shape.
    for (const k of ['flex', 'triton_ranges', 'reference', 'my_module_kernel']) expect(cpKernelOf(k, 'cuda', { ...shape, headDim: 100 })).toBe(k);
    expect(caseId({ ...cpKey, kernel: 'auto' })).toBe(caseId(cpKey));
    const cuda = { ...cpKey, device: 'cuda', headsQ: 64, headsKv: 8, headDim: 128 };
    expect(caseId({ ...cuda, kernel: 'auto' })).toBe(caseId({ ...cuda, kernel: 'triton_ranges' }));
    expect(caseId({ ...cuda, kernel: 'auto', headDim: 100 })).toBe(caseId({ ...cuda, kernel: 'flex', headDim: 100 }));
    // Rows that recorded no kernel (failed torch cases before 2026-12-05) ran the 'auto' of then: flex on cuda.
    const legacy = buildRow(
      { ...cuda, kernel: null, launch: 'virtual2' }, 10,
      { status: 'error', message: 'x', times: null, memory: null, error: null, notes: [], ranks: null },
      { ...env, gpu: 'NVIDIA H100 80GB HBM3' }, { sharding: 'zigzag', virtualRanks: 2 },
    );
    expect(legacy.kernel).toBeNull();
    expect(caseIdOfRow(legacy)).toBe(caseId({ ...cuda, kernel: 'flex', launch: 'virtual2' }));
  });
  it('every committed measured CP row keeps its meaning: its id in this grammar is its old id plus the kernel it ran (or its own id, written in this grammar)', () => {
    const files = committedCpRowFiles('results');
    expect(files.length).toBeGreaterThanOrEqual(15);
    const newOf = new Map<string, string>(); // old id + kernel -> new id
    const oldOf = new Map<string, string>(); // new id -> old id + kernel
    let n = 0;
    for (const f of files)
      for (const row of fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => ResultRowSchema.parse(JSON.parse(l)))) {
        if (row.scheme === null || row.simulated || row.executor === 'sim') continue;
        n++;
        const kernel = row.kernel ?? (row.env.gpu ? 'flex' : 'reference');
        const id = caseIdOfRow(row);
        // rows written since 2e41897 already carry the kernel segment: their id is the id of this grammar
        const current = row.id.split('|').length === 6;
        expect(id, f).toBe(current ? row.id : `${row.id}|${kernel}`);
        if (current) expect(row.id.endsWith(`|${kernel}`), f).toBe(true);
        const before = `${current ? row.id.slice(0, row.id.lastIndexOf('|')) : row.id}\u0000${kernel}`;
        expect(newOf.get(before) ?? id, f).toBe(id);
        expect(oldOf.get(id) ?? before, f).toBe(before);
        newOf.set(before, id);
        oldOf.set(id, before);
        // --resume settles it under both ids; another kernel of the same case is a case of its own.
        const done = doneCaseIds([row]);
        expect(done.has(id) && done.has(row.id)).toBe(true);
        expect(done.has(caseIdOfRow({ ...row, kernel: kernel === 'flex' ? 'triton_ranges' : 'flex' }))).toBe(false);
      }
    expect(n).toBeGreaterThanOrEqual(700);
  });
});

/** Every .jsonl file under `dir` (committed result files; sim projections are skipped row by row). */
function committedCpRowFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.jsonl') && f.split(path.sep).includes('cp') && !f.split(path.sep).includes('cp-torch-jobs')) // job folders (git-ignored) hold raw records, not rows
    .map((f) => path.join(dir, f))
    .sort();
}

describe('row builder', () => {
  it('kernel rows: id, FLOPs and TFLOP/s derived once; a failed case has no TFLOP/s', () => {
    const r = buildRow(kernelKey, 1000, { status: 'ok', message: null, times: times(2), memory: null, error: null }, env);
    expect(ResultRowSchema.parse(r)).toEqual(r);
    expect(r.id).toBe(caseId(kernelKey));
    expect(r.flops).toBe(attentionFlops(1000, 8, 64, 'fwd'));
    expect(r.tflops).toBe(tflopsPerGpu(r.flops, 2));
    expect(buildRow(kernelKey, 1000, { status: 'oom', message: 'x', times: null, memory: null, error: null }, env).tflops).toBeNull();
  });
  it('CP measurement records: the slowest rank times the row, per-GPU TFLOP/s, ranks from the plan', () => {
    const c: CpRowCase = {
      key: { executor: 'torch', scheme: 'ring_p2p', family: 'causal', maskParams: {}, seed: 0, seqlen: 1024, batch: 1, headsQ: 8, headsKv: 2, headDim: 64, dtype: 'bfloat16', world: 2, layout: { sharding: 'zigzag' }, launch: 'virtual2', device: 'cuda' },
      area: 1000,
      rankFlops: { fwd: [10, 20], bwd: [25, 50] },
      rankBytesSent: { fwd: [1, 2], bwd: [3, 4] },
      rowLayout: { sharding: 'zigzag', virtualRanks: 2 },
    };
    const gpuEnv = { ...env, gpu: 'NVIDIA H200' }; // the ranks' environment on the GPU the launch names
    const r = buildCpRow({ case: 'x', direction: 'bwd', status: 'ok', message: null, kernel: 'flex', perRank: [times(3), times(4)], compileMs: 9, error: null, memory: null }, c, gpuEnv);
    expect(ResultRowSchema.parse(r)).toEqual(r);
    expect(r.times).toEqual({ ...times(4), compileMs: 9 });
    expect(r.flops).toBe(attentionFlops(1000, 8, 64, 'bwd'));
    expect(r.tflops).toBe(tflopsPerGpu(r.flops, 4, 2));
    expect(r.tflopsMeanRank).toBe(tflopsPerGpu(r.flops, 3.5, 2));
    expect(r.ranks).toEqual([{ rank: 0, ms: 3, flops: 25, bytesSent: 3 }, { rank: 1, ms: 4, flops: 50, bytesSent: 4 }]);
    expect(r.layout).toEqual({ sharding: 'zigzag', virtualRanks: 2 });
    expect(r.id).toBe(caseIdOfRow(r)); // what --resume recomputes from the row
    const failed = buildCpRow({ case: 'x', direction: 'fwd', status: 'timeout', message: 'rank 1: step 3', kernel: 'flex', perRank: null, error: null, memory: null }, c, env);
    expect([failed.times, failed.tflops, failed.ranks]).toEqual([null, null, null]);
  });
});

describe('resume rule', () => {
  const row = (status: ResultRow['status'], over: Partial<ResultRow> = {}): ResultRow => ({ ...buildRow(kernelKey, 10, { status, message: null, times: status === 'ok' ? times(1) : null, memory: null, error: null }, env), ...over });
  it('the last row of a case settles it unless its status is retried', () => {
    const id = caseId(kernelKey);
    expect(doneCaseIds([row('error')]).has(id)).toBe(true);
    expect(doneCaseIds([row('error')], ['error']).has(id)).toBe(false);
    expect(doneCaseIds([row('error'), row('ok')], ['error']).has(id)).toBe(true);
    expect(doneCaseIds([row('ok'), row('timeout')], ['timeout']).has(id)).toBe(false);
    expect(doneCaseIds([{ garbage: true }, row('ok')]).has(id)).toBe(true);
  });
  it('recognizes rows written with an older id grammar by their fields', () => {
    expect(doneCaseIds([row('ok', { id: 'cp|old|grammar' })]).has(caseId(kernelKey))).toBe(true);
  });
  it('--retry takes statuses only', () => {
    expect(parseRetry('error,timeout')).toEqual(['error', 'timeout']);
    expect(() => parseRetry('boom')).toThrow(expect.objectContaining({ exit: 2 }));
  });
});

describe('simulated rows (buildSimRow: the one builder, executor sim)', () => {
  it('times are the makespan, FLOPs from the area, TFLOP/s per GPU from the makespan and the mean rank', () => {
    const key: CaseKey = { ...cpKey, executor: 'torch', world: 8 };
    const r = buildSimRow(key, 1000, { status: 'ok', message: null, makespanMs: 2, meanRankMs: 1.5, ranks: null, notes: ['n'] }, env, 'sim:cp:x');
    expect(ResultRowSchema.parse(r)).toEqual(r);
    expect([r.id, r.executor, r.simulated, r.ranks, r.notes]).toEqual(['sim:cp:x', 'sim', true, null, ['n']]);
    expect(r.times).toEqual({ medianMs: 2, p20Ms: 2, p80Ms: 2, samples: 1 });
    expect(r.flops).toBe(attentionFlops(1000, 8, 64, 'fwd'));
    expect(r.tflops).toBe(tflopsPerGpu(r.flops, 2, 8));
    expect(r.tflopsMeanRank).toBe(tflopsPerGpu(r.flops, 1.5, 8));
    // Per-rank entries, when kept, give the mean rank unless it is given.
    const ranks = [{ rank: 0, ms: 1, flops: 0, bytesSent: 0 }, { rank: 1, ms: 3, flops: 0, bytesSent: 0 }];
    expect(buildSimRow({ ...key, world: 2 }, 1000, { status: 'ok', message: null, makespanMs: 3, ranks }, env, 'i').tflopsMeanRank).toBe(tflopsPerGpu(r.flops, 2, 2));
  });

  it('a case the planner refused: no times, no TFLOP/s; kernel-suite predictions carry no CP fields', () => {
    const u = buildSimRow(cpKey, 0, { status: 'unsupported', message: 'no', makespanMs: null }, env, 'sim:u');
    expect([u.status, u.times, u.tflops, u.tflopsMeanRank, u.flops, u.notes]).toEqual(['unsupported', null, null, null, 0, []]);
    const k = buildSimRow(kernelKey, 10, { status: 'ok', message: null, makespanMs: 1 }, env, 'sim:k');
    expect('ranks' in k || 'tflopsMeanRank' in k).toBe(false);
    expect(k.tflops).toBe(tflopsPerGpu(attentionFlops(10, 8, 64, 'fwd'), 1));
  });
});
