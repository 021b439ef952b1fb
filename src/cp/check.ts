// The plan checker: proves a plan right without running it. Returns violations (empty = ok).
//
//   owned      the ranks' owned ranges partition [0, S)
//   buffers    descriptors are well formed (disjoint tokens, heads in range, bytes); the well-known
//              inputs / outputs hold exactly the owned tokens and every head
//   dataflow   every buffer a step names is declared, read only once written (async receives
//              only after their wait), never received twice, never written while being sent;
//              handles waited exactly once; outputs exist at the end of each phase; tensor
//              kinds, tokens and heads of every compute step agree
//   mask       each attn / attn_bwd mask is exactly the global mask restricted to its q and kv
//              tokens (recomputed independently with mask/slices.ts) and its FLOPs match
//   coverage   every unmasked (q, k) pair of every head is computed exactly once per phase.
//              Exact, by areas: the token boundaries of all compute steps cut the grid into
//              cells; a step covers a cell entirely or not at all, so a cell with unmasked pairs
//              must be covered by exactly one step per head (counts, never samples)
//   comm       k-th send a->b matches k-th receive at b from a (same bytes, same content);
//              members of a group call the same collectives in the same order with consistent
//              sizes; then a simulation with blocking semantics (one FIFO communication stream
//              per rank; a p2p transfer completes when both sides have it at the head of their
//              stream, a collective when every member has) proves there is no deadlock
//   memory     peak live buffer bytes <= the declared budget, if any
import { peakBufferBytes, stepAccess } from './access.js';
import { AreaIndex, mergeSorted, rangesLength } from './plan/area.js';
import { bufferBytes, BWD_FLOPS_FACTOR, fwdFlops, kvHeadsOf } from './plan/common.js';
import { maskArea, restrictRanges, SliceIndex } from '../mask/slices.js';
import type { Mask, Range, Slice } from '../mask/types.js';
import { CP_INPUTS, CP_OUTPUTS, type BufferDesc, type Plan, type RankProgram, type Step, type TensorKind } from './types.js';

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

class Report {
  readonly list: Violation[] = [];
  constructor(readonly max: number) {}
  add(v: Violation): void {
    if (this.list.length < this.max) this.list.push(v);
  }
  get full(): boolean {
    return this.list.length >= this.max;
  }
}

const fmtRanges = (rs: readonly Range[]) => rs.map((r) => `[${r.start},${r.end})`).join('+');
const sameRanges = (a: readonly Range[], b: readonly Range[]) =>
  a.length === b.length && a.every((r, i) => r.start === b[i].start && r.end === b[i].end);
const sameHeads = (a: Range, b: Range) => a.start === b.start && a.end === b.end;
const within = (inner: Range, outer: Range) => inner.start >= outer.start && inner.end <= outer.end;
const sameContent = (a: BufferDesc, b: BufferDesc) => a.tensor === b.tensor && sameHeads(a.heads, b.heads) && sameRanges(a.tokens, b.tokens);
const isKvKind = (t: TensorKind) => t === 'k' || t === 'v' || t === 'kv' || t === 'dk' || t === 'dv' || t === 'dkv';

export function checkPlan(plan: Plan, mask: Mask, opts: CheckOptions = {}): Violation[] {
  const rep = new Report(opts.maxViolations ?? 50);
  checkOwned(plan, rep);
  for (const rp of plan.ranks) checkBuffers(plan, rp, rep);
  if (rep.list.length) return rep.list; // later rules assume well-formed descriptors
  for (const rp of plan.ranks) checkDataflow(plan, rp, rep);
  if (!opts.skipCoverage) {
    checkMasks(plan, mask, rep);
    for (const phase of PHASES) checkCoverage(plan, mask, phase, rep);
  }
  for (const phase of PHASES) {
    const ops = buildOps(plan, phase, rep);
    if (ops) simulate(plan, phase, ops, rep);
  }
  if (opts.memoryBudgetBytes !== undefined) {
    for (const rp of plan.ranks) {
      const peak = peakBufferBytes(rp);
      if (peak > opts.memoryBudgetBytes)
        rep.add({ rule: 'memory', rank: rp.rank, message: `rank ${rp.rank}: peak buffer memory ${peak} B exceeds the budget ${opts.memoryBudgetBytes} B` });
    }
  }
  return rep.list;
}

