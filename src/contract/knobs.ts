// The A/B knobs read from the environment, one table for both languages (src/contract/tables.ts
// carries it to python/attnbench_worker/tables.json; python reads them through tables.env_knob).
// Each maps to the values it takes; unset or empty is the default. The commands that start a worker
// check them first (src/cli/worker-env.ts): a value outside the list is one line and exit 2 before
// anything is written.
export const ENV_KNOBS: Readonly<Record<string, readonly string[]>> = {
  ATTNBENCH_FLEX_MASK: ['auto', 'slices', 'rows'], // flex's mask_mod form, both directions (kernel suite and CP)
  ATTNBENCH_FLEX_CP_MASK: ['auto', 'slices', 'rows'], // the same for CP steps only
  ATTNBENCH_FLEX_BLOCK: ['auto', 'native', '128'], // flex on 64-blocks: the mask's own blocks, or 128-blocks + a block bitmap
  ATTNBENCH_FLEX_CP_DYNAMIC: ['0', '1'], // 0: flex's CP calls compiled per shape from the first call
  ATTNBENCH_CP_HOST_COVER: ['0', '1'], // 0: no GPU sleep covering the host's launches (virtual ranks)
  ATTNBENCH_CP_GC: ['0', '1'], // 1: Python's GC left on during timed CP runs
  ATTNBENCH_KERNEL_HOST_COVER: ['0', '1'], // 1: a GPU sleep before each timed kernel call covers the host's launches
  ATTNBENCH_RANGES_TILES: ['auto', 'block', '128'], // triton_ranges on 64-blocks: tiles by estimate, the blocks' own, or 128-key (read by the planner)
};
