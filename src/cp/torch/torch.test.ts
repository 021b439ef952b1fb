// The TypeScript half of the GPU CP executor, without torch: launch command lines, the Slurm
// script, the job files (manifest + binary arrays read back), world-size checks, the preset, and
// rows from measurement records (the executor's run loop: ./executor.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapt } from '../../mask/adapters/index.js';
import { sliceArea } from '../../mask/slices.js';
import type { Mask } from '../../mask/types.js';
import { ResultRowSchema } from '../../results/schema.js';
import { readArray } from '../../worker/arrays.js';
import type { ArrayRef } from '../../worker/protocol.js';
import { SCHEME_IDS, type Step } from '../types.js';
import { planJob } from './jobs.js';
import { NCCL_ENV, sbatchScript, slurmTime, torchrunArgs, virtualArgs } from './launch.js';
import { caseId, readManifest, readMaskSlices, writeJobFiles, type CpJob } from './manifest.js';
import { arrayKernels, PARTIAL_ARRAYS } from './partial-arrays.js';
import { paperCp } from './preset.js';
import { RAW_RESULTS } from './run.js';
import { failedRow, measurementRow, rowsFromRaw, torchRowId } from './rows.js';
import { record } from './testing.js';

/** The shape torchRowId resolves 'auto' with: these calls name their kernel, so any shape. */
const NAMED = { headsQ: 4, headsKv: 2, headDim: 16, dtype: 'float32' };

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-cp-torch-'));

const small = (scheme: string, family: string, world: number, extra: Partial<Parameters<typeof planJob>[0]> = {}): CpJob =>
  planJob({ scheme, family, world, seqlen: 64 * world, headsQ: 4, headsKv: 2, headDim: 8, dtype: 'float32', kernel: 'reference', warmup: 1, iters: 2, ...extra });

describe('torchrun command lines', () => {
  it('one node: standalone rendezvous, the worker module and its flags', () => {
    expect(torchrunArgs({ python: '/usr/bin/python3', nprocPerNode: 8, manifests: ['jobs/index.json'], out: 'r.jsonl', timeoutS: 300 })).toEqual([
      '/usr/bin/python3', '-m', 'torch.distributed.run', '--standalone', '--nnodes', '1', '--nproc_per_node', '8',
      '-m', 'attnbench_worker.cp', 'run', 'jobs/index.json', '--out', 'r.jsonl', '--timeout', '300',
    ]);
  });

  it('several nodes: c10d rendezvous on the given endpoint', () => {
    const a = torchrunArgs({ nprocPerNode: 8, nnodes: 4, nodeRank: 2, rdzvEndpoint: 'node0:29500', rdzvId: 'job7', manifests: ['i.json'], out: 'o', backend: 'nccl' });
    expect(a).toEqual([
      'python3', '-m', 'torch.distributed.run', '--nnodes', '4', '--nproc_per_node', '8', '--node_rank', '2',
      '--rdzv_backend', 'c10d', '--rdzv_endpoint', 'node0:29500', '--rdzv_id', 'job7',
      '-m', 'attnbench_worker.cp', 'run', 'i.json', '--out', 'o', '--backend', 'nccl',
    ]);
  });

  it('rejects what torchrun would misread', () => {
    expect(() => torchrunArgs({ nprocPerNode: 8, nnodes: 2, manifests: ['i'], out: 'o' })).toThrow(/rdzv-endpoint/);
    expect(() => torchrunArgs({ nprocPerNode: 8, nnodes: 2, nodeRank: 2, rdzvEndpoint: 'h:1', manifests: ['i'], out: 'o' })).toThrow(/node-rank/);
    expect(() => torchrunArgs({ nprocPerNode: 0, manifests: ['i'], out: 'o' })).toThrow(/nproc-per-node/);
    expect(() => torchrunArgs({ nprocPerNode: 2, nnodes: 2, rdzvEndpoint: 'nohostport', manifests: ['i'], out: 'o' })).toThrow(/host:port/);
    expect(() => torchrunArgs({ nprocPerNode: 2, manifests: [], out: 'o' })).toThrow(/no CP job/);
  });

  it('virtual ranks: one python process', () => {
    expect(virtualArgs({ virtualRanks: 4, manifests: ['i.json'], out: 'o.jsonl', traceDir: 't' })).toEqual([
      'python3', '-m', 'attnbench_worker.cp', 'run', 'i.json', '--out', 'o.jsonl', '--trace-dir', 't', '--virtual-ranks', '4',
    ]);
  });
});

