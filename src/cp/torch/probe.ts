// Can this python run the GPU CP executor? One short `python -c` (imports torch, counts GPUs,
// asks for NCCL / gloo) before anything is launched, so a missing python, torch or GPU is one
// clear line instead of a torchrun traceback per rank. Its first line comes before torch is
// imported: a --python that never answers fails within the boot limit (seconds), not the 120 s
// torch limit. probeTorch does the I/O; probeResult and torchProblem decide (pure).
import { AttnbenchError } from '../../errors.js';
import { lastLine, runBooted, type BootedRun } from '../../worker/boot.js';
import { bootLimitMs, noBootError } from '../../worker/client.js';

/** What the python reported, or why it could not. */
export type TorchProbe =
  | { readonly kind: 'ok'; readonly torch: string; readonly cuda: boolean; readonly gpus: number; readonly nccl: boolean; readonly gloo: boolean }
  | { readonly kind: 'no_python'; readonly message: string }
  /** It wrote no boot line within the boot limit: not a python 3 interpreter, or one that never answers. */
  | { readonly kind: 'no_boot'; readonly message: string }
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

export interface ProbeOptions {
  /** Limit for the boot line, written before torch is imported (default $ATTNBENCH_WORKER_BOOT_S, else 30 s). */
  readonly bootMs?: number;
  /** Limit for the rest, importing torch (default 120 s). */
  readonly timeoutMs?: number;
}

// The boot line first: a python that prints nothing within the boot limit is not one (it sleeps,
// reads stdin, or is not a python 3 interpreter), and torch may take minutes to import on a cold node.
const SCRIPT = `
import json, sys
print(json.dumps({"type": "boot"}), flush=True)
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

/**
 * Runs the probe. A missing, silent or broken python is a result; it rejects only for a bad
 * $ATTNBENCH_WORKER_BOOT_S (usage, exit 2).
 */
export async function probeTorch(python: string, o: ProbeOptions = {}): Promise<TorchProbe> {
  const bootMs = o.bootMs ?? bootLimitMs();
  const timeoutMs = o.timeoutMs ?? 120_000;
  return probeResult(await runBooted(python, ['-c', SCRIPT], { bootMs, limitMs: timeoutMs }), python, bootMs, timeoutMs);
}

/** What the probe's run means (pure). */
export function probeResult(r: BootedRun, python: string, bootMs: number, timeoutMs: number): TorchProbe {
  switch (r.kind) {
    case 'spawn_error':
      return r.error.code === 'ENOENT'
        ? { kind: 'no_python', message: `python not found: '${python}' (pass --python or set ATTNBENCH_PYTHON)` }
        : { kind: 'no_python', message: `cannot run python '${python}': ${r.error.code ?? r.error.message}` };
    case 'no_boot':
      return { kind: 'no_boot', message: noBootError(python, 'the torch check', bootMs).message };
    case 'timeout':
      return { kind: 'failed', message: `${python} did not answer within ${timeoutMs / 1000} s (importing torch)` };
    case 'done':
      break;
  }
  let j: Record<string, unknown> | null = null;
  try {
    const v = JSON.parse(lastLine(r.stdout)) as unknown;
    j = typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { type?: unknown }).type !== 'boot' ? (v as Record<string, unknown>) : null;
  } catch {
    j = null;
  }
  if (!j) {
    const last = lastLine(r.stderr);
    const how = r.code === null ? `signal ${r.signal}` : `code ${r.code}`;
    return { kind: 'failed', message: `${python} exited with ${how} while checking for torch${last ? `: ${last}` : ''}` };
  }
  if (j.torch === null) {
    return j.missing
      ? { kind: 'no_torch', message: `torch is not installed for ${python}` }
      : { kind: 'no_torch', message: `torch cannot be imported by ${python}: ${String(j.error)}` };
  }
  return { kind: 'ok', torch: String(j.torch), cuda: j.cuda === true, gpus: Number(j.gpus) || 0, nccl: j.nccl === true, gloo: j.gloo === true };
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
