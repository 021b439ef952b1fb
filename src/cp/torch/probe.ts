// Can this python run the GPU CP executor? One short `python -c` (imports torch, counts GPUs,
// asks for NCCL / gloo) before anything is launched, so a missing python, torch or GPU is one
// clear line instead of a torchrun traceback per rank. probeTorch does the I/O; torchProblem
// decides (pure).
import { spawn } from 'node:child_process';
import { AttnbenchError } from '../../errors.js';

/** What the python reported, or why it could not. */
export type TorchProbe =
  | { readonly kind: 'ok'; readonly torch: string; readonly cuda: boolean; readonly gpus: number; readonly nccl: boolean; readonly gloo: boolean }
  | { readonly kind: 'no_python'; readonly message: string }
  | { readonly kind: 'no_torch'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

/** What the launch needs from the python of this node. */
export interface TorchNeeds {
  readonly device: 'cuda' | 'cpu';
  /** Real ranks: the collective backend; absent for --virtual-ranks. */
  readonly backend?: 'nccl' | 'gloo';
  /** GPUs this node's processes use (nproc-per-node, or 1 for virtual ranks). */
  readonly gpus: number;
}

const SCRIPT = `
import json, sys
try:
    import torch
except Exception as e:
    print(json.dumps({"torch": None, "missing": isinstance(e, ModuleNotFoundError) and e.name == "torch", "error": f"{type(e).__name__}: {e}"}))
    sys.exit(0)
import torch.distributed as dist
d = dist.is_available()
print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(), "gpus": torch.cuda.device_count(),
                  "nccl": bool(d and dist.is_nccl_available()), "gloo": bool(d and dist.is_gloo_available())}))
`;

/** Runs the probe; never throws (a missing python is a result). */
export function probeTorch(python: string, timeoutMs = 120_000): Promise<TorchProbe> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let done = false;
    const finish = (p: TorchProbe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(p);
    };
    const child = spawn(python, ['-c', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ kind: 'failed', message: `${python} did not answer within ${timeoutMs / 1000} s (importing torch)` });
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish(
        e.code === 'ENOENT'
          ? { kind: 'no_python', message: `python not found: '${python}' (pass --python or set ATTNBENCH_PYTHON)` }
          : { kind: 'no_python', message: `cannot run python '${python}': ${e.code ?? e.message}` },
      ),
    );
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      let j: Record<string, unknown> | null = null;
      try {
        j = JSON.parse(line) as Record<string, unknown>;
      } catch {
        j = null;
      }
      if (!j) {
        const last = err.trim().split('\n').pop() ?? '';
        return finish({ kind: 'failed', message: `${python} exited with code ${code} while checking for torch${last ? `: ${last}` : ''}` });
      }
      if (j.torch === null) {
        return finish(
          j.missing
            ? { kind: 'no_torch', message: `torch is not installed for ${python}` }
            : { kind: 'no_torch', message: `torch cannot be imported by ${python}: ${String(j.error)}` },
        );
      }
      finish({ kind: 'ok', torch: String(j.torch), cuda: j.cuda === true, gpus: Number(j.gpus) || 0, nccl: j.nccl === true, gloo: j.gloo === true });
    });
  });
}

/** Why this python cannot run the launch, or null when it can. */
export function torchProblem(p: TorchProbe, python: string, need: TorchNeeds): string | null {
  if (p.kind !== 'ok') return p.message;
  if (need.device === 'cuda') {
    if (!p.cuda || p.gpus === 0) return `no CUDA GPU is visible to ${python} (torch ${p.torch}); use --device cpu --backend gloo to run on CPU tensors`;
    if (p.gpus < need.gpus) return `${need.gpus} processes per node need ${need.gpus} GPUs but ${python} sees ${p.gpus}`;
  }
  if (need.backend === 'nccl' && !p.nccl) return `torch ${p.torch} for ${python} has no NCCL backend; use --backend gloo`;
  if (need.backend === 'gloo' && !p.gloo) return `torch ${p.torch} for ${python} has no gloo backend`;
  return null;
}

/** Probes and throws one line (exit 2) when the python cannot run the launch. */
export async function requireTorch(python: string, need: TorchNeeds): Promise<Extract<TorchProbe, { kind: 'ok' }>> {
  const p = await probeTorch(python);
  const problem = torchProblem(p, python, need);
  if (problem !== null || p.kind !== 'ok') throw new AttnbenchError('unavailable', problem ?? 'torch check failed', 2);
  return p;
}
