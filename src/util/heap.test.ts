import { describe, expect, it } from 'vitest';
import { siftDown, siftUp } from './heap.js';

describe('siftUp / siftDown', () => {
  it('push by siftUp and pop by siftDown return any input in ascending order', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 100;
    for (let n = 0; n < 40; n++) {
      const xs = Array.from({ length: n }, () => Math.floor(rand()));
      const heap: number[] = [];
      const less = (a: number, b: number) => a < b;
      for (const x of xs) {
        heap.push(x);
        siftUp(heap, heap.length - 1, less);
      }
      const out: number[] = [];
      while (heap.length) {
        out.push(heap[0]);
        heap[0] = heap[heap.length - 1];
        heap.pop();
        siftDown(heap, 0, heap.length, less);
      }
      expect(out).toEqual([...xs].sort((a, b) => a - b));
    }
  });

  it('siftDown works in a typed array and keys indices by a comparator (ties by index)', () => {
    const load = [3, 1, 1, 0];
    const heap = Int32Array.from([0, 1, 2, 3]);
    const less = (a: number, b: number) => load[a] < load[b] || (load[a] === load[b] && a < b);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, heap.length, less);
    expect(heap[0]).toBe(3);
    load[3] = 5;
    siftDown(heap, 0, heap.length, less);
    expect(heap[0]).toBe(1);
  });
});
