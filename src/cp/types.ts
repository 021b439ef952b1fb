// Context-parallel plans: plain typed data (SPEC section 7).
//
// A plan is what every executor (CPU worker threads, torch.distributed/NCCL, virtual ranks) and the
// simulator consume. Planners are pure: (mask, P, layout, shape) -> Plan.
//
// Naming: a *buffer* is a named tensor in one rank's memory. Its contents are described by the
// global token ranges it holds (concatenated in order) and the head range it covers, so that a
// checker can prove coverage without running anything.
//
// Conventions
//   - Token ranges are global and half-open. Heads: q heads for Q/O/dQ/LSE buffers, KV heads for
//     K/V/dK/dV buffers.
//   - Every step list is executed in order by its rank. Communication steps with a `handle` are
//     asynchronous: they start at that point and complete at the matching `wait` step; compute
//     placed in between overlaps with them.
//   - `attn` produces a partial (out, lse) over the local queries of its q buffer against the keys of
//     its kv buffer under `mask` (the global mask restricted to exactly those rows and columns, in
//     local coordinates); `merge` folds partials together with the log-sum-exp rule.
import type { Mask, Range } from '../mask/types.js';

export const SCHEME_IDS = ['ulysses', 'ring_p2p', 'ring_allgather', 'usp', 'loongtrain', 'dispatch'] as const;
export type SchemeId = (typeof SCHEME_IDS)[number];

/** CP executors (src/cp/exec/index.ts loads them): worker threads, or torch.distributed (src/cp/torch). */
export const CP_EXECUTOR_IDS = ['cpu', 'torch'] as const;
export type CpExecutorId = (typeof CP_EXECUTOR_IDS)[number];

/** Attention shape shared by every rank (batch 1). */
export interface CpShape {
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  /** Bytes per element of Q/K/V/O in the executed dtype (bf16: 2, float32: 4). */
  readonly dtypeBytes: number;
}

/** Which tensors a buffer holds. kv = K and V stacked (2 tensors); dkv likewise. */
export type TensorKind = 'q' | 'k' | 'v' | 'kv' | 'o' | 'lse' | 'do' | 'dq' | 'dk' | 'dv' | 'dkv';

export interface BufferDesc {
  readonly name: string;
  readonly tensor: TensorKind;
  /** Global token ranges held, concatenated in this order. */
  readonly tokens: readonly Range[];
  /** Head range held (q heads or kv heads, by tensor kind). */
  readonly heads: Range;
  /** Size in bytes (derived from tokens, heads, headDim and dtype; lse counts 4 bytes per value). */
  readonly bytes: number;
}

export interface P2POp {
  readonly op: 'send' | 'recv';
  readonly peer: number;
  /** Buffer sent, or buffer created by the receive (declared in the rank's buffers). */
  readonly buf: string;
}

export type Step =
  /** Batched point-to-point (torch batch_isend_irecv). */
  | { readonly kind: 'p2p'; readonly ops: readonly P2POp[]; readonly handle?: string }
  /**
   * All-to-all inside `group` (global ranks, in group order). Rank group[c] receives chunk c of
   * every member's `send` list; `recv` lists what arrives from each member, in group order.
   */
  | {
      readonly kind: 'all_to_all';
      readonly group: readonly number[];
      readonly send: readonly string[];
      readonly recv: readonly string[];
      readonly handle?: string;
    }
  /** All-gather of `input` over `group`; `output` is the concatenation in group order. */
  | { readonly kind: 'all_gather'; readonly group: readonly number[]; readonly input: string; readonly output: string; readonly handle?: string }
  /** Reduce-scatter: `input` is the concatenation of group.length chunks; chunk c summed over ranks lands on group[c]. */
  | { readonly kind: 'reduce_scatter'; readonly group: readonly number[]; readonly input: string; readonly output: string; readonly handle?: string }
  | { readonly kind: 'wait'; readonly handle: string }
  /** Partial forward attention: (q rows) x (kv keys) under mask -> partial out + lse. */
  | {
      readonly kind: 'attn';
      readonly q: string;
      readonly kv: string;
      readonly out: string;
      readonly mask: Mask;
      /** q-head range computed (kv heads follow by GQA grouping). */
      readonly heads: Range;
      readonly flops: number;
    }
  /** out = lse-merge(out, partial); creates `into` from the first partial when absent. */
  | { readonly kind: 'merge'; readonly into: string; readonly from: string }
  /**
   * Partial backward with the *final* out and lse of the q rows: adds into dq, and writes this
   * block's dK/dV contribution into `dkv` (created or accumulated).
   */
  | {
      readonly kind: 'attn_bwd';
      readonly q: string;
      readonly kv: string;
      readonly o: string;
      readonly lse: string;
      readonly dout: string;
      readonly dq: string;
      readonly dkv: string;
      readonly mask: Mask;
      readonly heads: Range;
      readonly flops: number;
    }
  /** into += from (gradient accumulation; same layout). */
  | { readonly kind: 'accumulate'; readonly into: string; readonly from: string }
  /** Re-layout: copy `from` into `into` (e.g. take a sub-range of heads or tokens). */
  | { readonly kind: 'copy'; readonly from: string; readonly into: string };

