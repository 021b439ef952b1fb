// Binary array files: the large int32 inputs of jobs (slices, cu_seqlens, block tables) travel as
// raw little-endian bytes, referenced from the JSON job by path + offset + shape, never as JSON lists.
// One file holds many arrays; identical arrays are written once (a mask shared by several kernels).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import type { ArrayRef } from './protocol.js';

/** Arrays above this many bytes are deflated when that saves at least a fifth. */
const COMPRESS_ABOVE_BYTES = 4 << 20;

export class ArrayFile {
  readonly path: string;
  private readonly refPath: string;
  private fd: number;
  private offset: number;
  private readonly seen = new Map<string, ArrayRef>();

  /** `relativeTo`: write refs relative to this folder (file mode); otherwise absolute. */
  constructor(file: string, relativeTo?: string) {
    if (os.endianness() !== 'LE') throw new Error('binary arrays are little-endian; this host is big-endian');
    this.path = path.resolve(file);
    fs.mkdirSync(path.dirname(this.path), { recursive: true });
    this.refPath = relativeTo ? path.relative(path.resolve(relativeTo), this.path) : this.path;
    this.fd = fs.openSync(this.path, 'a');
    this.offset = fs.fstatSync(this.fd).size;
  }

  add(values: Int32Array, shape: readonly number[]): ArrayRef {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== values.length) throw new Error(`array of ${values.length} values does not have shape [${shape.join(', ')}]`);
    const raw = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    const key = `${shape.join('x')}:${createHash('sha1').update(raw).digest('hex')}`;
    const hit = this.seen.get(key);
    if (hit) return hit;
    let data: Buffer = raw;
    let encoding: ArrayRef['encoding'] = 'raw';
    if (raw.length > COMPRESS_ABOVE_BYTES) {
      const z = deflateSync(raw, { level: 1 });
      if (z.length < 0.8 * raw.length) {
        data = z;
        encoding = 'zlib';
      }
    }
    fs.writeSync(this.fd, data, 0, data.length, this.offset);
    const ref: ArrayRef = { dtype: 'int32', shape: [...shape], path: this.refPath, offset: this.offset, encoding, nbytes: data.length };
    this.offset += data.length;
    this.seen.set(key, ref);
    return ref;
  }

  get bytes(): number {
    return this.offset;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Reads an array back (tests and tools). */
export function readArray(ref: ArrayRef, baseDir = '.'): Int32Array {
  const file = path.isAbsolute(ref.path) ? ref.path : path.join(baseDir, ref.path);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(ref.nbytes);
    fs.readSync(fd, buf, 0, ref.nbytes, ref.offset);
    const raw = ref.encoding === 'zlib' ? inflateSync(buf) : buf;
    return new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  } finally {
    fs.closeSync(fd);
  }
}