describe('Slurm script', () => {
  const script = sbatchScript({
    nodes: 4, gpusPerNode: 8, time: '90', repoRoot: '/shared/attnbench', manifests: ['/shared/jobs/index.json'], out: '/shared/r.jsonl', partition: 'gpu', timeoutS: 600,
  });
  it('asks for nodes, GPUs and time', () => {
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    for (const l of ['#SBATCH --nodes=4', '#SBATCH --gpus-per-node=8', '#SBATCH --ntasks-per-node=1', '#SBATCH --time=01:30:00', '#SBATCH --partition=gpu'])
      expect(script.split('\n')).toContain(l);
  });
  it('keeps NVLink multicast off and finds the package', () => {
    for (const [k, v] of Object.entries(NCCL_ENV)) expect(script).toContain(`export ${k}=${v}`);
    expect(script).toContain('NCCL_NVLS_ENABLE=0');
    expect(script).toContain('export PYTHONPATH=/shared/attnbench/python${PYTHONPATH:+:$PYTHONPATH}');
  });
  it('runs torchrun under srun with the rendezvous on the first node', () => {
    expect(script).toContain('head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)');
    const srun = script.split('\n').findIndex((l) => l.startsWith('srun --nodes=4 --ntasks-per-node=1'));
    expect(srun).toBeGreaterThan(0);
    const cmd = script.split('\n')[srun + 1];
    expect(cmd).toContain('-m torch.distributed.run --nnodes 4 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint "$head_node:$rdzv_port" --rdzv_id "$SLURM_JOB_ID"');
    expect(cmd).toContain('-m attnbench_worker.cp run /shared/jobs/index.json --out /shared/r.jsonl --timeout 600');
  });
  it('parses wall times', () => {
    expect(slurmTime('30')).toBe('00:30:00');
    expect(slurmTime('1-02:00:00')).toBe('1-02:00:00');
    expect(() => slurmTime('soon')).toThrow(/time/);
  });
});

function attnMasks(job: CpJob): Mask[] {
  const out: Mask[] = [];
  for (const rp of job.plan.ranks)
    for (const s of [...rp.forward, ...rp.backward] as Step[]) if (s.kind === 'attn' || s.kind === 'attn_bwd') out.push(s.mask);
  return out;
}