// ----- owned / buffers ------------------------------------------------------------------------

function checkOwned(plan: Plan, rep: Report): void {
  if (plan.ranks.length !== plan.world) rep.add({ rule: 'owned', message: `plan has ${plan.ranks.length} rank programs for world ${plan.world}` });
  plan.ranks.forEach((rp, r) => {
    if (rp.rank !== r) rep.add({ rule: 'owned', rank: r, message: `rank program ${r} says it is rank ${rp.rank}` });
  });
  const all = plan.ranks.flatMap((rp) => rp.owned.map((x) => ({ ...x, r: rp.rank }))).sort((a, b) => a.start - b.start);
  let at = 0;
  for (const x of all) {
    if (x.end <= x.start) rep.add({ rule: 'owned', rank: x.r, message: `rank ${x.r} owns an empty range [${x.start},${x.end})` });
    else if (x.start < at) rep.add({ rule: 'owned', rank: x.r, message: `rank ${x.r} owns [${x.start},${x.end}) that overlaps another rank's tokens` });
    else if (x.start > at) rep.add({ rule: 'owned', message: `tokens [${at},${x.start}) are owned by no rank` });
    at = Math.max(at, x.end);
  }
  if (at !== plan.seqlen) rep.add({ rule: 'owned', message: `owned tokens end at ${at}, not at seqlen ${plan.seqlen}` });
}

function checkBuffers(plan: Plan, rp: RankProgram, rep: Report): void {
  const r = rp.rank;
  const seen = new Map<string, BufferDesc>();
  for (const d of rp.buffers) {
    const bad = (m: string) => rep.add({ rule: 'buffers', rank: r, message: `rank ${r} buffer ${d.name}: ${m}` });
    if (seen.has(d.name)) bad('declared twice');
    seen.set(d.name, d);
    const sorted = [...d.tokens].sort((a, b) => a.start - b.start);
    for (let i = 0; i < sorted.length; i++) {
      const t = sorted[i];
      if (t.start < 0 || t.end > plan.seqlen || t.end <= t.start) bad(`token range [${t.start},${t.end}) is empty or outside [0,${plan.seqlen})`);
      if (i > 0 && t.start < sorted[i - 1].end) bad('holds a token twice');
    }
    const nHeads = isKvKind(d.tensor) ? plan.shape.headsKv : plan.shape.headsQ;
    if (!(d.heads.start >= 0 && d.heads.end <= nHeads && d.heads.end > d.heads.start)) bad(`heads [${d.heads.start},${d.heads.end}) outside [0,${nHeads})`);
    const want = bufferBytes(d.tensor, rangesLength(d.tokens), d.heads.end - d.heads.start, plan.shape);
    if (d.bytes !== want) bad(`declares ${d.bytes} bytes, its contents take ${want}`);
  }
  const io: [string, TensorKind][] = [
    [CP_INPUTS.q, 'q'],
    [CP_INPUTS.kv, 'kv'],
    [CP_INPUTS.do, 'do'],
    [CP_OUTPUTS.o, 'o'],
    [CP_OUTPUTS.dq, 'dq'],
    [CP_OUTPUTS.dkv, 'dkv'],
  ];
  for (const [name, tensor] of io) {
    const d = seen.get(name);
    const heads = isKvKind(tensor) ? plan.shape.headsKv : plan.shape.headsQ;
    if (!d) rep.add({ rule: 'buffers', rank: r, message: `rank ${r} does not declare its ${name} buffer` });
    else if (d.tensor !== tensor || !sameRanges(d.tokens, rp.owned) || !sameHeads(d.heads, { start: 0, end: heads }))
      rep.add({ rule: 'buffers', rank: r, message: `rank ${r} buffer ${name} must be a ${tensor} buffer of the owned tokens ${fmtRanges(rp.owned)} and all ${heads} heads` });
  }
}

