// What the CP kernel id 'auto' stands for (issue 13): the partial-attention kernel the CP executor's
// attention steps call when the run names none. One rule for both languages: it travels to python
// in the shared tables (src/contract/tables.ts `cpAuto`; python/attnbench_worker/cp/partial.py
// resolve_kernel_name), and TypeScript uses it for row ids and --resume keys (src/results/case-id.ts
// cpKernelOf) and for which kernels' step arguments the job files carry (src/cp/torch/partial-arrays.ts).
//
// On CUDA: the first candidate whose limits take the case's shape and that can run there (python
// asks the kernel: partial_available / kernel_problem), else the reference. Elsewhere: the reference.
// triton_ranges comes first: on an H100 it ran the CP steps at 2.52-3.95x flex's per-GPU backward
// and 1.28-1.72x its forward (dispatch, ulysses, ring_allgather; causal_document and full_document;
// P = 8 and 4; results/h100/cp/issue13-cp15_p{8,4}.jsonl, same warm machine). flex stays selectable.
import { tritonRanges, RANGES_HEAD_DIMS, RANGES_ROWS } from './gpu/triton_ranges.js';

/** One kernel 'auto' may pick on CUDA, with the shapes it takes (null: any). */
export interface CpAutoCandidate {
  readonly kernel: string;
  readonly headDims: readonly number[] | null;
  readonly dtypes: readonly string[] | null;
  /** Largest query heads per KV head (one GQA group packed in one program), or null. */
  readonly maxGroup: number | null;
}

/** 'auto' on CUDA, in order of preference. */
export const CP_AUTO_CUDA: readonly CpAutoCandidate[] = [
  { kernel: tritonRanges.id, headDims: RANGES_HEAD_DIMS, dtypes: tritonRanges.caps.dtypes, maxGroup: RANGES_ROWS },
  { kernel: 'flex', headDims: null, dtypes: null, maxGroup: null },
];

/** 'auto' where no candidate applies (CPU tensors, or a GPU where none can run: python decides). */
export const CP_AUTO_FALLBACK = 'reference';

/** The shape fields the rule reads. */
export interface CpAutoShape {
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: string;
}

/** Whether a candidate's limits take the shape (the kernel's availability on the device is python's to tell). */
export function takesShape(c: CpAutoCandidate, s: CpAutoShape): boolean {
  const g = s.headsQ / s.headsKv;
  return (
    (c.headDims === null || c.headDims.includes(s.headDim)) &&
    (c.dtypes === null || c.dtypes.includes(s.dtype)) &&
    (c.maxGroup === null || (Number.isInteger(g) && g <= c.maxGroup))
  );
}

/** The kernels 'auto' may run for this shape on `device`, in order (the first is what the rows name when it can run). */
export function cpAutoCandidates(device: string | undefined, shape: CpAutoShape): string[] {
  if (device !== 'cuda') return [];
  return CP_AUTO_CUDA.filter((c) => takesShape(c, shape)).map((c) => c.kernel);
}

/** What 'auto' resolves to for this shape on `device`, when its first candidate can run there. */
export function cpAutoKernel(device: string | undefined, shape: CpAutoShape): string {
  if (device !== 'cuda' && device !== 'cpu') return '-';
  return cpAutoCandidates(device, shape)[0] ?? CP_AUTO_FALLBACK;
}