describe('job files', () => {
  it('round-trip: manifest fields, every step mask, slices and block tables read back from the binary file', () => {
    const dir = tmp();
    const jobs = [small('ring_p2p', 'causal_document', 4), small('ulysses', 'causal', 2), small('dispatch', 'full_document', 4)];
    const w = writeJobFiles(jobs, dir, { arrayKernels: ['flex'] });
    expect(w.manifests).toHaveLength(3);
    const index = JSON.parse(fs.readFileSync(w.index, 'utf8'));
    expect(index).toEqual({ format: 'attnbench.cp.index', manifests: w.manifests.map((m) => path.basename(m)) });
    jobs.forEach((job, n) => {
      const m = readManifest(w.manifests[n]);
      expect(m.case.id).toBe(caseId(job.plan, job.meta));
      expect(m.case.world).toBe(job.plan.world);
      expect(m.ranks).toHaveLength(job.plan.world);
      expect(m.case.flops.bwd).toBeCloseTo(2.5 * m.case.flops.fwd);
      expect(m.ranks.reduce((a, r) => a + r.flops.fwd, 0)).toBeCloseTo(m.case.flops.fwd, -2);
      // Steps in order with their masks, as indices into masks[].
      const steps = m.ranks.flatMap((r) => [...r.forward, ...r.backward]).filter((s) => s.kind === 'attn' || s.kind === 'attn_bwd');
      const masks = attnMasks(job);
      expect(steps).toHaveLength(masks.length);
      steps.forEach((s, i) => {
        const e = m.masks[s.mask as number];
        const want = masks[i];
        expect([e.seqlenQ, e.seqlenK]).toEqual([want.seqlenQ, want.seqlenK]);
        const got = readMaskSlices(e, dir);
        const kept = want.slices.filter((x) => sliceArea(x) > 0).sort((a, b) => a.qStart - b.qStart || a.kStart - b.kStart);
        expect(got.types.length).toBe(kept.length);
        kept.forEach((x, t) => {
          expect([got.qRanges[2 * t], got.qRanges[2 * t + 1], got.kRanges[2 * t], got.kRanges[2 * t + 1]]).toEqual([x.qStart, x.qEnd, x.kStart, x.kEnd]);
          expect(got.types[t]).toBe({ full: 0, causal: 1, invcausal: 2, bicausal: 3 }[x.kind]);
        });
        const bt = adapt(want, 'block_table');
        expect(bt.kind).toBe('ok');
        const flex = e.arrays.flex;
        expect(flex).toBeDefined(); // the flex hook of ./partial-arrays.ts wrote the step's block table
        if (bt.kind === 'ok' && flex) {
          const arr = (name: string) => Array.from(readArray(flex[name] as ArrayRef, dir));
          expect(arr('kvNumBlocks')).toEqual(Array.from(bt.value.kvNumBlocks));
          expect(arr('kvIndices')).toEqual(Array.from(bt.value.kvIndices));
          expect(arr('fullKvIndices')).toEqual(Array.from(bt.value.fullKvIndices));
          expect((flex.kvIndices as ArrayRef).shape).toEqual([1, bt.value.numBlocksQ, bt.value.maxK]);
          expect([flex.blockQ, flex.blockK]).toEqual([128, 128]);
        }
      });
      // Buffers and groups survive as plain data.
      const r0 = job.plan.ranks[0];
      for (const d of r0.buffers) expect(m.ranks[0].buffers[d.name]).toEqual({ tensor: d.tensor, tokens: d.tokens.map((r) => [r.start, r.end]), heads: [d.heads.start, d.heads.end] });
      expect(m.groups).toEqual(job.plan.groups);
    });
  });

  it('stores identical masks once', () => {
    const dir = tmp();
    const job = small('ring_allgather', 'full', 4);
    const m = readManifest(writeJobFiles([job], dir).manifests[0]);
    expect(attnMasks(job).length).toBeGreaterThan(m.masks.length);
    expect(m.masks).toHaveLength(1);
  });

  it('slices only, when kernel arrays are not asked for or the kernel needs none (CPU / reference runs)', () => {
    const dir = tmp();
    const m = readManifest(writeJobFiles([small('ring_p2p', 'causal', 2)], dir, { blockTables: false, arrayKernels: ['flex'] }).manifests[0]);
    expect(m.masks.every((e) => Object.keys(e.arrays).length === 0)).toBe(true);
    const r = readManifest(writeJobFiles([small('ring_p2p', 'causal', 2)], tmp()).manifests[0]); // kernel 'reference'
    expect(r.masks.every((e) => Object.keys(e.arrays).length === 0)).toBe(true);
  });

  it("a kernel's arrays come from its one registration in PARTIAL_ARRAYS ('auto': each kernel it may run on a GPU, triton_ranges first)", () => {
    const fits = { headsQ: 64, headsKv: 8, headDim: 128, dtype: 'bfloat16' };
    expect(arrayKernels('auto', fits)).toEqual(['triton_ranges', 'flex']);
    expect(arrayKernels('auto', { ...fits, headDim: 100 })).toEqual(['flex']); // triton_ranges takes head dims that are multiples of 8 from 16 to 256
    expect(arrayKernels('auto', { ...fits, dtype: 'float32' })).toEqual(['flex']);
    expect(arrayKernels('reference', fits)).toEqual([]);
    for (const id of Object.keys(PARTIAL_ARRAYS)) expect(arrayKernels(id, { ...fits, headDim: 100 })).toEqual([id]);
    const m = readManifest(writeJobFiles([{ ...small('ring_p2p', 'causal', 2), meta: { ...small('ring_p2p', 'causal', 2).meta, kernel: 'flex' } }], tmp()).manifests[0]);
    expect(m.masks.every((e) => Object.keys(e.arrays).join() === 'flex')).toBe(true);
    const auto = small('ring_p2p', 'causal_document', 2, { headsQ: 8, headsKv: 2, headDim: 64, dtype: 'bfloat16', kernel: 'auto' });
    const a = readManifest(writeJobFiles([auto], tmp()).manifests[0]);
    const used = a.masks.filter((e) => e.seqlenQ > 0 && e.seqlenK > 0);
    expect(used.length).toBeGreaterThan(0);
    expect(used.every((e) => Object.keys(e.arrays).join() === 'triton_ranges,flex')).toBe(true);
  });
});

