// attnbench cp, driven through main() as bin.ts does: output, exit codes, files written.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../cp/torch/manifest.js';
import { ResultRowSchema } from '../../results/schema.js';
import { readJsonl } from '../../util/jsonl.js';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

let dir: string;
let out: string[];
let err: string[];
captureIo('attnbench-cp-', (io) => ({ dir, out, err } = io));

describe('attnbench cp plan', () => {
  it('prints per-rank statistics as JSON', async () => {
    const code = await main(['cp', 'plan', '--scheme', 'ring_p2p', '--world', '8', '--family', 'causal_document', '--seqlen', '64k', '--json', '--check']);
    expect(code).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(j.scheme).toBe('ring_p2p');
    expect(j.stats.flopsFwd).toHaveLength(8);
    expect(j.summary.imbalance).toBeGreaterThanOrEqual(1);
    expect(j.violations).toEqual([]);
  });

  it('prints a table', async () => {
    expect(await main(['cp', 'plan', '--scheme', 'usp', '--world', '16', '--layout', 'ulysses=4', '--family', 'causal', '--seqlen', '32k'])).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/usp P=16 S=32k heads 64:8 D=128 layout ulysses=4,ring=4/);
    expect(text).toMatch(/imbalance 1\.\d{4}/);
  });

  it.each([
    [['--scheme', 'ring_p2p', '--world', '7', '--seqlen', '64k'], /not divisible by 2\*world = 14/],
    [['--scheme', 'ulysses', '--world', '16', '--seqlen', '64k'], /ulysses degree 16 exceeds the 8 KV heads/],
    [['--scheme', 'usp', '--world', '8', '--layout', 'ulysses=2,ring=2', '--seqlen', '64k'], /do not multiply to world 8/],
    [['--scheme', 'loongtrain', '--world', '8', '--layout', 'hp=1,window=3', '--seqlen', '64k'], /window 3 does not divide/],
    [['--scheme', 'nope', '--world', '8', '--seqlen', '64k'], /unknown --scheme 'nope'/],
    [['--scheme', 'dispatch', '--world', '8', '--layout', 'bogus=1', '--seqlen', '64k'], /unknown layout key 'bogus'/],
    [['--scheme', 'ring_p2p', '--world', '8', '--seqlen', '64k', '--family', 'block_sparse'], /differ per head/],
  ])('bad input %j: one line, exit 2', async (args, message) => {
    const family = args.includes('--family') ? [] : ['--family', 'causal'];
    expect(await main(['cp', 'plan', ...args, ...family])).toBe(2);
    const text = err.join('');
    expect(text).toMatch(message);
    expect(text.trim().split('\n')).toHaveLength(1);
  });
});

