// Messages between the main thread and a CP rank worker (worker.ts).
import type { CpShape, RankProgram } from '../types.js';
import type { RankInputs, RankOutputs } from './harness.js';
import type { Phase, Span } from './rank.js';

export type ToWorker =
  | {
      readonly type: 'job';
      readonly rank: number;
      readonly program: RankProgram;
      readonly shape: CpShape;
      readonly inputs: RankInputs;
      /** One port per peer rank (null for itself). */
      readonly ports: readonly (unknown | null)[];
      readonly rsChunks: Readonly<Record<string, readonly number[]>>;
      /** Epoch milliseconds (performance.timeOrigin + now) of the run's time origin. */
      readonly origin: number;
    }
  | { readonly type: 'run'; readonly phase: Phase };

export type FromWorker =
  | { readonly type: 'ready'; readonly rank: number }
  | { readonly type: 'done'; readonly rank: number; readonly phase: Phase; readonly ms: number; readonly spans?: readonly Span[]; readonly outputs?: RankOutputs }
  | { readonly type: 'error'; readonly rank: number; readonly phase: Phase; readonly step: number; readonly kind: string; readonly message: string };