describe('paper-cp preset', () => {
  it('every scheme x the four families, 8k tokens per GPU, 64:8 heads, d 128, bf16, both directions', () => {
    const p = paperCp({ worlds: [2, 8] });
    expect(p.directions).toEqual(['fwd', 'bwd']);
    expect(p.cases).toHaveLength(2 * SCHEME_IDS.length * 4);
    expect(new Set(p.cases.map((c) => c.family))).toEqual(new Set(['full', 'causal', 'full_document', 'causal_document']));
    for (const c of p.cases) {
      expect(c.seqlen).toBe(8192 * c.world);
      expect([c.headsQ, c.headsKv, c.headDim, c.dtype]).toEqual([64, 8, 128, 'bfloat16']);
    }
  });
});

describe('rows from measurements (python measures, TypeScript derives)', () => {
  it('the slowest rank is the time, TFLOP/s per GPU, per-rank FLOPs and bytes from the manifest', () => {
    const dir = tmp();
    const job = small('ring_p2p', 'causal', 2);
    const w = writeJobFiles([job], dir);
    const m = readManifest(w.manifests[0]);
    const row = measurementRow(record(job, 'bwd', 'virtual2'), m);
    expect(ResultRowSchema.parse(row)).toEqual(row);
    expect(row.id).toBe(torchRowId(m.case.id, 'bwd', 'virtual2', 'cpu', 'reference', NAMED));
    expect(row.times).toEqual({ medianMs: 3, p20Ms: 2.5, p80Ms: 3.5, samples: 2, compileMs: 30 });
    expect(row.flops).toBe(m.case.flops.bwd);
    expect(row.tflops).toBeCloseTo(m.case.flops.bwd / 3e-3 / 2 / 1e12, 12);
    expect(row.tflopsMeanRank).toBeCloseTo(m.case.flops.bwd / 2.5e-3 / 2 / 1e12, 12);
    expect(row.ranks).toEqual(m.ranks.map((r, i) => ({ rank: i, ms: 2 + i, flops: r.flops.bwd, bytesSent: r.bytesSent.bwd })));
    expect(row.layout).toEqual({ ...m.case.layout, virtualRanks: 2 });
    expect([row.kernel, row.status, row.env.host]).toEqual(['reference', 'ok', 'h']);
    // The row of a failed case says the same about the case as the measured one.
    const f = failedRow(job, 'bwd', 'error', 'x', 'virtual2', 'cpu');
    for (const k of ['id', 'scheme', 'family', 'seqlen', 'world', 'layout', 'area', 'flops'] as const) expect(f[k]).toEqual(row[k]);
    expect(() => measurementRow({ ...record(job, 'fwd', 'virtual2'), case: 'other' }, m)).toThrow(/joined with the manifest/);
  });

  it('rowsFromRaw: a folder run elsewhere (plan-only) becomes rows; other lines are reported', () => {
    const dir = tmp();
    const jobs = [small('ring_p2p', 'causal', 2), small('ulysses', 'causal', 2)];
    writeJobFiles(jobs, dir);
    const raw = path.join(dir, RAW_RESULTS);
    const lines = [record(jobs[0], 'fwd', 'dist-gloo'), record(jobs[1], 'bwd', 'dist-gloo', 'error', 'rank 0: boom')].map((r) => JSON.stringify(r));
    fs.writeFileSync(raw, `${lines.join('\n')}\n{"torn\n${JSON.stringify({ ...record(jobs[0], 'bwd', 'dist-gloo'), case: 'nope' })}\n`);
    const { rows, skipped } = rowsFromRaw(dir, raw);
    expect(rows.map((r) => [r.scheme, r.direction, r.status, r.message])).toEqual([
      ['ring_p2p', 'fwd', 'ok', null],
      ['ulysses', 'bwd', 'error', 'rank 0: boom'],
    ]);
    expect(skipped).toEqual(['not JSON', `case nope is not in ${dir}`]);
  });
});
