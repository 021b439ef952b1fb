// flex's mask_mod form as part of its identity in the kernel model (issue 15).
//
// Until 2026-12-06 the harness gave flex's partial blocks a "slice predicate" mask_mod (chained
// gathers per cell); since 3668279 the kernel suite gives it per-row key ranges ("row tables"), and
// flex's document backward runs 1.7-2.5x faster on them (H100 32k 64:8,
// results/h100/kernels/flexmask-s13_*.jsonl). A curve fitted on predicate rows predicts the old,
// slower flex, so the two forms are two input paths: row-table rows (and rows with no partial
// blocks, where flex runs no mask_mod at all) are `flex`, predicate rows `flex@slices`.
// The rows say which form they ran in their notes (python/attnbench_worker/kernels/flex.py
// FORM_TEXT; before c90041c the predicate was written "slice mask_mod"); kernel-suite rows without a
// form note predate the notes and ran the predicate.
//
// Masks of blocks finer than flex's 128 tiles (block_sparse with 64-blocks) can run two ways
// (python kernels/flex_coarse.py, ATTNBENCH_FLEX_BLOCK): natively on 64-wide tiles (the mask's own
// blocks are whole tiles: plain `flex`, calibrate.ts kernelTile), or "coarse": flex keeps its own
// 128 x 128 tiles, 128-blocks whose 64-blocks are all kept are full, all dropped are skipped, the rest
// partial with a bitmap mask_mod (one gather per cell). The coarse form does other work on the same
// case (fewer, larger programs; partial tiles where the native form has none): it is the path
// `flex@coarse`, tiled in 128 x 128 blocks, never a later version of a native row of the same id.

/** Input path of flex's kernel-suite rows that ran the slice predicate. */
export const FLEX_SLICES_PATH = '@slices';
/** Input path of flex's rows that ran a finer block mask on its own 128-token blocks (the coarse form). */
export const FLEX_COARSE_PATH = '@coarse';
/** flex's input paths that are mask forms (kernel work), not host work. */
export const FLEX_FORM_PATHS: readonly string[] = [FLEX_SLICES_PATH, FLEX_COARSE_PATH];

export type FlexMaskForm = 'rows' | 'slices' | 'blocks' | 'none';

/** The mask_mod form a flex row's notes record: row tables, the slice predicate, or no mask_mod (no partial blocks). */
export function flexMaskForm(notes: readonly string[]): FlexMaskForm {
  if (notes.some((n) => n.includes('mask_mod over per-row key ranges'))) return 'rows';
  // 64-blocks on flex's 128-blocks, the fine blocks in a bitmap (kernels/flex_coarse.py): one gather per cell (the path flex@coarse)
  if (notes.some((n) => n.includes('block bitmap on 128-token blocks'))) return 'blocks';
  if (notes.some((n) => n.includes('slice mask_mod') || n.includes('mask_mod over the slice predicate'))) return 'slices';
  if (notes.some((n) => n.includes('(no partial blocks)'))) return 'none';
  // No form note: a row from before the notes said, which ran the predicate.
  return 'slices';
}

/**
 * Whether a flex row ran a finer block mask on flex's own 128-token blocks (the coarse form): with
 * partial blocks its notes name the bitmap ("... block bitmap on 128-token blocks"), without them
 * (every 128-block all kept or all dropped) "64-token blocks on 128-token blocks (ATTNBENCH_FLEX_BLOCK)".
 */
export function flexCoarse(notes: readonly string[]): boolean {
  return notes.some((n) => n.includes('block bitmap on 128-token blocks') || /\d+-token blocks on 128-token blocks/.test(n));
}

/** The path suffix of a flex kernel-suite row: FLEX_COARSE_PATH, FLEX_SLICES_PATH, or '' (row tables or no mask_mod). */
export function flexPathSuffix(notes: readonly string[]): string {
  if (flexCoarse(notes)) return FLEX_COARSE_PATH;
  return flexMaskForm(notes) === 'slices' ? FLEX_SLICES_PATH : '';
}

/** The note of the form the kernel suite takes by default ('auto': row tables on documents), for plans without rows. */
export const FLEX_DEFAULT_NOTE = 'BlockMask from block table + mask_mod over per-row key ranges';