// ----- dataflow -------------------------------------------------------------------------------

function expectTensor(kind: TensorKind, d: BufferDesc | undefined, role: string, err: (m: string) => void): d is BufferDesc {
  if (!d) return false;
  if (d.tensor !== kind) {
    err(`${role} ${d.name} is a ${d.tensor} buffer, expected ${kind}`);
    return false;
  }
  return true;
}

function checkComputeShapes(plan: Plan, s: Step, desc: Map<string, BufferDesc>, err: (m: string) => void): void {
  if (s.kind === 'attn' || s.kind === 'attn_bwd') {
    const q = desc.get(s.q);
    const kv = desc.get(s.kv);
    if (!(expectTensor('q', q, 'q', err) && expectTensor('kv', kv, 'kv', err))) return;
    if (!within(s.heads, q.heads)) err(`heads [${s.heads.start},${s.heads.end}) not held by q buffer ${q.name}`);
    const kh = kvHeadsOf(s.heads, plan.shape);
    if (!within(kh, kv.heads)) err(`kv buffer ${kv.name} lacks KV heads [${kh.start},${kh.end})`);
    const qLen = rangesLength(q.tokens);
    const kLen = rangesLength(kv.tokens);
    if (s.mask.seqlenQ !== qLen || s.mask.seqlenK !== kLen) err(`mask is ${s.mask.seqlenQ}x${s.mask.seqlenK}, buffers are ${qLen}x${kLen}`);
    const qLike = (role: string, name: string, kind: TensorKind) => {
      const d = desc.get(name);
      if (expectTensor(kind, d, role, err) && (!sameRanges(d.tokens, q.tokens) || !within(s.heads, d.heads)))
        err(`${role} ${name} does not hold the q rows ${fmtRanges(q.tokens)} for heads [${s.heads.start},${s.heads.end})`);
    };
    if (s.kind === 'attn') qLike('out', s.out, 'o');
    else {
      qLike('o', s.o, 'o');
      qLike('lse', s.lse, 'o');
      qLike('dout', s.dout, 'do');
      qLike('dq', s.dq, 'dq');
      const dkv = desc.get(s.dkv);
      if (expectTensor('dkv', dkv, 'dkv', err) && (!sameRanges(dkv.tokens, kv.tokens) || !within(kh, dkv.heads)))
        err(`dkv ${s.dkv} does not match kv buffer ${kv.name}`);
    }
  } else if (s.kind === 'merge') {
    const a = desc.get(s.into);
    const b = desc.get(s.from);
    if (a && b && (a.tensor !== 'o' || b.tensor !== 'o' || !sameContent(a, b))) err(`merge of ${s.from} into ${s.into}: both must be o buffers of the same rows and heads`);
  } else if (s.kind === 'copy' || s.kind === 'accumulate') {
    const a = desc.get(s.into);
    const b = desc.get(s.from);
    if (a && b && a.tensor !== b.tensor) err(`${s.kind} from a ${b.tensor} buffer into a ${a.tensor} buffer`);
  }
}

