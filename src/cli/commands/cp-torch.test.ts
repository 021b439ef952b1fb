// `cp run --executor torch` end to end with a real torch on CPU tensors (virtual ranks, and gloo
// processes through torchrun): the torch executor behind runCp, --resume, and a rank that fails.
// Skipped where the python (ATTNBENCH_PYTHON, else python3) cannot import torch (CI has none); here:
// ATTNBENCH_PYTHON=/work/venv-torch/bin/python npx vitest run src/cli/commands/cp-torch.test.ts
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultRowSchema, type ResultRow } from '../../results/schema.js';
import { readJsonl } from '../../util/jsonl.js';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

let dir: string;
let out: string[];
let err: string[];
captureIo('attnbench-cp-torch-', (io) => ({ dir, out, err } = io));

const python = process.env.ATTNBENCH_PYTHON ?? 'python3';
/** torch 2 or later (older torchrun builds fail on current pythons). */
const torchMajor = (): number => {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__.split(".")[0])'], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : 0;
};
const major = torchMajor();

const args = (...more: string[]) => [
  'cp', 'run', '--executor', 'torch', '--device', 'cpu', '--family', 'causal', '--seqlen', '256', '--heads', '4:2', '--head-dim', '16',
  '--dtype', 'float32', '--kernel', 'reference', '--warmup', '1', '--iters', '2', '--python', python, ...more,
];
const rows = (file: string) => readJsonl<ResultRow>(file).map((r) => ResultRowSchema.parse(r));

describe.skipIf(major < 1)('cp run --executor torch on CPU tensors (real torch)', () => {
  it('virtual ranks: ok rows with the torch ids, checked against the reference; --resume then runs nothing', async () => {
    const file = path.join(dir, 'rows.jsonl');
    expect(await main(args('--virtual-ranks', '2', '--scheme', 'ring_p2p,ulysses', '--out', file)), err.join('')).toBe(0);
    const got = rows(file);
    expect(got.map((r) => `${r.scheme}:${r.direction}:${r.status}`)).toEqual(['ring_p2p:fwd:ok', 'ring_p2p:bwd:ok', 'ulysses:fwd:ok', 'ulysses:bwd:ok']);
    for (const r of got) {
      expect(r.id).toMatch(/^cp:(ring_p2p|ulysses):.*:causal:-:seed0:S256:P2:4x2x16:float32\|(fwd|bwd)\|torch\|virtual2\|cpu\|reference$/);
      expect(r.error?.exceedsTolerance).toBe(false);
      expect(r.ranks).toHaveLength(2);
      expect(r.layout).toMatchObject({ virtualRanks: 2 });
    }
    out.length = 0;
    expect(await main(args('--virtual-ranks', '2', '--scheme', 'ring_p2p,ulysses', '--out', file, '--resume'))).toBe(0);
    expect(out.join('')).toContain('all 2 case(s) already in it (--resume)');
    expect(rows(file)).toHaveLength(4);
  });

  it('--resume into one --out: the same cases with another --kernel are measured, not skipped (each row names its kernel)', async () => {
    // The GPU run that found it: --kernel triton_ranges, then --kernel flex into the same --out: every flex case skipped.
    const file = path.join(dir, 'kernels.jsonl');
    const example = path.join(process.cwd(), 'examples', 'my_kernel.py');
    const run = (kernel: string) => main(['--kernel-module', example, ...args('--virtual-ranks', '2', '--scheme', 'ring_p2p', '--out', file, '--resume', '--kernel', kernel)]);
    expect(await run('reference'), err.join('')).toBe(0);
    expect(await run('my_kernel'), err.join('')).toBe(0);
    const got = rows(file);
    expect(got.map((r) => `${r.kernel}:${r.direction}:${r.status}`)).toEqual(['reference:fwd:ok', 'reference:bwd:ok', 'my_kernel:fwd:ok', 'my_kernel:bwd:ok']);
    expect(got.map((r) => r.id.split('|').slice(1).join('|'))).toEqual(['fwd|torch|virtual2|cpu|reference', 'bwd|torch|virtual2|cpu|reference', 'fwd|torch|virtual2|cpu|my_kernel', 'bwd|torch|virtual2|cpu|my_kernel']);
    out.length = 0;
    expect(await run('my_kernel')).toBe(0); // now each kernel's case is there
    expect(out.join('')).toContain('all 1 case(s) already in it (--resume)');
    expect(rows(file)).toHaveLength(4);
  });

  it.skipIf(major < 2)('gloo processes: a rank that raises ends its case in error rows naming the rank; the next case runs in a new launch', async () => {
    const file = path.join(dir, 'faults.jsonl');
    process.env.ATTNBENCH_CP_FAULT = '1:fwd:1:raise';
    try {
      // Rank 1 raises at forward step 1 of every case: ring_p2p's first launch dies in it, and the
      // relaunch on the cases after it reaches ulysses's step 1 (a copy) and dies there.
      expect(await main(args('--nproc-per-node', '2', '--scheme', 'ring_p2p,ulysses', '--out', file))).toBe(1);
    } finally {
      delete process.env.ATTNBENCH_CP_FAULT;
    }
    const got = rows(file);
    expect(got.every((r) => r.id.endsWith('|torch|dist-gloo|cpu|reference'))).toBe(true);
    expect(got.map((r) => `${r.scheme}:${r.direction}:${r.status}`)).toEqual(['ring_p2p:fwd:error', 'ring_p2p:bwd:error', 'ulysses:fwd:error', 'ulysses:bwd:error']);
    expect(got[0].message).toMatch(/rank 1: rank 1 fwd step 1 \(attn\): RuntimeError: injected fault/);
    expect(got[2].message).toMatch(/rank 1: rank 1 fwd step 1 \(copy\): RuntimeError: injected fault/);
    expect(err.join('')).toMatch(/attnbench: failed: 2 of 2 case\(s\) did not end ok/);
  });
});
