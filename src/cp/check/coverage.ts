// Plan checker rules on compute: every attn / attn_bwd mask is the global mask restricted to its
// tokens (FLOPs included), and every unmasked pair is covered exactly once per phase (see check.ts).
import { AreaIndex, mergeSorted } from '../plan/area.js';
import { BWD_FLOPS_FACTOR, fwdFlops } from '../plan/common.js';
import { maskArea, restrictRanges, SliceIndex } from '../../mask/slices.js';
import type { Mask, Range, Slice } from '../../mask/types.js';
import type { BufferDesc, Plan, RankProgram, Step } from '../types.js';
import { fmtRanges, PHASES, Report, type Phase } from './report.js';

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

export function checkMasks(plan: Plan, mask: Mask, rep: Report): void {
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

export function checkCoverage(plan: Plan, mask: Mask, phase: Phase, rep: Report): void {
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

