// Document-aware CP (issue 14), old placement against new in one run:
//   1. dispatch sharding=granules (the placement before issue 14) vs the default (documents) on
//      causal_document and full_document, 8k tokens per rank: forward bytes (new / old, target
//      <= 0.10; with the lower bound any placement within the default token cap and imbalance
//      target must move, doc-bound.ts, as a share of the old bytes: the target is below it on
//      these lengths), attention steps per rank per direction (target <= 8), all steps, area imbalance
//      (target <= 1.05), largest tokens per rank / mean, planning time (target < 5 s at 8M on
//      1024 ranks; the machine's load average is printed with it, other processes share the CPU);
//   2. ring_p2p sharding=zigzag vs doc_zigzag on causal_document (target imbalance <= 1.10).
import { loadavg } from 'node:os';
import Table from 'cli-table3';
import { AreaIndex } from '../cp/plan/area.js';
import { fetchLowerBound } from '../cp/plan/doc-bound.js';
import { planCp, sharedMask } from '../cp/plan/index.js';
import { planStats, summarizeStats, type StatsSummary } from '../cp/stats.js';
import { fmtBytes } from '../cp/table.js';
import type { CpLayout, CpShape, Plan, SchemeId } from '../cp/types.js';
import { generateMask } from '../mask/families/index.js';
import type { Mask } from '../mask/types.js';
import { formatTokens } from '../util/parse.js';

export interface DocBenchRow {
  readonly scheme: SchemeId;
  readonly family: string;
  readonly world: number;
  readonly seqlen: number;
  readonly layout: CpLayout;
  /** The layout the planner recorded (what it chose). */
  readonly used: CpLayout;
  readonly ms: number;
  readonly summary: StatsSummary;
  readonly maxAttnFwd: number;
  readonly maxAttnBwd: number;
  readonly maxTokenRatio: number;
  /** dispatch: forward bytes of the fewest keys any placement within the default cap and target fetches. */
  readonly boundBytes?: number;
  /** Forward bytes sent across nodes of 8 (InfiniBand), in all and by the busiest NIC (max of a rank's sent and received). */
  readonly ibBytes: number;
  readonly ibPeak: number;
}

/** Forward p2p bytes that cross nodes of G: in all, and the most one rank sends or receives. */
export function interNodeBytes(plan: Plan, G = 8): { total: number; peak: number } {
  const sent = new Float64Array(plan.world);
  const got = new Float64Array(plan.world);
  for (const rp of plan.ranks) {
    const bufs = new Map(rp.buffers.map((b) => [b.name, b.bytes]));
    for (const s of rp.forward) {
      if (s.kind !== 'p2p') continue;
      for (const o of s.ops) if (Math.floor(o.peer / G) !== Math.floor(rp.rank / G)) (o.op === 'send' ? sent : got)[rp.rank] += bufs.get(o.buf)!;
    }
  }
  let total = 0;
  let peak = 0;
  for (let r = 0; r < plan.world; r++) {
    total += sent[r];
    peak = Math.max(peak, sent[r], got[r]);
  }
  return { total, peak };
}

export interface DocBenchOptions {
  /** (family, world) dispatch cases; S = tokensPerRank x world. */
  readonly dispatchCases?: readonly (readonly [string, number])[];
  /** (family, world) ring_p2p cases. */
  readonly ringCases?: readonly (readonly [string, number])[];
  readonly tokensPerRank?: number;
  readonly shape: CpShape;
  readonly print: (s: string) => void;
}

export const DOC_TARGETS = { bytesRatio: 0.1, attnSteps: 8, imbalance: 1.05, planMs8M: 5000, ringImbalance: 1.1 } as const;

function measure(scheme: SchemeId, family: string, mask: Mask, world: number, layout: CpLayout, shape: CpShape): DocBenchRow {
  const t0 = performance.now();
  const plan: Plan = planCp(scheme, mask, world, layout, shape);
  const ms = performance.now() - t0;
  const count = (r: Plan['ranks'][number], dir: 'forward' | 'backward') => r[dir].filter((s) => s.kind === 'attn' || s.kind === 'attn_bwd').length;
  let maxTok = 0;
  for (const r of plan.ranks) maxTok = Math.max(maxTok, r.owned.reduce((n, x) => n + x.end - x.start, 0));
  const ib = interNodeBytes(plan);
  return {
    ibBytes: ib.total,
    ibPeak: ib.peak,
    scheme,
    family,
    world,
    seqlen: mask.seqlenQ,
    layout,
    used: plan.layout,
    ms,
    summary: summarizeStats(planStats(plan)),
    maxAttnFwd: Math.max(...plan.ranks.map((r) => count(r, 'forward'))),
    maxAttnBwd: Math.max(...plan.ranks.map((r) => count(r, 'backward'))),
    maxTokenRatio: maxTok / (mask.seqlenQ / world),
  };
}

const label = (l: CpLayout) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',') || 'default';