export interface RankProgram {
  readonly rank: number;
  /** Global token ranges owned (Q, K, V, O, dO, dQ, dK, dV shards), concatenated in order. */
  readonly owned: readonly Range[];
  readonly buffers: readonly BufferDesc[];
  readonly forward: readonly Step[];
  readonly backward: readonly Step[];
}

export interface Plan {
  readonly scheme: SchemeId;
  readonly world: number;
  /** Scheme-specific layout actually used (degrees, sharding, window...). */
  readonly layout: Readonly<Record<string, number | string>>;
  readonly seqlen: number;
  readonly shape: CpShape;
  /** Process groups by name (e.g. ulysses groups, ring groups), each a list of global ranks. */
  readonly groups: Readonly<Record<string, readonly (readonly number[])[]>>;
  readonly ranks: readonly RankProgram[];
}

export interface PlanStats {
  readonly world: number;
  readonly flopsFwd: readonly number[];
  readonly flopsBwd: readonly number[];
  /** max / mean of forward FLOPs. */
  readonly imbalance: number;
  readonly bytesSentFwd: readonly number[];
  readonly bytesRecvFwd: readonly number[];
  readonly bytesSentBwd: readonly number[];
  readonly bytesRecvBwd: readonly number[];
  readonly stepsFwd: readonly number[];
  readonly stepsBwd: readonly number[];
  readonly peakBufferBytes: readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Conventions shared by planners, the checker, the statistics and every executor.
//
// Well-known buffers of every rank program (declared in `buffers`, tokens = `owned`):
//   inputs   q (all q heads), kv (all KV heads) - present from the start of the forward;
//            do (all q heads)                   - present from the start of the backward.
//   outputs  o (all q heads, output + lse)      - complete at the end of the forward;
//            dq, dkv                            - complete at the end of the backward.
// Buffers created in the forward stay readable in the backward (saved activations).
//
// What a buffer of each kind holds (a plan fixes contents and sizes, not the memory order):
//   q, o, do, dq   its tokens x heads x headDim values; an `o` buffer also carries the lse of those
//                  (token, head) rows (4 bytes per value), so every partial output is a
//                  self-contained (out, lse).
//   kv, dkv        K then V (dK then dV), each tokens x heads x headDim.
// The element order inside a part is the executor's: the CPU executor (src/cp/exec/tensors.ts)
// stores [heads, tokens, headDim], the torch executor (python/attnbench_worker/cp, logic.py)
// [tokens, heads, headDim] (the layout of the partial-attention entry, python/PROTOCOL.md). No
// step depends on it: collectives concatenate whole buffers along tokens or heads by descriptor.
//
// Step details that the field comments above leave open:
//   - attn with an empty mask is valid (flops 0): it creates `out` as zeros with lse = -Infinity.
//     Planners use it so that a rank whose queries see no key still produces its `o`.
//   - attn_bwd: `lse` may name the `o` buffer itself (its lse part).
//   - copy / accumulate work by coordinates: every (token, head) element of `from` that `into`
//     also holds is copied / added; `into` is created zero-filled when absent. That covers
//     slicing (heads or tokens), concatenation (several copies into one buffer) and gradient
//     reduction of partially overlapping buffers.
//   - all_to_all: the chunk a rank sends to itself is allowed (a local copy, moves no bytes).
//   - a buffer name denotes one content: a receive never overwrites a live buffer.
export const CP_INPUTS = { q: 'q', kv: 'kv', do: 'do' } as const;
export const CP_OUTPUTS = { o: 'o', dq: 'dq', dkv: 'dkv' } as const;

/** Scheme-specific layout as given by the user (`--layout k=v,...`) or recorded in a plan. */
export type CpLayout = Readonly<Record<string, number | string>>;

/**
 * The slowest rank's time (ms) of a plan in one direction, as a cost model sees it
 * (src/cp/plan/plan-cost.ts). `ibBytesPerMs`, when given, is the most bytes per ms one rank can move
 * across nodes in one link direction under that model (its NIC): planners bound a candidate's time
 * by it before building and simulating the candidate.
 */
export type PlanCost = ((plan: Plan, direction: 'fwd' | 'bwd') => number) & { readonly ibBytesPerMs?: number };

/** What a planner may be given besides the request: the cost model its choices minimise (default: plan-cost.ts). */
export interface PlanOptions {
  readonly cost?: PlanCost;
}

/**
 * A planner: pure, deterministic, throws AttnbenchError('bad_input') on an invalid request. A
 * planner that chooses among forms by cost (dispatch) records the choice in `plan.layout`.
 */
export type Planner = (mask: Mask, world: number, layout: CpLayout, shape: CpShape, opts?: PlanOptions) => Plan;
