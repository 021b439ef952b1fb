// What every rule of the plan checker shares: the violation record, the bounded report, and
// small comparisons of ranges and buffer descriptors.
import type { BufferDesc, TensorKind } from '../types.js';
import type { Range } from '../../mask/types.js';

export type Phase = 'forward' | 'backward';
export const PHASES: readonly Phase[] = ['forward', 'backward'];

export interface Violation {
  readonly rule: 'owned' | 'buffers' | 'dataflow' | 'mask' | 'coverage' | 'comm' | 'deadlock' | 'memory';
  readonly message: string;
  readonly rank?: number;
  readonly phase?: Phase;
  readonly step?: number;
}

export interface CheckOptions {
  /** Peak live buffer bytes allowed per rank. */
  readonly memoryBudgetBytes?: number;
  /** Stop collecting after this many violations (default 50). */
  readonly maxViolations?: number;
  /** Skip the mask / coverage rules (expensive on very large plans). */
  readonly skipCoverage?: boolean;
}

export class Report {
  readonly list: Violation[] = [];
  constructor(readonly max: number) {}
  add(v: Violation): void {
    if (this.list.length < this.max) this.list.push(v);
  }
  get full(): boolean {
    return this.list.length >= this.max;
  }
}

export const fmtRanges = (rs: readonly Range[]) => rs.map((r) => `[${r.start},${r.end})`).join('+');
export const sameRanges = (a: readonly Range[], b: readonly Range[]) =>
  a.length === b.length && a.every((r, i) => r.start === b[i].start && r.end === b[i].end);
export const sameHeads = (a: Range, b: Range) => a.start === b.start && a.end === b.end;
export const within = (inner: Range, outer: Range) => inner.start >= outer.start && inner.end <= outer.end;
export const sameContent = (a: BufferDesc, b: BufferDesc) => a.tensor === b.tensor && sameHeads(a.heads, b.heads) && sameRanges(a.tokens, b.tokens);
export const isKvKind = (t: TensorKind) => t === 'k' || t === 'v' || t === 'kv' || t === 'dk' || t === 'dv' || t === 'dkv';