/** Runs both comparisons; returns the rows and the missed targets (one line each). */
export function runDocPlacementBench(opts: DocBenchOptions): { rows: DocBenchRow[]; failures: string[] } {
  const tpr = opts.tokensPerRank ?? 8192;
  const rows: DocBenchRow[] = [];
  const failures: string[] = [];
  const t = new Table({
    head: ['family', 'S', 'P', 'placement', 'plan ms', 'imbalance', 'fwd bytes', 'new / old', 'bound / old', 'IB bytes\n(nodes of 8)', 'busiest\nNIC', 'attn steps\nfwd | bwd', 'all steps\nfwd | bwd', 'max tokens\n/ mean'],
    style: { head: [], border: [] },
  });
  const load0 = loadavg()[0];
  for (const [family, world] of opts.dispatchCases ?? [
    ['causal_document', 64],
    ['full_document', 64],
    ['causal_document', 1024],
    ['full_document', 1024],
  ]) {
    const S = tpr * world;
    const mask = sharedMask(generateMask(family, S, { seed: 0 }));
    // Before issue 14: granules, every rank fetching straight from the owners.
    const old = measure('dispatch', family, mask, world, { sharding: 'granules', exchange: 'direct' }, opts.shape);
    // Documents with direct routes as before the relays and the choice by cost (zigzag cuts, overlapped steps).
    const direct = measure('dispatch', family, mask, world, { exchange: 'direct', split: 'zigzag', steps: 'overlap' }, opts.shape);
    const now0 = measure('dispatch', family, mask, world, {}, opts.shape);
    // K/V bytes per token (K and V, every KV head) times the fewest keys (doc-bound.ts)
    const perToken = 2 * opts.shape.headsKv * opts.shape.headDim * opts.shape.dtypeBytes;
    const now = { ...now0, boundBytes: perToken * fetchLowerBound(new AreaIndex(mask), world, (1.5 * S) / world, 1.05) };
    rows.push(old, direct, now);
    for (const r of [old, direct, now]) {
      const s = r.summary;
      t.push([
        family,
        formatTokens(S),
        world,
        `${label(r.layout)} -> ${r.used.sharding}${r.used.exchange === 'relay' ? ', relay' : ''}`,
        r.ms.toFixed(0),
        s.imbalance.toFixed(4),
        fmtBytes(s.bytesFwd),
        r === old ? '1' : (s.bytesFwd / old.summary.bytesFwd).toFixed(3),
        r === now ? (now.boundBytes / old.summary.bytesFwd).toFixed(3) : '',
        fmtBytes(r.ibBytes),
        fmtBytes(r.ibPeak),
        `${r.maxAttnFwd} | ${r.maxAttnBwd}`,
        `${s.maxStepsFwd} | ${s.maxStepsBwd}`,
        r.maxTokenRatio.toFixed(2),
      ]);
    }
    const at = `issue 14: dispatch ${family} P=${world}`;
    const ratio = now.summary.bytesFwd / old.summary.bytesFwd;
    if (ratio > DOC_TARGETS.bytesRatio)
      failures.push(
        `${at}: forward bytes ${ratio.toFixed(3)} of the old placement's > ${DOC_TARGETS.bytesRatio} (lower bound at imbalance 1.05 and 1.5 x S/P tokens: ${(now.boundBytes / old.summary.bytesFwd).toFixed(3)})`,
      );
    if (Math.max(now.maxAttnFwd, now.maxAttnBwd) > DOC_TARGETS.attnSteps) failures.push(`${at}: more than ${DOC_TARGETS.attnSteps} attention steps per rank`);
    if (now.summary.imbalance > DOC_TARGETS.imbalance) failures.push(`${at}: imbalance ${now.summary.imbalance.toFixed(4)} > ${DOC_TARGETS.imbalance}`);
    if (world >= 1024 && now.ms > DOC_TARGETS.planMs8M) failures.push(`${at}: planning ${now.ms.toFixed(0)} ms > ${DOC_TARGETS.planMs8M} ms`);
  }
  opts.print(
    `Document placement (issue 14): dispatch sharding=granules (before) vs default (documents), ${formatTokens(tpr)} tokens per rank\n` +
      `load average while planning: ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)} (other processes share the CPU)\n${t.toString()}\n\n`,
  );
  const rt = new Table({ head: ['family', 'S', 'P', 'sharding', 'plan ms', 'imbalance', 'fwd bytes'], style: { head: [], border: [] } });
  for (const [family, world] of opts.ringCases ?? [['causal_document', 8]]) {
    const S = tpr * world;
    const mask = sharedMask(generateMask(family, S, { seed: 0 }));
    for (const sharding of ['zigzag', 'doc_zigzag']) {
      const r = measure('ring_p2p', family, mask, world, { sharding }, opts.shape);
      rows.push(r);
      rt.push([family, formatTokens(S), world, sharding, r.ms.toFixed(0), r.summary.imbalance.toFixed(4), fmtBytes(r.summary.bytesFwd)]);
      if (sharding === 'doc_zigzag' && r.summary.imbalance > DOC_TARGETS.ringImbalance)
        failures.push(`issue 14: ring_p2p doc_zigzag ${family} P=${world}: imbalance ${r.summary.imbalance.toFixed(4)} > ${DOC_TARGETS.ringImbalance}`);
    }
  }
  opts.print(`ring_p2p: zigzag over the sequence vs zigzag inside every document\n${rt.toString()}\n\n`);
  return { rows, failures };
}
