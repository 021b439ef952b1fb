// Plans the GPU development run of the worker (file mode): `npx tsx test/dev/plan-gpu-dev.ts <dir>`.
// The folder (jobs.jsonl, arrays.bin, cases.jsonl) is carried to the GPU machine and run with
// `python3 -m attnbench_worker run <dir>/jobs.jsonl --out results.jsonl`. Ordered by priority so a
// run cut short still answers the acceptance questions first.
import { caseId } from '../../src/bench/sweep.js';
import type { KernelCase } from '../../src/kernels/case.js';
import { parseFamilyId, parseKernelId } from '../../src/ids.js';
import { generateMask } from '../../src/mask/families/index.js';
import { planJobsFile } from '../../src/worker/files.js';

const K = 1024;
type Dir = KernelCase['direction'];

function kc(kernelText: string, familyText: string, seqlen: number, direction: Dir, params: Record<string, number> = {}): KernelCase {
  const kernel = parseKernelId(kernelText);
  const family = parseFamilyId(familyText);
  const c = {
    suite: (family.includes('sparse') ? 'sparse' : 'kernel') as KernelCase['suite'],
    kernel,
    family,
    maskParams: params,
    seed: 0,
    seqlen,
    batch: 1,
    headsQ: 64,
    headsKv: 8,
    headDim: 128,
    dtype: 'bfloat16' as const,
    direction,
    warmup: 5,
    iters: 20,
    checkUpTo: 8 * K,
  };
  return { ...c, id: caseId(c) };
}

const dirs: Dir[] = ['fwd', 'bwd'];
const cases: KernelCase[] = [];
// 1. acceptance: causal S = 32k forward, sdpa_cudnn and flex (also timed by `bare`)
cases.push(kc('sdpa_cudnn', 'causal', 32 * K, 'fwd'), kc('flex', 'causal', 32 * K, 'fwd'));
// 2. causal 4k..32k, every torch kernel that can run, fwd + bwd
for (const kernel of ['sdpa_flash', 'sdpa_cudnn', 'sdpa_efficient', 'flex', 'triton_blocksparse', 'sdpa_math', 'torch_naive'])
  for (const s of kernel === 'flex' ? [8 * K, 32 * K] : [4 * K, 8 * K, 16 * K, 32 * K]) // flex: each shape is a compile
    for (const d of dirs) {
      const c = kc(kernel, 'causal', s, d);
      if (!cases.some((x) => x.id === c.id)) cases.push(c);
    }
// 3. documents (varlen / nested tensors, partial tiles) and per-head block sparsity
for (const kernel of ['sdpa_flash', 'sdpa_cudnn', 'sdpa_efficient', 'triton_blocksparse', 'flex'])
  for (const s of kernel === 'flex' ? [8 * K] : [8 * K, 32 * K]) for (const d of dirs) cases.push(kc(kernel, 'causal_document', s, d));
for (const kernel of ['triton_blocksparse', 'flex'])
  for (const [s, b] of (kernel === 'flex' ? [[8 * K, 64]] : [[8 * K, 64], [16 * K, 128]]) as [number, number][])
    for (const d of dirs) cases.push(kc(kernel, 'block_sparse', s, d, { s: 0.5, block: b, kvHeads: 8 }));
// 4. flex at 256k through the block table (short policy: each call is seconds)
const long = { ...kc("flex", "causal", 256 * K, "fwd"), warmup: 2, iters: 5, checkUpTo: 0 };
// 5. JAX (own process) and the optional packages (expected unavailable here)
for (const kernel of ['jax_cudnn', 'jax_pallas']) for (const s of [8 * K, 32 * K]) for (const d of dirs) cases.push(kc(kernel, 'causal', s, d));
for (const kernel of ['fa2', 'fa3', 'fa4', 'te_fused', 'flashinfer', 'magi_ffa', 'flashmask']) cases.push(kc(kernel, 'causal', 4 * K, 'fwd'));

// The short list for a device call of about four minutes (device time is shared with the sweep).
const quick: KernelCase[] = [
  cases[0],
  cases[1],
  ...['sdpa_flash', 'sdpa_cudnn', 'sdpa_efficient', 'triton_blocksparse'].flatMap((k) =>
    [8 * K, 32 * K].flatMap((s) => dirs.map((d) => kc(k, 'causal', s, d))),
  ),
  ...dirs.map((d) => kc('flex', 'causal', 8 * K, d)),
  kc('torch_naive', 'causal', 8 * K, 'fwd'),
  kc('sdpa_math', 'causal', 8 * K, 'fwd'),
  ...['sdpa_flash', 'triton_blocksparse', 'sdpa_cudnn'].map((k) => kc(k, 'causal_document', 8 * K, 'fwd')),
  ...dirs.map((d) => kc('triton_blocksparse', 'block_sparse', 8 * K, d, { s: 0.5, block: 64, kvHeads: 8 })),
  kc('triton_blocksparse', 'causal_document', 8 * K, 'bwd'),
  kc('fa3', 'causal', 4 * K, 'fwd'),
];
const dir = process.argv[2] ?? 'out/devjobs';
const masks = {
  generate: (c: KernelCase, sample: number) => generateMask(c.family, c.seqlen, { seed: c.seed + sample, params: { ...c.maskParams } }),
  samples: () => 1,
};
const main = planJobsFile(cases, dir, masks, { timeoutS: 150 });
const extra = planJobsFile([long], `${dir}/long`, masks, { allowShort: true, timeoutS: 200 });
const q = planJobsFile(quick, `${dir}/quick`, masks, { timeoutS: 90 });
console.log(JSON.stringify({ main, extra, quick: q, acceptanceIds: [cases[0].id, cases[1].id] }, null, 1));