describe('attnbench cp run', () => {
  it('runs on worker threads, appends result rows and writes traces', async () => {
    const file = path.join(dir, 'cp.jsonl');
    const traces = path.join(dir, 'traces');
    const code = await main([
      'cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p,dispatch', '--world', '4', '--family', 'causal',
      '--seqlen', '256', '--heads', '4:2', '--head-dim', '16', '--out', file, '--trace', traces,
    ]);
    expect(code).toBe(0);
    const rows = readJsonl(file).map((r) => ResultRowSchema.parse(r));
    expect(rows.map((r) => `${r.scheme}/${r.direction}`)).toEqual(['ring_p2p/fwd', 'ring_p2p/bwd', 'dispatch/fwd', 'dispatch/bwd']);
    for (const r of rows) {
      expect(r.suite).toBe('cp');
      expect(r.status).toBe('ok');
      expect(r.world).toBe(4);
      expect(r.error?.exceedsTolerance).toBe(false);
      expect(r.ranks).toHaveLength(4);
    }
    const trace = JSON.parse(fs.readFileSync(path.join(traces, 'ring_p2p-causal-256-P4.trace.json'), 'utf8'));
    const pids = new Set(trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X').map((e: { pid: number }) => e.pid));
    expect([...pids].sort()).toEqual([0, 1, 2, 3]);
    expect(out.join('')).toMatch(/4 row\(s\)/);
  });

  describe('--resume on the cpu executor', () => {
    const run = (file: string, ...extra: string[]) =>
      main(['cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p,dispatch', '--world', '2', '--family', 'causal', '--seqlen', '256', '--heads', '4:2', '--head-dim', '16', '--out', file, ...extra]);

    it('a second run into the same --out measures nothing, keeps the rows and says so', async () => {
      const file = path.join(dir, 'cp.jsonl');
      expect(await run(file, '--resume')).toBe(0); // nothing in --out yet: runs everything
      expect(err.join('')).not.toMatch(/already in/);
      const first = fs.readFileSync(file, 'utf8');
      expect(readJsonl<{ status: string }>(file).map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
      out.length = 0;
      err.length = 0;
      expect(await run(file, '--resume')).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).toBe(first);
      expect(err.join('').trim().split('\n')).toEqual([`2 case(s) already in ${file}: skipped (--resume)`]);
      expect(out.join('').trim().split('\n')).toEqual([`0 row(s) -> ${file}: all 2 case(s) already in it (--resume)`]);
      // Without --resume every case runs again.
      err.length = 0;
      expect(await run(file)).toBe(0);
      expect(err.join('')).toMatch(/running ring_p2p .*\n.*running dispatch /s);
      expect(readJsonl(file)).toHaveLength(8);
    });

    it('runs again a case with a direction missing in --out, or (--retry error) whose last row is an error', async () => {
      const file = path.join(dir, 'cp.jsonl');
      expect(await run(file)).toBe(0);
      type Row = { scheme: string; direction: string; status: string; message?: string | null };
      const rows = readJsonl<Row>(file);
      // ring_p2p: its bwd row failed; dispatch: its bwd row is missing.
      const kept = rows
        .filter((r) => !(r.scheme === 'dispatch' && r.direction === 'bwd'))
        .map((r) => (r.scheme === 'ring_p2p' && r.direction === 'bwd' ? { ...r, status: 'error', message: 'boom' } : r));
      fs.writeFileSync(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
      err.length = 0;
      expect(await run(file, '--resume', '--retry', 'error')).toBe(0);
      expect(err.join('')).not.toMatch(/already in/);
      expect(err.join('')).toMatch(/running ring_p2p .*\n.*running dispatch /s);
      // both cases run again (fwd and bwd together), but only their unsettled rows are written: one row per case id
      expect(readJsonl<Row>(file).slice(3).map((r) => `${r.scheme}/${r.direction}/${r.status}`)).toEqual(['ring_p2p/bwd/ok', 'dispatch/bwd/ok']);

      // Now only the dispatch case lacks an ok row: ring_p2p is skipped, dispatch runs.
      const now = readJsonl<Row>(file).filter((r) => !(r.scheme === 'dispatch' && r.direction === 'fwd'));
      fs.writeFileSync(file, now.map((r) => `${JSON.stringify(r)}\n`).join(''));
      err.length = 0;
      out.length = 0;
      expect(await run(file, '--resume')).toBe(0);
      const text = err.join('');
      expect(text).toContain(`1 case(s) already in ${file}: skipped (--resume)\n`);
      expect(text).toMatch(/running dispatch /);
      expect(text).not.toMatch(/running ring_p2p /);
      expect(out.join('')).toMatch(new RegExp(`^1 row\\(s\\) -> ${file}$`, 'm')); // dispatch fwd only: its bwd row is settled
    });
  });

  it('rejects torch flags on the cpu executor', async () => {
    expect(await main(['cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '256', '--nproc-per-node', '2'])).toBe(2);
    expect(err.join('').trim().split('\n')).toEqual(['attnbench: usage: --nproc-per-node is for --executor torch']);
  });
});

/** Does this python import torch? (null: no such python) */
function pythonHasTorch(python: string): boolean | null {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  if (r.error) return null;
  return r.status === 0;
}

describe('attnbench cp run --executor torch', () => {
  const small = ['--heads', '4:2', '--head-dim', '16'];

  it('--plan-dir: writes the job folder and prints the torchrun command (several nodes)', async () => {
    const jobs = path.join(dir, 'jobs');
    const code = await main([
      'cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p,dispatch', '--family', 'causal,full_document', '--tokens-per-rank', '256',
      '--nproc-per-node', '4', '--nnodes', '2', '--rdzv-endpoint', 'gpu-node-0:29400', '--rdzv-id', 'job42', '--timeout', '120', ...small,
      '--python', '/opt/venv/bin/python', '--plan-dir', jobs,
    ]);
    expect(code).toBe(0);
    // The index lists one manifest per case, family-major, each planned for 8 ranks of 256 tokens.
    const index = JSON.parse(fs.readFileSync(path.join(jobs, 'index.json'), 'utf8'));
    expect(index.format).toBe('attnbench.cp.index');
    const cases = index.manifests.map((m: string) => readManifest(path.join(jobs, m)).case);
    expect(cases.map((c: { scheme: string; family: string }) => `${c.scheme}/${c.family}`)).toEqual([
      'ring_p2p/causal', 'dispatch/causal', 'ring_p2p/full_document', 'dispatch/full_document',
    ]);
    for (const c of cases) expect([c.world, c.seqlen, c.headsQ, c.headsKv, c.headDim, c.dtype]).toEqual([8, 2048, 4, 2, 16, 'bfloat16']);
    const text = out.join('');
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^4 case\(s\), 4 process\(es\) x 2 node\(s\), nccl on cuda -> /);
    const cmd = lines[lines.findIndex((l) => l.startsWith('run on each of the 2 nodes')) + 1].trim();
    expect(cmd).toContain('NCCL_NVLS_ENABLE=0');
    expect(cmd).toMatch(/^PYTHONPATH=\S*python /);
    expect(cmd).toContain(
      '/opt/venv/bin/python -m torch.distributed.run --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d --rdzv_endpoint gpu-node-0:29400 --rdzv_id job42 ' +
        `-m attnbench_worker.cp run ${jobs}/index.json --out ${jobs}/results.raw.jsonl --backend nccl --device cuda --timeout 120 --resume`,
    );
    expect(fs.existsSync(path.join(jobs, 'results.raw.jsonl'))).toBe(false); // nothing ran
  });

  it('--plan-dir: one node is a standalone torchrun, --virtual-ranks one python process', async () => {
    const one = path.join(dir, 'one');
    expect(await main(['cp', 'run', '--executor', 'torch', '--scheme', 'usp', '--family', 'causal', '--world', '4', '--seqlen', '1k', ...small, '--plan-dir', one])).toBe(0);
    expect(out.join('')).toContain(`-m torch.distributed.run --standalone --nnodes 1 --nproc_per_node 4 -m attnbench_worker.cp run ${one}/index.json`);
    out.length = 0;
    const virt = path.join(dir, 'virt');
    const code = await main([
      'cp', 'run', '--executor', 'torch', '--scheme', 'ulysses', '--family', 'causal', '--virtual-ranks', '2', '--seqlen', '512', ...small,
      '--device', 'cpu', '--kernel', 'reference', '--plan-dir', virt,
    ]);
    expect(code).toBe(0);
    expect(out.join('')).toContain(`-m attnbench_worker.cp run ${virt}/index.json --out ${virt}/results.raw.jsonl --device cpu --timeout 600 --resume --virtual-ranks 2`);
    expect(out.join('')).not.toContain('torch.distributed.run');
    const m = readManifest(path.join(virt, JSON.parse(fs.readFileSync(path.join(virt, 'index.json'), 'utf8')).manifests[0]));
    expect([m.case.world, m.case.dtype, m.case.kernel]).toEqual([2, 'float32', 'reference']);
    expect(m.masks.every((e) => Object.keys(e.arrays).length === 0)).toBe(true); // no flex, no block tables
  });

  it('--preset paper-cp: every scheme x the four families at 8k tokens per rank', async () => {
    const jobs = path.join(dir, 'paper');
    expect(await main(['cp', 'run', '--executor', 'torch', '--preset', 'paper-cp', '--world', '2', '--scheme', 'ring_p2p,ulysses', '--plan-dir', jobs])).toBe(0);
    const index = JSON.parse(fs.readFileSync(path.join(jobs, 'index.json'), 'utf8'));
    const cases = index.manifests.map((m: string) => readManifest(path.join(jobs, m)).case);
    expect(cases).toHaveLength(8);
    expect(new Set(cases.map((c: { family: string }) => c.family))).toEqual(new Set(['full', 'causal', 'full_document', 'causal_document']));
    for (const c of cases) expect([c.world, c.seqlen, c.headsQ, c.headsKv, c.headDim, c.dtype]).toEqual([2, 16384, 64, 8, 128, 'bfloat16']);
  });

  it('--python that does not exist: exit 2, one line', async () => {
    const args = ['cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p', '--family', 'causal', '--world', '2', '--seqlen', '256', ...small];
    expect(await main([...args, '--python', '/nonexistent/python3', '--out', path.join(dir, 'r.jsonl')])).toBe(2);
    expect(err.join('').trim().split('\n')).toEqual([`attnbench: unavailable: python not found: '/nonexistent/python3' (pass --python or set ATTNBENCH_PYTHON)`]);
    expect(fs.existsSync(path.join(dir, 'r.jsonl'))).toBe(false);
  });

  it('a --python that never answers: exit 2 within the boot limit, one line naming it, nothing written (it waited 120 s)', async () => {
    const python = path.join(dir, 'python');
    fs.writeFileSync(python, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const args = ['cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p', '--family', 'causal', '--world', '2', '--seqlen', '256', ...small];
    const old = process.env.ATTNBENCH_WORKER_BOOT_S;
    process.env.ATTNBENCH_WORKER_BOOT_S = '1';
    try {
      const t0 = Date.now();
      expect(await main([...args, '--python', python, '--device', 'cpu', '--out', path.join(dir, 'r.jsonl')])).toBe(2);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      if (old === undefined) delete process.env.ATTNBENCH_WORKER_BOOT_S;
      else process.env.ATTNBENCH_WORKER_BOOT_S = old;
    }
    expect(err.join('').trim().split('\n')).toEqual([
      `attnbench: unavailable: python '${python}' did not start the torch check within 1 s (no boot line: not a python 3 interpreter? pass --python or set ATTNBENCH_PYTHON; ATTNBENCH_WORKER_BOOT_S=<seconds> allows a slower start)`,
    ]);
    expect(fs.readdirSync(dir)).toEqual(['python']);
  });

  it.skipIf(pythonHasTorch('python3') !== false)('a python without torch: exit 2, "torch is not installed for python3"', async () => {
    const args = ['cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p', '--family', 'causal', '--world', '2', '--seqlen', '256', ...small];
    expect(await main([...args, '--python', 'python3', '--device', 'cpu', '--out', path.join(dir, 'r.jsonl')])).toBe(2);
    expect(err.join('').trim().split('\n')).toEqual(['attnbench: unavailable: torch is not installed for python3']);
    expect(fs.existsSync(path.join(dir, 'r.jsonl'))).toBe(false);
  });

  it.each([
    [['--world', '4', '--nproc-per-node', '2'], /usage: --world 4 does not match --nproc-per-node 2 x --nnodes 1 = 2 ranks/],
    [['--world', '4', '--virtual-ranks', '2'], /usage: --world 4 does not match --virtual-ranks 2/],
    [['--world', '8', '--scheme', 'ulysses', '--heads', '12:4'], /bad_input: ulysses causal S=1k P=8: ulysses degree 8 does not divide the 12 query heads/],
    [['--world', '16', '--scheme', 'ulysses', '--layout', 'replicate_kv=0'], /ulysses degree 16 exceeds the 8 KV heads/],
    [['--world', '2', '--device', 'cpu', '--backend', 'nccl'], /usage: --backend nccl needs --device cuda/],
    [['--world', '2', '--virtual-ranks', '2', '--nproc-per-node', '2'], /usage: --virtual-ranks runs every rank in one process: drop --nproc-per-node/],
    [['--world', '4', '--nnodes', '2'], /usage: --nnodes above 1 needs --rdzv-endpoint/],
    [['--world', '4', '--nnodes', '2', '--rdzv-endpoint', 'h:1', '--node-rank', '2'], /usage: --node-rank must be in 0\.\.1/],
    [['--world', '2', '--kernel', 'fast'], /usage: --kernel must be auto, reference or one of flex, triton_ranges/],
    [['--nproc-per-node', '2', '--tokens-per-rank', '1k'], /usage: give --seqlen or --tokens-per-rank, not both/],
    [['--world', '2', '--preset', 'paper-cp'], /usage: --preset paper-cp sets the length per rank: use --tokens-per-rank/],
    [['--world', '2', '--preset', 'nope'], /bad_input: unknown CP preset 'nope' \(known: paper-cp\)/],
  ])('bad input %j: one line, exit 2, nothing written', async (args, message) => {
    const scheme = args.includes('--scheme') ? [] : ['--scheme', 'ring_p2p'];
    const heads = args.includes('--heads') ? [] : ['--heads', '64:8'];
    const jobs = path.join(dir, 'jobs');
    const code = await main(['cp', 'run', '--executor', 'torch', ...scheme, '--family', 'causal', '--seqlen', '1k', ...heads, ...args, '--python', '/nonexistent', '--plan-dir', jobs]);
    expect(code).toBe(2);
    const text = err.join('');
    expect(text).toMatch(message);
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(jobs)).toBe(false);
  });
});

describe('attnbench cp sbatch', () => {
  it('writes the job folder and a Slurm script: #SBATCH lines, NCCL env, srun torchrun with the rendezvous on the first node', async () => {
    const jobs = path.join(dir, 'slurm');
    const code = await main([
      'cp', 'sbatch', '--nodes', '2', '--gpus-per-node', '4', '--time', '90', '--partition', 'gpu', '--account', 'proj7', '--job-name', 'cp-test',
      '--scheme', 'ring_p2p,usp', '--family', 'causal', '--tokens-per-rank', '256', '--heads', '8:4', '--head-dim', '16',
      '--setup', 'module load cuda/12.4', '--python', '/shared/venv/bin/python', '--repo-root', '/shared/attnbench', '--dir', jobs,
    ]);
    expect(code).toBe(0);
    const script = path.join(jobs, 'attnbench-cp.sbatch');
    expect(out.join('')).toContain(`script: ${script}\nsubmit: sbatch ${script}\n`);
    expect(fs.statSync(script).mode & 0o111).not.toBe(0);
    const lines = fs.readFileSync(script, 'utf8').split('\n');
    expect(lines[0]).toBe('#!/bin/bash');
    for (const l of [
      '#SBATCH --job-name=cp-test', '#SBATCH --nodes=2', '#SBATCH --ntasks-per-node=1', '#SBATCH --gpus-per-node=4', '#SBATCH --time=01:30:00',
      '#SBATCH --partition=gpu', '#SBATCH --account=proj7', `#SBATCH --output=${jobs}/slurm-%j.out`,
      'export NCCL_NVLS_ENABLE=0', 'export TORCH_NCCL_ASYNC_ERROR_HANDLING=1', 'export PYTHONPATH=/shared/attnbench/python${PYTHONPATH:+:$PYTHONPATH}',
      'module load cuda/12.4', 'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    ])
      expect(lines).toContain(l);
    const srun = lines.findIndex((l) => l.startsWith('srun --nodes=2 --ntasks-per-node=1'));
    expect(srun).toBeGreaterThan(lines.indexOf('module load cuda/12.4'));
    expect(lines[srun + 1].trim()).toBe(
      '/shared/venv/bin/python -m torch.distributed.run --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d --rdzv_endpoint "$head_node:$rdzv_port" --rdzv_id "$SLURM_JOB_ID" ' +
        `-m attnbench_worker.cp run ${jobs}/index.json --out ${jobs}/results.raw.jsonl --backend nccl --device cuda --timeout 600 --resume`,
    );
    // The job folder the script names: both cases, planned for the 8 ranks of the allocation.
    const index = JSON.parse(fs.readFileSync(path.join(jobs, 'index.json'), 'utf8'));
    const cases = index.manifests.map((m: string) => readManifest(path.join(jobs, m)).case);
    expect(cases.map((c: { scheme: string; world: number; seqlen: number }) => [c.scheme, c.world, c.seqlen])).toEqual([['ring_p2p', 8, 2048], ['usp', 8, 2048]]);
  });

  it.each([
    [['--nodes', '2', '--gpus-per-node', '4', '--world', '4'], /usage: --world 4 does not match --nodes 2 x --gpus-per-node 4 = 8 ranks/],
    [['--nodes', '1', '--time', 'soon'], /usage: --time must be minutes or \[D-\]HH:MM:SS/],
    [['--gpus-per-node', '4'], /usage: missing required option --nodes/],
  ])('bad input %j: one line, exit 2, nothing written', async (args, message) => {
    const jobs = path.join(dir, 'slurm');
    expect(await main(['cp', 'sbatch', '--scheme', 'ring_p2p', '--family', 'causal', '--seqlen', '1k', ...args, '--dir', jobs])).toBe(2);
    expect(err.join('')).toMatch(message);
    expect(err.join('').trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(jobs)).toBe(false);
  });
});
