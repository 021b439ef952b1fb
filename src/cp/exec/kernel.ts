// Partial attention of one plan step on the CPU tiled kernels, for any head sub-range of the
// buffers: q heads [a, b) read KV heads [floor(a/g), ceil(b/g)) (GQA group g). When the range is
// aligned to whole KV groups (or inside one), one kernel call does it; otherwise one call per KV
// head (the kernel's own GQA mapping assumes aligned groups).
import { tiledBackward, tiledForward } from '../../kernels/cpu/index.js';
import type { Mask, Range } from '../../mask/types.js';
import type { BufferDesc, CpShape } from '../types.js';
import { layoutOf } from './tensors.js';

interface Call {
  /** q heads [qa, qb) and KV head range [ka, kb) of one kernel call. */
  readonly qa: number;
  readonly qb: number;
  readonly ka: number;
  readonly kb: number;
}

function calls(heads: Range, shape: CpShape): Call[] {
  const g = shape.headsQ / shape.headsKv;
  const ka = Math.floor(heads.start / g);
  const kb = Math.ceil(heads.end / g);
  if (kb - ka === 1 || (heads.start === ka * g && heads.end === kb * g)) return [{ qa: heads.start, qb: heads.end, ka, kb }];
  const out: Call[] = [];
  for (let k = ka; k < kb; k++) out.push({ qa: Math.max(heads.start, k * g), qb: Math.min(heads.end, (k + 1) * g), ka: k, kb: k + 1 });
  return out;
}

/** Views of one buffer's heads [h0, h1) in part p (heads outermost, so a view is contiguous). */
function headView(d: BufferDesc, data: Float32Array, headDim: number, h0: number, h1: number, part = 0): Float32Array {
  const l = layoutOf(d, headDim);
  const per = l.tokens * l.dim;
  const base = part * l.heads * per;
  return data.subarray(base + (h0 - d.heads.start) * per, base + (h1 - d.heads.start) * per);
}

function lseView(d: BufferDesc, data: Float32Array, headDim: number, h0: number, h1: number): Float32Array {
  const l = layoutOf(d, headDim);
  return data.subarray(l.lseAt + (h0 - d.heads.start) * l.tokens, l.lseAt + (h1 - d.heads.start) * l.tokens);
}

export interface Operand {
  readonly desc: BufferDesc;
  readonly data: Float32Array;
}

/** Forward partial attention; writes out + lse of heads `heads` into `out` (an o buffer of the q rows). */
export function attnForward(q: Operand, kv: Operand, out: Operand, heads: Range, mask: Mask, shape: CpShape): void {
  const D = shape.headDim;
  const Tq = mask.seqlenQ;
  const Tk = mask.seqlenK;
  for (const c of calls(heads, shape)) {
    const o = headView(out.desc, out.data, D, c.qa, c.qb);
    const l = lseView(out.desc, out.data, D, c.qa, c.qb);
    if (mask.slices.length === 0) {
      o.fill(0);
      l.fill(-Infinity);
      continue;
    }
    const r = tiledForward(
      headView(q.desc, q.data, D, c.qa, c.qb),
      headView(kv.desc, kv.data, D, c.ka, c.kb, 0),
      headView(kv.desc, kv.data, D, c.ka, c.kb, 1),
      mask,
      { seqlenQ: Tq, seqlenK: Tk, headsQ: c.qb - c.qa, headsKv: c.kb - c.ka, headDim: D },
    );
    o.set(r.out);
    l.set(r.lse);
  }
}

/** Backward partial attention: adds into dq (q rows) and dkv (kv keys) for heads `heads`. */
export function attnBackward(
  q: Operand,
  kv: Operand,
  o: Operand,
  dout: Operand,
  dq: Operand,
  dkv: Operand,
  heads: Range,
  mask: Mask,
  shape: CpShape,
): void {
  if (mask.slices.length === 0) return;
  const D = shape.headDim;
  for (const c of calls(heads, shape)) {
    const r = tiledBackward(
      headView(q.desc, q.data, D, c.qa, c.qb),
      headView(kv.desc, kv.data, D, c.ka, c.kb, 0),
      headView(kv.desc, kv.data, D, c.ka, c.kb, 1),
      headView(o.desc, o.data, D, c.qa, c.qb),
      lseView(o.desc, o.data, D, c.qa, c.qb),
      headView(dout.desc, dout.data, D, c.qa, c.qb),
      mask,
      { seqlenQ: mask.seqlenQ, seqlenK: mask.seqlenK, headsQ: c.qb - c.qa, headsKv: c.kb - c.ka, headDim: D },
    );
    addInto(headView(dq.desc, dq.data, D, c.qa, c.qb), r.dq);
    addInto(headView(dkv.desc, dkv.data, D, c.ka, c.kb, 0), r.dk);
    addInto(headView(dkv.desc, dkv.data, D, c.ka, c.kb, 1), r.dv);
  }
}

function addInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] += src[i];
}