function checkDataflow(plan: Plan, rp: RankProgram, rep: Report): void {
  const r = rp.rank;
  const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
  const ready = new Set<string>([CP_INPUTS.q, CP_INPUTS.kv]);
  for (const phase of PHASES) {
    if (phase === 'backward') ready.add(CP_INPUTS.do);
    const steps = phase === 'forward' ? rp.forward : rp.backward;
    const pending = new Map<string, { writes: string[]; reads: string[] }>(); // handle -> buffers in flight
    const inFlightW = new Set<string>();
    const inFlightR = new Map<string, number>();
    steps.forEach((s, i) => {
      const err = (m: string) => rep.add({ rule: 'dataflow', rank: r, phase, step: i, message: `rank ${r} ${phase} step ${i} (${s.kind}): ${m}` });
      const a = stepAccess(s);
      for (const b of [...a.reads, ...a.writes.map((w) => w.buf)]) if (!desc.has(b)) err(`buffer ${b} is not declared`);
      for (const b of a.reads) {
        if (inFlightW.has(b)) err(`reads ${b} before the receive into it completes`);
        else if (!ready.has(b)) err(`reads ${b} before anything wrote it`);
      }
      for (const w of a.writes) {
        if (inFlightR.has(w.buf) || inFlightW.has(w.buf)) err(`writes ${w.buf} while a transfer of it is in flight`);
        if (w.kind === 'recv' && ready.has(w.buf)) err(`receives into ${w.buf}, which already exists`);
      }
      checkComputeShapes(plan, s, desc, err);
      if (s.kind === 'wait') {
        const p = pending.get(s.handle);
        if (!p) err(`waits on ${s.handle}, which is not in flight`);
        else {
          pending.delete(s.handle);
          for (const b of p.writes) {
            inFlightW.delete(b);
            ready.add(b);
          }
          for (const b of p.reads) {
            const n = (inFlightR.get(b) ?? 1) - 1;
            if (n === 0) inFlightR.delete(b);
            else inFlightR.set(b, n);
          }
        }
        return;
      }
      const handle = 'handle' in s ? s.handle : undefined;
      if (handle !== undefined) {
        if (pending.has(handle)) err(`handle ${handle} is already in flight`);
        const writes = a.writes.map((w) => w.buf);
        pending.set(handle, { writes, reads: [...a.reads] });
        for (const b of writes) inFlightW.add(b);
        for (const b of a.reads) inFlightR.set(b, (inFlightR.get(b) ?? 0) + 1);
      } else for (const w of a.writes) ready.add(w.buf);
    });
    for (const h of pending.keys()) rep.add({ rule: 'dataflow', rank: r, phase, message: `rank ${r} ${phase}: handle ${h} is never waited` });
    const outs = phase === 'forward' ? [CP_OUTPUTS.o] : [CP_OUTPUTS.dq, CP_OUTPUTS.dkv];
    for (const o of outs) if (!ready.has(o)) rep.add({ rule: 'dataflow', rank: r, phase, message: `rank ${r} ${phase}: output ${o} is never produced` });
  }
}

// ----- masks and coverage ---------------------------------------------------------------------

const canon = (slices: readonly Slice[]) =>
  slices
    .map((s) => `${s.qStart},${s.qEnd},${s.kStart},${s.kEnd},${s.kind}`)
    .sort()
    .join(';');

function computeSteps(rp: RankProgram, phase: Phase): { step: Extract<Step, { kind: 'attn' | 'attn_bwd' }>; i: number }[] {
  const steps = phase === 'forward' ? rp.forward : rp.backward;
  const out: { step: Extract<Step, { kind: 'attn' | 'attn_bwd' }>; i: number }[] = [];
  steps.forEach((s, i) => {
    if ((phase === 'forward' && s.kind === 'attn') || (phase === 'backward' && s.kind === 'attn_bwd')) out.push({ step: s, i });
  });
  return out;
}

