// The WebAssembly block kernels (wasm/attn.as) and a bump allocator over their linear memory.
// One instance per JS realm (each worker thread gets its own); memory grows on demand and is
// reused by later calls.
import { ATTN_WASM_BASE64 } from './attn-wasm.generated.js';

// The project's TypeScript lib settings carry no WebAssembly types: declare the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface AttnWasm {
  readonly memory: WasmMemory;
  fwdBlock(
    q: number, k: number, v: number, s: number, bias: number, acc: number, m: number, l: number,
    bq4: number, bk4: number, dp: number, scaleLog2: number,
  ): void;
  fwdFinish(acc: number, m: number, l: number, out: number, lse: number, rows: number, dp: number): void;
  bwdBlock(
    q: number, k: number, v: number, dout: number, lseLog2: number, di: number, s: number, dpt: number, bias: number,
    dq: number, dk: number, dv: number, bq4: number, bk4: number, dp: number, scaleLog2: number, scale: number,
  ): void;
  heapBase(): number;
}

let instance: AttnWasm | undefined;

export function attnWasm(): AttnWasm {
  if (!instance) {
    const bytes = Uint8Array.from(atob(ATTN_WASM_BASE64), (c) => c.charCodeAt(0));
    instance = new WebAssemblyApi.Instance(new WebAssemblyApi.Module(bytes), {}).exports as AttnWasm;
  }
  return instance;
}

const PAGE_BYTES = 65536;

/**
 * Byte offsets of f32 buffers in linear memory, handed out in order from the module's heap base.
 * Call `view()` after the last `alloc` (growing memory detaches earlier views).
 */
export class Arena {
  private top: number;
  constructor(private readonly wasm: AttnWasm) {
    this.top = wasm.heapBase();
  }

  /** A 64-byte aligned buffer of `floats` f32 values (contents unspecified). */
  alloc(floats: number): number {
    const at = (this.top + 63) & ~63;
    this.top = at + floats * 4;
    const need = Math.ceil(this.top / PAGE_BYTES) - this.wasm.memory.buffer.byteLength / PAGE_BYTES;
    if (need > 0) this.wasm.memory.grow(need);
    return at;
  }

  view(): Float32Array {
    return new Float32Array(this.wasm.memory.buffer);
  }
}
