// CP planning benchmark (issue targets), printed in one run:
//   1. planning time of every scheme for causal_document at S = 1M, P = 64 (target 1 s) and
//      S = 16M, P = 1024 (target 10 s), as ratios to the targets;
//   2. scheme x dense family -> imbalance and bytes moved at P = 8 and 64 (S = 8k x P, the paper's
//      8k tokens per GPU), checking dispatch imbalance <= 1.05 everywhere and dispatch bytes <=
//      ring_p2p bytes on document families;
//   3. document-aware CP (issue 14): old vs new placement of dispatch, zigzag vs doc_zigzag of
//      ring_p2p (cp-doc-bench.ts).
// Shape: 64 query heads, 8 KV heads, head dim 128, bf16 (SPEC 5). Layouts: usp ulysses=8,
// loongtrain hp=8 (the paper's Ulysses inside a node), ulysses replicates K/V heads past 8.
import { pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import { planCp, sharedMask } from '../cp/plan/index.js';
import { planStats, summarizeStats, type StatsSummary } from '../cp/stats.js';
import { fmtBytes } from '../cp/table.js';
import { runDocPlacementBench, type DocBenchOptions, type DocBenchRow } from './cp-doc-bench.js';
import type { CpLayout, CpShape, SchemeId } from '../cp/types.js';
import { SCHEME_IDS } from '../cp/types.js';
import { DENSE_FAMILIES, generateMask } from '../mask/families/index.js';
import type { Mask } from '../mask/types.js';
import { formatTokens } from '../util/parse.js';

export const CP_BENCH_SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

/** The layout each scheme is benchmarked with at world P. */
export function benchLayout(scheme: SchemeId, world: number, shape: CpShape): CpLayout {
  switch (scheme) {
    case 'ulysses':
      return world > shape.headsKv ? { replicate_kv: 1 } : {};
    case 'usp':
      return { ulysses: Math.min(8, world, shape.headsKv) };
    case 'loongtrain':
      return { hp: Math.min(8, world, shape.headsKv) };
    default:
      return {};
  }
}

/** Families whose mask is made of documents (where dispatch must move no more than ring_p2p). */
export const DOCUMENT_FAMILIES: readonly string[] = DENSE_FAMILIES.filter(
  (f) => f.includes('document') || f === 'share_question' || f === 'causal_blockwise',
);

export interface PlanTiming {
  readonly scheme: SchemeId;
  readonly seqlen: number;
  readonly world: number;
  readonly targetMs: number;
  /** null: the scheme cannot be laid out at this size (reason in `note`). */
  readonly ms: number | null;
  readonly steps: number;
  readonly note?: string;
}

export interface BalanceCell {
  readonly scheme: SchemeId;
  readonly family: string;
  readonly world: number;
  readonly seqlen: number;
  readonly summary: StatsSummary | null;
  readonly note?: string;
}

export interface CpBenchReport {
  readonly timings: readonly PlanTiming[];
  readonly cells: readonly BalanceCell[];
  /** Document placement comparison (section 3). */
  readonly docRows: readonly DocBenchRow[];
  /** Failed target checks, one line each (empty = all targets met). */
  readonly failures: readonly string[];
}

export interface CpBenchOptions {
  /** (seqlen, world, target ms) planning-time cases. */
  readonly timingCases?: readonly (readonly [number, number, number])[];
  readonly worlds?: readonly number[];
  readonly tokensPerRank?: number;
  readonly families?: readonly string[];
  /** Section 3 cases (default: the issue 14 sizes); null skips it. */
  readonly docCases?: Pick<DocBenchOptions, 'dispatchCases' | 'ringCases' | 'tokensPerRank'> | null;
  readonly print?: (s: string) => void;
}

function planOnce(scheme: SchemeId, mask: Mask, world: number, shape: CpShape): { ms: number; steps: number; summary: StatsSummary } {
  const t0 = performance.now();
  const plan = planCp(scheme, mask, world, benchLayout(scheme, world, shape), shape);
  const ms = performance.now() - t0;
  let steps = 0;
  for (const r of plan.ranks) steps += r.forward.length + r.backward.length;
  return { ms, steps, summary: summarizeStats(planStats(plan)) };
}

export function runCpBench(opts: CpBenchOptions = {}): CpBenchReport {
  const print = opts.print ?? ((s: string) => process.stdout.write(s));
  const shape = CP_BENCH_SHAPE;
  const failures: string[] = [];

  // 1. Planning time.
  const timings: PlanTiming[] = [];
  for (const [seqlen, world, targetMs] of opts.timingCases ?? [
    [1 << 20, 64, 1000],
    [1 << 24, 1024, 10_000],
  ]) {
    const mask = sharedMask(generateMask('causal_document', seqlen, { seed: 0 }));
    for (const scheme of SCHEME_IDS) {
      try {
        const t0 = performance.now();
        const plan = planCp(scheme, mask, world, benchLayout(scheme, world, shape), shape);
        const ms = performance.now() - t0;
        let steps = 0;
        for (const r of plan.ranks) steps += r.forward.length + r.backward.length;
        timings.push({ scheme, seqlen, world, targetMs, ms, steps });
        if (ms > targetMs) failures.push(`planning ${scheme} at S=${formatTokens(seqlen)} P=${world}: ${ms.toFixed(0)} ms > ${targetMs} ms`);
      } catch (e) {
        timings.push({ scheme, seqlen, world, targetMs, ms: null, steps: 0, note: (e as Error).message });
      }
    }
  }
  const tt = new Table({ head: ['scheme', 'S', 'P', 'plan ms', 'target ms', 'ratio', 'steps'], style: { head: [], border: [] } });
  for (const t of timings)
    tt.push([t.scheme, formatTokens(t.seqlen), t.world, t.ms === null ? 'n/a' : t.ms.toFixed(0), t.targetMs, t.ms === null ? (t.note ?? '') : (t.ms / t.targetMs).toFixed(3), t.steps]);
  print(`Planning time, causal_document (ratio = time / target, <= 1 meets it)\n${tt.toString()}\n\n`);

  // 2. Imbalance and bytes, scheme x family, at each P.
  const families = opts.families ?? DENSE_FAMILIES;
  const cells: BalanceCell[] = [];
  for (const world of opts.worlds ?? [8, 64]) {
    const seqlen = (opts.tokensPerRank ?? 8192) * world;
    const t = new Table({
      head: ['family', ...SCHEME_IDS.map((s) => `${s}\nimb | bytes f+b`), 'dispatch vs ring\nbytes f+b'],
      style: { head: [], border: [] },
    });
    for (const family of families) {
      const mask = sharedMask(generateMask(family, seqlen, { seed: 0 }));
      const row: string[] = [family];
      const byScheme = new Map<SchemeId, StatsSummary>();
      for (const scheme of SCHEME_IDS) {
        try {
          const { summary } = planOnce(scheme, mask, world, shape);
          byScheme.set(scheme, summary);
          cells.push({ scheme, family, world, seqlen, summary });
          row.push(`${summary.imbalance.toFixed(3)} | ${fmtBytes(summary.bytesFwd + summary.bytesBwd)}`);
        } catch (e) {
          cells.push({ scheme, family, world, seqlen, summary: null, note: (e as Error).message });
          row.push('n/a');
        }
      }
      const d = byScheme.get('dispatch');
      const r = byScheme.get('ring_p2p');
      const bytes = (s: StatsSummary) => s.bytesFwd + s.bytesBwd;
      row.push(d && r ? (bytes(d) / bytes(r)).toFixed(3) : 'n/a');
      t.push(row);
      if (!d) failures.push(`dispatch could not plan ${family} at P=${world}`);
      else if (d.imbalance > 1.05) failures.push(`dispatch imbalance ${d.imbalance.toFixed(4)} > 1.05 on ${family} at P=${world}`);
      if (d && r && DOCUMENT_FAMILIES.includes(family)) {
        if (d.bytesFwd > r.bytesFwd || d.bytesBwd > r.bytesBwd)
          failures.push(`dispatch moves more bytes than ring_p2p on ${family} at P=${world}: ${fmtBytes(bytes(d))} > ${fmtBytes(bytes(r))}`);
      }
    }
    print(`Imbalance (max/mean FLOPs) and bytes sent (forward + backward, all ranks), P=${world}, S=${formatTokens(seqlen)}\n${t.toString()}\n\n`);
  }
  let docRows: DocBenchRow[] = [];
  if (opts.docCases !== null) {
    const d = runDocPlacementBench({ ...(opts.docCases ?? {}), shape, print });
    docRows = d.rows;
    failures.push(...d.failures);
  }
  const dispatchCells = cells.filter((c) => c.scheme === 'dispatch' && c.summary);
  const worst = Math.max(...dispatchCells.map((c) => c.summary!.imbalance));
  print(`dispatch: worst imbalance ${worst.toFixed(4)} (target <= 1.05, ratio ${(worst / 1.05).toFixed(3)})\n`);
  print(failures.length ? `TARGETS MISSED:\n${failures.map((f) => `  ${f}`).join('\n')}\n` : 'all targets met\n');
  return { timings, cells, docRows, failures };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = runCpBench();
  process.exitCode = r.failures.length ? 1 : 0;
}