function checkMasks(plan: Plan, mask: Mask, rep: Report): void {
  const idx = new SliceIndex(mask);
  for (const rp of plan.ranks) {
    const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
    for (const phase of PHASES) {
      for (const { step, i } of computeSteps(rp, phase)) {
        if (rep.full) return;
        const q = desc.get(step.q);
        const kv = desc.get(step.kv);
        if (!q || !kv) continue;
        const want = restrictRanges(idx, q.tokens, kv.tokens);
        const at = { rank: rp.rank, phase, step: i };
        if (step.mask.seqlenQ !== want.seqlenQ || step.mask.seqlenK !== want.seqlenK || canon(step.mask.slices) !== canon(want.slices)) {
          rep.add({ rule: 'mask', ...at, message: `rank ${rp.rank} ${phase} step ${i}: mask is not the global mask restricted to ${fmtRanges(q.tokens)} x ${fmtRanges(kv.tokens)}` });
          continue;
        }
        const f = fwdFlops(maskArea(want), step.heads.end - step.heads.start, plan.shape) * (step.kind === 'attn' ? 1 : BWD_FLOPS_FACTOR);
        if (Math.abs(step.flops - f) > 1e-9 * Math.max(1, f))
          rep.add({ rule: 'mask', ...at, message: `rank ${rp.rank} ${phase} step ${i}: flops ${step.flops}, expected ${f}` });
      }
    }
  }
}

/** Segment boundaries of every compute step's token ranges, plus 0 and S. */
function boundaries(plan: Plan, phase: Phase): Float64Array {
  const set = new Set<number>([0, plan.seqlen]);
  for (const rp of plan.ranks) {
    const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
    for (const { step } of computeSteps(rp, phase)) {
      for (const b of [step.q, step.kv]) for (const t of desc.get(b)?.tokens ?? []) set.add(t.start).add(t.end);
    }
  }
  return Float64Array.from([...set].sort((a, b) => a - b));
}

