// The A/B knobs read from the environment: the python worker's (python/attnbench_worker: kernels/flex.py,
// cp/timing.py) and triton_ranges' tile choice (read when the jobs are planned: src/kernels/gpu/triton_ranges.ts). The worker would take a misspelt value as the default, or fail every job with it, so
// the commands that start a worker check them first: a value outside the list is one line and exit 2
// before anything is written. Empty counts as unset.
import { usage } from '../errors.js';

export const WORKER_KNOBS: Readonly<Record<string, readonly string[]>> = {
  ATTNBENCH_FLEX_MASK: ['auto', 'slices', 'rows'], // flex's mask_mod form, both directions (kernel suite and CP)
  ATTNBENCH_FLEX_CP_MASK: ['auto', 'slices', 'rows'], // the same for CP steps only
  ATTNBENCH_FLEX_BLOCK: ['auto', 'native', '128'], // flex on 64-blocks: the mask's own blocks, or 128-blocks + a block bitmap
  ATTNBENCH_FLEX_CP_DYNAMIC: ['0', '1'], // 0: flex's CP calls compiled per shape from the first call
  ATTNBENCH_CP_HOST_COVER: ['0', '1'], // 0: no GPU sleep covering the host's launches (virtual ranks)
  ATTNBENCH_CP_GC: ['0', '1'], // 1: Python's GC left on during timed CP runs
  ATTNBENCH_KERNEL_HOST_COVER: ['0', '1'], // 1: a GPU sleep before each timed kernel call covers the host's launches
  ATTNBENCH_RANGES_TILES: ['auto', 'block', '128'], // triton_ranges on 64-blocks: tiles by estimate, the blocks' own, or 128-key (read by the planner)
};

/** Commands that start a worker (and `run`, whose stages do). */
export const WORKER_COMMANDS: ReadonlySet<string> = new Set(['kernels', 'cp run', 'run']);

/** Throws a usage error (exit 2) naming the first knob whose value the worker does not know. */
export function checkWorkerEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, values] of Object.entries(WORKER_KNOBS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!values.includes(v)) throw usage(`invalid ${name} '${v}': expected ${values.join(', ')} (or unset)`);
  }
}
