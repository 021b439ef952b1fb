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
import { peakBufferBytes } from './access.js';
import { buildOps, simulate } from './check/comm.js';
import { checkCoverage, checkMasks } from './check/coverage.js';
import { PHASES, Report, type CheckOptions, type Violation } from './check/report.js';
import { checkBuffers, checkDataflow, checkOwned } from './check/structure.js';
import type { Mask } from '../mask/types.js';
import type { Plan } from './types.js';

export { PHASES, type CheckOptions, type Phase, type Violation } from './check/report.js';

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