function segOf(bnd: Float64Array, x: number): number {
  let lo = 0;
  let hi = bnd.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bnd[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Calls fn(qi, ki, area) for every cell of rows qs x columns ks with unmasked pairs. */
function visitCells(idx: AreaIndex, bnd: Float64Array, qs: readonly Range[], ks: readonly Range[], fn: (qi: number, ki: number, area: number) => void): void {
  const kSorted = mergeSorted(ks);
  for (const q of qs) {
    for (let qi = segOf(bnd, q.start); qi < bnd.length - 1 && bnd[qi] < q.end; qi++) {
      const q0 = bnd[qi];
      const q1 = bnd[qi + 1];
      const cells = new Set<number>(); // several extent intervals may reach one cell: visit it once
      for (const e of idx.colExtent(q0, q1)) {
        for (const k of kSorted) {
          const c0 = Math.max(e.start, k.start);
          const c1 = Math.min(e.end, k.end);
          for (let ki = c1 > c0 ? segOf(bnd, c0) : bnd.length; ki < bnd.length - 1 && bnd[ki] < c1; ki++) cells.add(ki);
        }
      }
      for (const ki of cells) {
        const a = idx.rectArea(q0, q1, bnd[ki], bnd[ki + 1]);
        if (a > 0) fn(qi, ki, a);
      }
    }
  }
}

function checkCoverage(plan: Plan, mask: Mask, phase: Phase, rep: Report): void {
  const idx = new AreaIndex(mask);
  const bnd = boundaries(plan, phase);
  const nSeg = bnd.length - 1;
  const H = plan.shape.headsQ;
  const counts = new Map<number, Uint16Array>();
  for (const rp of plan.ranks) {
    const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
    for (const { step } of computeSteps(rp, phase)) {
      const q = desc.get(step.q);
      const kv = desc.get(step.kv);
      if (!q || !kv) continue;
      visitCells(idx, bnd, q.tokens, kv.tokens, (qi, ki) => {
        const key = qi * nSeg + ki;
        let c = counts.get(key);
        if (!c) counts.set(key, (c = new Uint16Array(H)));
        for (let h = step.heads.start; h < step.heads.end; h++) c[h]++;
      });
    }
  }
  const all: Range[] = [{ start: 0, end: plan.seqlen }];
  let missing = 0;
  let twice = 0;
  visitCells(idx, bnd, all, all, (qi, ki, area) => {
    const c = counts.get(qi * nSeg + ki);
    for (let h = 0; h < H; h++) {
      const n = c ? c[h] : 0;
      if (n === 1) continue;
      if (n === 0) missing++;
      else twice++;
      if (!rep.full && (n === 0 ? missing : twice) <= 5)
        rep.add({
          rule: 'coverage',
          phase,
          message: `${phase}: q [${bnd[qi]},${bnd[qi + 1]}) x k [${bnd[ki]},${bnd[ki + 1]}) head ${h} (${area} unmasked pairs) is computed ${n} times`,
        });
    }
  });
  if (missing + twice > 10) rep.add({ rule: 'coverage', phase, message: `${phase}: ${missing} (cell, head) pairs never computed, ${twice} computed more than once` });
}

// ----- communication --------------------------------------------------------------------------

interface CommOp {
  readonly rank: number;
  readonly step: Step;
  readonly index: number;
  /** p2p parts: [peer, isSend, buffer]. */
  readonly parts: { peer: number; send: boolean; buf: string; done: boolean; partner?: { op: CommOp; part: number } }[];
  /** Collective instance id (group key + sequence), for collectives. */
  readonly instance?: string;
  done: boolean;
}

function groupKey(g: readonly number[]): string {
  return g.join(',');
}

function phaseSteps(rp: RankProgram, phase: Phase): readonly Step[] {
  return phase === 'forward' ? rp.forward : rp.backward;
}

/** Builds comm ops with their partners; checks matching, sizes and contents. Returns false if broken. */
function buildOps(plan: Plan, phase: Phase, rep: Report): CommOp[][] | null {
  const P = plan.world;
  const descs = plan.ranks.map((rp) => new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d])));
  const ops: CommOp[][] = plan.ranks.map(() => []);
  const sends = new Map<string, { op: CommOp; part: number }[]>(); // "a>b" in order
  const recvs = new Map<string, { op: CommOp; part: number }[]>(); // "a>b" (recv at b from a)
  const coll = new Map<string, { rank: number; op: CommOp }[][]>(); // group -> per-member sequence
  let ok = true;
  const bad = (v: Omit<Violation, 'rule'>) => {
    ok = false;
    rep.add({ rule: 'comm', ...v });
  };
  for (const rp of plan.ranks) {
    phaseSteps(rp, phase).forEach((s, i) => {
      if (s.kind === 'p2p') {
        const op: CommOp = {
          rank: rp.rank,
          step: s,
          index: i,
          parts: s.ops.map((o) => ({ peer: o.peer, send: o.op === 'send', buf: o.buf, done: false })),
          done: false,
        };
        op.parts.forEach((p, n) => {
          if (!(Number.isInteger(p.peer) && p.peer >= 0 && p.peer < P) || p.peer === rp.rank) {
            bad({ rank: rp.rank, phase, step: i, message: `rank ${rp.rank} ${phase} step ${i}: p2p peer ${p.peer} is invalid` });
            return;
          }
          const key = p.send ? `${rp.rank}>${p.peer}` : `${p.peer}>${rp.rank}`;
          const m = p.send ? sends : recvs;
          const list = m.get(key) ?? [];
          list.push({ op, part: n });
          m.set(key, list);
        });
        ops[rp.rank].push(op);
      } else if (s.kind === 'all_to_all' || s.kind === 'all_gather' || s.kind === 'reduce_scatter') {
        const g = s.group;
        const pos = g.indexOf(rp.rank);
        if (pos < 0 || new Set(g).size !== g.length || g.some((x) => !(x >= 0 && x < P))) {
          bad({ rank: rp.rank, phase, step: i, message: `rank ${rp.rank} ${phase} step ${i}: ${s.kind} group [${g}] is invalid or does not contain the rank` });
          return;
        }
        const key = groupKey(g);
        const seqs = coll.get(key) ?? g.map(() => []);
        coll.set(key, seqs);
        const op: CommOp = { rank: rp.rank, step: s, index: i, parts: [], instance: `${key}#${seqs[pos].length}`, done: false };
        seqs[pos].push({ rank: rp.rank, op });
        ops[rp.rank].push(op);
      }
    });
  }
  // Point to point: k-th send a->b with k-th receive at b from a.
  for (const key of new Set([...sends.keys(), ...recvs.keys()])) {
    const [a, b] = key.split('>').map(Number);
    const ss = sends.get(key) ?? [];
    const rs = recvs.get(key) ?? [];
    if (ss.length !== rs.length) bad({ phase, message: `${phase}: rank ${a} sends ${ss.length} buffers to rank ${b}, which receives ${rs.length} from it` });
    for (let k = 0; k < Math.min(ss.length, rs.length); k++) {
      const s = ss[k];
      const r = rs[k];
      s.op.parts[s.part].partner = r;
      r.op.parts[r.part].partner = s;
      const ds = descs[a].get(s.op.parts[s.part].buf);
      const dr = descs[b].get(r.op.parts[r.part].buf);
      if (ds && dr && (ds.bytes !== dr.bytes || !sameContent(ds, dr)))
        bad({
          phase,
          message: `${phase}: transfer ${k} from rank ${a} (step ${s.op.index}, ${ds.name}: ${ds.bytes} B) to rank ${b} (step ${r.op.index}, ${dr.name}: ${dr.bytes} B) differs in size or content`,
        });
    }
  }
  // Collectives: same sequence on every member; consistent sizes.
  for (const [key, seqs] of coll) {
    const g = key.split(',').map(Number);
    const n = Math.max(...seqs.map((s) => s.length));
    for (let k = 0; k < n; k++) {
      const inst = seqs.map((s) => s[k]?.op);
      if (inst.some((o) => !o)) {
        bad({ phase, message: `${phase}: group [${key}] collective ${k} is not called by every member` });
        continue;
      }
      const kinds = new Set(inst.map((o) => o!.step.kind));
      if (kinds.size !== 1) {
        bad({ phase, message: `${phase}: group [${key}] collective ${k} mixes ${[...kinds].join(' and ')}` });
        continue;
      }
      const steps = inst.map((o) => o!.step);
      const d = (m: number, b: string) => descs[g[m]].get(b);
      const mismatch = (what: string) => bad({ phase, message: `${phase}: group [${key}] ${steps[0].kind} ${k}: ${what}` });
      if (steps[0].kind === 'all_to_all') {
        const a2a = steps as Extract<Step, { kind: 'all_to_all' }>[];
        a2a.forEach((s, m) => {
          if (s.send.length !== g.length || s.recv.length !== g.length) mismatch(`member ${g[m]} lists ${s.send.length} sends / ${s.recv.length} receives for ${g.length} members`);
        });
        for (let m = 0; m < g.length; m++)
          for (let c = 0; c < g.length; c++) {
            const ds = d(m, a2a[m].send[c]);
            const dr = d(c, a2a[c].recv[m]);
            if (ds && dr && (ds.bytes !== dr.bytes || !sameContent(ds, dr))) mismatch(`chunk from ${g[m]} (${ds.name}) to ${g[c]} (${dr.name}) differs in size or content`);
          }
      } else if (steps[0].kind === 'all_gather') {
        const ag = steps as Extract<Step, { kind: 'all_gather' }>[];
        const ins = ag.map((s, m) => d(m, s.input));
        if (ins.every(Boolean)) {
          const tokens = ins.flatMap((x) => x!.tokens);
          ag.forEach((s, m) => {
            const o = d(m, s.output);
            if (o && (o.tensor !== ins[m]!.tensor || !sameRanges(o.tokens, tokens) || ins.some((x) => !sameHeads(x!.heads, o.heads))))
              mismatch(`output ${o.name} of ${g[m]} is not the concatenation of the inputs`);
          });
        }
      } else {
        const rs = steps as Extract<Step, { kind: 'reduce_scatter' }>[];
        const outs = rs.map((s, m) => d(m, s.output));
        if (outs.every(Boolean)) {
          const tokens = outs.flatMap((x) => x!.tokens);
          rs.forEach((s, m) => {
            const i = d(m, s.input);
            if (i && (i.tensor !== outs[m]!.tensor || !sameRanges(i.tokens, tokens) || outs.some((x) => !sameHeads(x!.heads, i.heads))))
              mismatch(`input ${i.name} of ${g[m]} is not the concatenation of the outputs`);
          });
        }
      }
    }
  }
  return ok ? ops : null;
}

