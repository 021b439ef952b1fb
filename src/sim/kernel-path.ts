// A row's kernel path: the kernel id plus the input path or mask form when one kernel id runs
// differently costed calls (issue 15). One curve per path; host paths carry host time in their
// launch constant.
import type { ResultRow } from '../results/schema.js';
import { FLEX_FORM_PATHS, flexPathSuffix } from './flex-form.js';

/**
 * The kernel id, with the input path when one kernel id has several with different costs: SDPA
 * backends on documents run through nested (jagged) tensors ('@varlen') and on other masks
 * through a dense boolean mask ('@dense'); flex's rows that ran the slice predicate as mask_mod
 * ('@slices', flex-form.ts; row tables are plain `flex`); each path gets its own curve.
 */
export function kernelPath(r: Pick<ResultRow, 'kernel' | 'notes'>): string {
  const k = r.kernel ?? 'unknown';
  const notes = r.notes ?? [];
  if (k === 'flex') return `${k}${flexPathSuffix(notes)}`;
  if (notes.some((n) => /nested \(jagged\) tensors/.test(n))) return `${k}${nestedTiming(notes)}`;
  if (notes.some((n) => /^dense boolean attn_mask/.test(n))) return `${k}@dense`;
  return k;
}

/**
 * Input paths whose calls include host work (nested tensors, dense masks, the CP executor's calls):
 * their launch constant is host time, measured as such, and never capped. flex's '@slices' and
 * '@coarse' are mask forms, not host work: plain paths.
 */
export function hostPath(kernelPath: string): boolean {
  return kernelPath.includes('@') && !FLEX_FORM_PATHS.some((p) => kernelPath.endsWith(p)) && !kernelPath.endsWith(VARLEN_GPU);
}

/**
 * Nested-tensor rows by how they were timed (one curve each; a row's span holds different things):
 * - '@varlen': no host cover (the rows before 2026-12-06): host time in the span, SDPA's jagged path
 *   synced on every call (it reads min_seqlen back from the GPU unless given; the worker gives it since);
 * - '@varlen-gpu': the host cover on and never outrun: GPU time, as in a training step whose host runs
 *   ahead; a plain path;
 * - '@varlen-sync': the cover on but outrun (a sync left in the call, e.g. cuDNN's): part host time.
 */
export const VARLEN_GPU = '@varlen-gpu';
export const VARLEN_SYNC = '@varlen-sync';

function nestedTiming(notes: readonly string[]): string {
  if (!notes.some((n) => /spans are GPU time/.test(n))) return '@varlen';
  return notes.some((n) => /host outran the sleep/.test(n)) ? VARLEN_SYNC : VARLEN_GPU;
}

/** Paths whose launches tile each document from its own start (nested tensors, any timing). */
export function perDocumentPath(kernelPath: string): boolean {
  return /@varlen(-gpu|-sync)?$/.test(kernelPath);
}

/** Nested-tensor paths whose spans hold host time that does not follow S (issue 15): host floor form. */
export function nestedPath(kernelPath: string): boolean {
  return kernelPath.endsWith('@varlen') || kernelPath.endsWith(VARLEN_SYNC);
}
