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

/** Input path of flex's kernel-suite rows that ran the slice predicate. */
export const FLEX_SLICES_PATH = '@slices';

export type FlexMaskForm = 'rows' | 'slices' | 'blocks' | 'none';

/** The mask_mod form a flex row's notes record: row tables, the slice predicate, or no mask_mod (no partial blocks). */
export function flexMaskForm(notes: readonly string[]): FlexMaskForm {
  if (notes.some((n) => n.includes('mask_mod over per-row key ranges'))) return 'rows';
  // 64-blocks on flex's 128-blocks, the fine blocks in a bitmap (kernels/flex_coarse.py): one gather per cell, as the row tables
  if (notes.some((n) => n.includes('block bitmap on 128-token blocks'))) return 'blocks';
  if (notes.some((n) => n.includes('slice mask_mod') || n.includes('mask_mod over the slice predicate'))) return 'slices';
  if (notes.some((n) => n.includes('(no partial blocks)'))) return 'none';
  // No form note: a row from before the notes said, which ran the predicate.
  return 'slices';
}

/** The path suffix of a flex kernel-suite row: '' (row tables, a block bitmap, or no mask_mod) or FLEX_SLICES_PATH. */
export function flexPathSuffix(notes: readonly string[]): string {
  return flexMaskForm(notes) === 'slices' ? FLEX_SLICES_PATH : '';
}

/** The note of the form the kernel suite takes by default ('auto': row tables on documents), for plans without rows. */
export const FLEX_DEFAULT_NOTE = 'BlockMask from block table + mask_mod over per-row key ranges';