/** Runs the phase with blocking semantics; reports a deadlock if some rank cannot finish. */
function simulate(plan: Plan, phase: Phase, ops: CommOp[][], rep: Report): void {
  const P = plan.world;
  const steps = plan.ranks.map((rp) => phaseSteps(rp, phase));
  const opAt = ops.map((list) => new Map(list.map((o) => [o.index, o])));
  const pc = new Int32Array(P);
  const queue: CommOp[][] = plan.ranks.map(() => []);
  const head = new Int32Array(P);
  const blocked: (CommOp | null)[] = plan.ranks.map(() => null);
  const handles = plan.ranks.map(() => new Map<string, CommOp>());
  const headOp = (r: number) => (head[r] < queue[r].length ? queue[r][head[r]] : null);
  const instHead = new Map<string, number>(); // collective instance -> members with it at head
  let progress = true;
  while (progress) {
    progress = false;
    for (let r = 0; r < P; r++) {
      for (;;) {
        if (blocked[r]) {
          if (!blocked[r]!.done) break;
          blocked[r] = null;
        }
        if (pc[r] >= steps[r].length) break;
        const s = steps[r][pc[r]];
        const op = opAt[r].get(pc[r]);
        if (op) {
          queue[r].push(op);
          const h = 'handle' in s ? s.handle : undefined;
          if (h !== undefined) handles[r].set(h, op);
          else blocked[r] = op;
        } else if (s.kind === 'wait') {
          const w = handles[r].get(s.handle);
          if (w && !w.done) {
            blocked[r] = w;
            break;
          }
        }
        pc[r]++;
        progress = true;
      }
    }
    // Complete what can complete: transfers and collectives at the heads of the streams.
    instHead.clear();
    for (let r = 0; r < P; r++) {
      const o = headOp(r);
      if (o?.instance) instHead.set(o.instance, (instHead.get(o.instance) ?? 0) + 1);
    }
    for (let r = 0; r < P; r++) {
      const o = headOp(r);
      if (!o || o.done) continue;
      if (o.instance) {
        const size = (o.step as { group: readonly number[] }).group.length;
        if (instHead.get(o.instance) === size) {
          for (const m of (o.step as { group: readonly number[] }).group) {
            const mo = headOp(m)!;
            mo.done = true;
          }
        }
      } else {
        for (const part of o.parts) {
          if (part.done || !part.partner) continue;
          const po = part.partner.op;
          if (headOp(po.rank) === po) {
            part.done = true;
            po.parts[part.partner.part].done = true;
          }
        }
        if (o.parts.every((p) => p.done)) o.done = true;
      }
    }
    for (let r = 0; r < P; r++) {
      while (headOp(r)?.done) {
        head[r]++;
        progress = true;
      }
    }
  }
  const stuck: string[] = [];
  for (let r = 0; r < P; r++) {
    if (pc[r] < steps[r].length || blocked[r] || headOp(r)) {
      const o = blocked[r] ?? headOp(r);
      stuck.push(`rank ${r} at step ${pc[r]}${o ? ` waiting for ${o.step.kind} of step ${o.index}` : ''}`);
    }
  }
  if (stuck.length) rep.add({ rule: 'deadlock', phase, message: `${phase}: deadlock: ${stuck.slice(0, 6).join('; ')}${stuck.length > 6 ? `; ${stuck.length - 6} more` : ''}` });
}
