// Binary min-heaps kept in plain arrays (typed or not) by the caller: the LPT and list-scheduling
// loops of the ranges adapter, dispatch's granule placement and the L2 model share these two
// steps instead of carrying their own copies.

/** A writable array of numbers: number[], Int32Array, Float64Array. */
export type HeapArray = { [i: number]: number };

/** Moves heap[at] down until heap[0, n) is a min-heap again under `less`. */
export function siftDown(heap: HeapArray, at: number, n: number, less: (a: number, b: number) => boolean): void {
  for (;;) {
    const l = 2 * at + 1;
    const r = l + 1;
    let m = at;
    if (l < n && less(heap[l], heap[m])) m = l;
    if (r < n && less(heap[r], heap[m])) m = r;
    if (m === at) return;
    const t = heap[at];
    heap[at] = heap[m];
    heap[m] = t;
    at = m;
  }
}

/** Moves heap[at] up until heap[0, at] is a min-heap again under `less`. */
export function siftUp(heap: HeapArray, at: number, less: (a: number, b: number) => boolean): void {
  while (at > 0) {
    const p = (at - 1) >> 1;
    if (!less(heap[at], heap[p])) return;
    const t = heap[at];
    heap[at] = heap[p];
    heap[p] = t;
    at = p;
  }
}
