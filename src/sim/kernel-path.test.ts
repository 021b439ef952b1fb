import { describe, expect, it } from 'vitest';
import { hostPath, kernelPath, nestedPath, perDocumentPath, VARLEN_GPU, VARLEN_SYNC } from './kernel-path.js';

const NESTED = 'via nested (jagged) tensors';
const COVER = "timing: a GPU sleep before each run covers the host's launches (spans are GPU time)";
const OUTRAN = 'timing: the host outran the sleep in 20 run(s) (spans may hold host gaps there)';

describe('kernelPath of nested-tensor rows', () => {
  it('host time in the span (no cover, or the host outran it) is a host path, one per timing', () => {
    for (const [notes, path] of [[[NESTED], '@varlen'], [[NESTED, COVER, OUTRAN], VARLEN_SYNC]] as const) {
      const p = kernelPath({ kernel: 'sdpa_efficient', notes: [...notes] });
      expect(p).toBe(`sdpa_efficient${path}`);
      expect(hostPath(p)).toBe(true);
      expect(nestedPath(p)).toBe(true);
      expect(perDocumentPath(p)).toBe(true);
    }
  });

  it('covered and never outrun is GPU time: a plain path, still tiled per document', () => {
    const p = kernelPath({ kernel: 'sdpa_efficient', notes: [NESTED, COVER] });
    expect(p).toBe(`sdpa_efficient${VARLEN_GPU}`);
    expect(hostPath(p)).toBe(false);
    expect(nestedPath(p)).toBe(false);
    expect(perDocumentPath(p)).toBe(true);
  });

  it('the cover alone changes nothing for other paths', () => {
    expect(kernelPath({ kernel: 'sdpa_flash', notes: [COVER] })).toBe('sdpa_flash');
    expect(kernelPath({ kernel: 'sdpa_cudnn', notes: ['dense boolean attn_mask', COVER] })).toBe('sdpa_cudnn@dense');
    expect(hostPath('sdpa_cudnn@dense')).toBe(true);
  });
});
