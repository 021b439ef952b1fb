// Which buffers each step reads and writes, and buffer lifetimes (peak buffer memory per rank).
// Shared by the checker, the statistics and the executors, so they agree on step semantics.
import type { BufferDesc, RankProgram, Step } from './types.js';
import { CP_INPUTS, CP_OUTPUTS } from './types.js';

/**
 * How a step writes a buffer:
 *   recv    created by a communication (must not exist yet; complete at the step or its wait)
 *   write   created or overwritten (attn out)
 *   update  created zero-filled when absent, else read-modify-write (merge, accumulate, copy,
 *           attn_bwd dq / dkv)
 */
export type WriteKind = 'recv' | 'write' | 'update';

export interface StepAccess {
  readonly reads: readonly string[];
  readonly writes: readonly { readonly buf: string; readonly kind: WriteKind }[];
}

export function stepAccess(s: Step): StepAccess {
  switch (s.kind) {
    case 'p2p':
      return {
        reads: s.ops.filter((o) => o.op === 'send').map((o) => o.buf),
        writes: s.ops.filter((o) => o.op === 'recv').map((o) => ({ buf: o.buf, kind: 'recv' as const })),
      };
    case 'all_to_all':
      return { reads: s.send, writes: s.recv.map((buf) => ({ buf, kind: 'recv' as const })) };
    case 'all_gather':
    case 'reduce_scatter':
      return { reads: [s.input], writes: [{ buf: s.output, kind: 'recv' }] };
    case 'wait':
      return { reads: [], writes: [] };
    case 'attn':
      return { reads: [s.q, s.kv], writes: [{ buf: s.out, kind: 'write' }] };
    case 'merge':
      return { reads: [s.from], writes: [{ buf: s.into, kind: 'update' }] };
    case 'attn_bwd':
      return {
        reads: [...new Set([s.q, s.kv, s.o, s.lse, s.dout])],
        writes: [
          { buf: s.dq, kind: 'update' },
          { buf: s.dkv, kind: 'update' },
        ],
      };
    case 'accumulate':
    case 'copy':
      return { reads: [s.from], writes: [{ buf: s.into, kind: 'update' }] };
  }
}

/**
 * Peak bytes of live buffers over the rank's program (forward then backward). A buffer lives
 * from the step that first writes it (inputs q, kv from the start; do from the start of the
 * backward) to the last step that touches it; the outputs o, dq, dkv and the inputs live to the end.
 */
export function peakBufferBytes(rp: RankProgram): number {
  const n = rp.forward.length + rp.backward.length;
  const birth = new Map<string, number>();
  const death = new Map<string, number>();
  const touch = (b: string, t: number) => {
    if (!birth.has(b)) birth.set(b, t);
    death.set(b, t);
  };
  birth.set(CP_INPUTS.q, 0);
  birth.set(CP_INPUTS.kv, 0);
  birth.set(CP_INPUTS.do, rp.forward.length);
  let t = 0;
  for (const s of [...rp.forward, ...rp.backward]) {
    const a = stepAccess(s);
    for (const b of a.reads) touch(b, t);
    for (const w of a.writes) touch(w.buf, t);
    t++;
  }
  for (const b of [CP_INPUTS.q, CP_INPUTS.kv, CP_INPUTS.do, CP_OUTPUTS.o, CP_OUTPUTS.dq, CP_OUTPUTS.dkv]) {
    if (birth.has(b)) death.set(b, Math.max(n, death.get(b) ?? 0));
  }
  const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
  const delta = new Float64Array(n + 2);
  for (const [b, t0] of birth) {
    const bytes = desc.get(b)?.bytes ?? 0;
    delta[t0] += bytes;
    delta[(death.get(b) ?? t0) + 1] -= bytes;
  }
  let live = 0;
  let peak = 0;
  for (let i = 0; i <= n; i++) {
    live += delta[i];
    peak = Math.max(peak, live);
  }
  return peak;
}
