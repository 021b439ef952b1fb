// `npm run bench -- [masks|cpu|cp|sim|all]... [--quick]`: every benchmark of src/bench in one run,
// each table with its ratios against a baseline or target measured / stated in the same run.
// A missed target is printed, not fatal; a section that throws makes the exit code 1.
// 1024-rank plans (cp, sim) need a large heap: the process re-spawns itself with
// --max-old-space-size=16384 when its heap limit is smaller.
import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import { benchCpuKernels, formatCpuKernelBench } from './cpu-kernel-bench.js';
import { runCpBench } from './cp-bench.js';
import { benchMaskGeneration } from './mask-bench.js';
import { benchSimulation, formatSimBench, SIM_BENCH_TARGET_MS } from './sim-bench.js';

export const SECTIONS = ['masks', 'cpu', 'cp', 'sim'] as const;
export type Section = (typeof SECTIONS)[number];

export const MASK_TARGET_MS = 200;
export const MASK_TARGET_SEQLEN = 16 << 20;
export const CPU_TARGET_GFLOPS = 4;
const HEAP_MB = 16384;

export interface SectionResult {
  readonly section: Section;
  readonly ms: number;
  /** Target checks: true = met. Empty when the section's sizes do not reach its target sizes. */
  readonly targets: readonly { readonly what: string; readonly met: boolean }[];
  readonly error?: string;
}

type Print = (s: string) => void;
const tokens = (s: number) => (s >= 1 << 20 ? `${s / (1 << 20)}M` : `${s / 1024}k`);
const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });

function masksSection(quick: boolean, print: Print): SectionResult['targets'] {
  const seqlens = quick ? [1 << 16, 1 << 20] : [1 << 20, MASK_TARGET_SEQLEN];
  const rows = benchMaskGeneration({ seqlens, runs: quick ? 2 : 5 });
  const base = rows[0];
  const t = table(['family', 'S', 'docs', 'generate ms', 'area ms', 'block map ms', 'total ms', `x ${tokens(base.seqlen)} time`, 'x S ratio']);
  for (const r of rows)
    t.push([r.family, tokens(r.seqlen), r.docs, r.generateMs.toFixed(1), r.areaMs.toFixed(1), r.blockMapMs.toFixed(1), r.totalMs.toFixed(1), (r.totalMs / base.totalMs).toFixed(2), r.seqlen / base.seqlen]);
  print(`Mask generation + area + block map (B=128), median of ${base.runs} runs; time ratio vs the ${tokens(base.seqlen)} baseline (linear = S ratio)\n${t.toString()}\n`);
  const at = rows.find((r) => r.seqlen === MASK_TARGET_SEQLEN);
  if (!at) {
    print(`target: S=16M under ${MASK_TARGET_MS} ms: not measured at these sizes\n`);
    return [];
  }
  const met = at.totalMs < MASK_TARGET_MS;
  print(`target: S=16M under ${MASK_TARGET_MS} ms: ${at.totalMs.toFixed(1)} ms (ratio ${(at.totalMs / MASK_TARGET_MS).toFixed(3)}) ${met ? 'PASS' : 'FAIL'}\n`);
  return [{ what: `masks 16M < ${MASK_TARGET_MS} ms`, met }];
}

function cpuSection(quick: boolean, print: Print): SectionResult['targets'] {
  const r = benchCpuKernels(quick ? { seqlen: 512, headDim: 64, runs: 2, plainRuns: 1 } : { seqlen: 4096, headDim: 128 });
  print(`CPU kernels, one thread (plain_js = the baseline, measured in this run)\n${formatCpuKernelBench(r)}\n`);
  const tiled = r.rows.filter((x) => x.kernel === 'tiled');
  const worst = Math.min(...tiled.map((x) => x.gflops));
  const met = worst >= CPU_TARGET_GFLOPS;
  print(`target: tiled >= ${CPU_TARGET_GFLOPS} GFLOP/s: slowest tiled row ${worst.toFixed(2)} GFLOP/s (ratio ${(worst / CPU_TARGET_GFLOPS).toFixed(2)}) ${met ? 'PASS' : 'FAIL'}\n`);
  return [{ what: `cpu tiled >= ${CPU_TARGET_GFLOPS} GFLOP/s`, met }];
}

function cpSection(quick: boolean, print: Print): SectionResult['targets'] {
  const r = runCpBench(
    quick
      ? {
          timingCases: [[1 << 16, 8, 1000]],
          worlds: [4],
          tokensPerRank: 2048,
          families: ['causal', 'causal_document'],
          docCases: { dispatchCases: [['causal_document', 8]], ringCases: [['causal_document', 4]], tokensPerRank: 2048 },
          print,
        }
      : { print },
  );
  const missed = new Set(r.failures);
  // A scheme that cannot be laid out at a size (ulysses past the head count) has no time to check.
  const out = r.timings
    .filter((t) => t.ms !== null)
    .map((t) => ({ what: `cp plan ${t.scheme} S=${tokens(t.seqlen)} P=${t.world} < ${t.targetMs} ms`, met: t.ms! <= t.targetMs }));
  out.push({ what: 'cp dispatch imbalance <= 1.05 and bytes <= ring_p2p', met: ![...missed].some((f) => f.startsWith('dispatch')) });
  for (const f of missed) if (f.startsWith('issue 14: ')) out.push({ what: `cp ${f.slice(10)}`, met: false });
  return out;
}

function simSection(quick: boolean, print: Print): SectionResult['targets'] {
  const r = benchSimulation(quick ? { world: 64, seqlen: 1 << 20 } : {});
  print(`${formatSimBench(r)}\n`);
  if (r.world !== 1024 || r.seqlen !== 16 << 20) {
    print(`target: 1024 ranks at 16M under ${SIM_BENCH_TARGET_MS / 1000} s: not measured at these sizes\n`);
    return [];
  }
  return r.rows.map((x) => ({ what: `sim ${x.plan} ${x.direction} < ${SIM_BENCH_TARGET_MS / 1000} s`, met: x.simWallMs <= SIM_BENCH_TARGET_MS }));
}

const RUNNERS: Record<Section, (quick: boolean, print: Print) => SectionResult['targets']> = {
  masks: masksSection,
  cpu: cpuSection,
  cp: cpSection,
  sim: simSection,
};

/** Runs the sections in order; a throwing section is recorded and the others still run. */
export function runBench(sections: readonly Section[], opts: { quick?: boolean; print?: Print } = {}): SectionResult[] {
  const print = opts.print ?? ((s: string) => process.stdout.write(s));
  const results: SectionResult[] = [];
  for (const section of sections) {
    print(`\n=== ${section}${opts.quick ? ' (quick)' : ''} ===\n`);
    const t0 = performance.now();
    try {
      results.push({ section, targets: RUNNERS[section](Boolean(opts.quick), print), ms: performance.now() - t0 });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      print(`${section}: ERROR ${error}\n`);
      results.push({ section, targets: [], ms: performance.now() - t0, error });
    }
  }
  print(`\n${summaryTable(results)}\n`);
  return results;
}

export function summaryTable(results: readonly SectionResult[]): string {
  const t = table(['section', 'seconds', 'targets met', 'not met']);
  for (const r of results) {
    const missed = r.targets.filter((x) => !x.met);
    t.push([r.section, (r.ms / 1000).toFixed(1), r.error ? `ERROR: ${r.error}` : `${r.targets.length - missed.length}/${r.targets.length}`, missed.map((x) => x.what).join('\n')]);
  }
  return `Summary\n${t.toString()}`;
}

export function parseArgs(argv: readonly string[]): { sections: Section[]; quick: boolean } {
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => a !== '--quick');
  for (const n of names)
    if (n !== 'all' && !(SECTIONS as readonly string[]).includes(n)) throw new Error(`unknown section '${n}': expected ${[...SECTIONS, 'all'].join(', ')} or --quick`);
  const sections = !names.length || names.includes('all') ? [...SECTIONS] : SECTIONS.filter((s) => names.includes(s));
  return { sections, quick };
}

/** Re-runs this script with a 16 GB heap when the current limit is smaller; returns the exit code, or null when no re-spawn was needed. */
function respawnWithHeap(): number | null {
  const limitMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  if (limitMb >= HEAP_MB * 0.9 || process.env.ATTNBENCH_BENCH_CHILD) return null;
  const env = { ...process.env, ATTNBENCH_BENCH_CHILD: '1', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_MB}`.trim() };
  const r = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const code = respawnWithHeap();
  if (code !== null) process.exitCode = code;
  else {
    const heapGb = v8.getHeapStatistics().heap_size_limit / 2 ** 30;
    process.stdout.write(`attnbench bench: ${args.sections.join(', ')}${args.quick ? ' (quick)' : ''}; node ${process.version}, heap limit ${heapGb.toFixed(1)} GB\n`);
    const results = runBench(args.sections, { quick: args.quick });
    process.exitCode = results.some((r) => r.error) ? 1 : 0;
  }
}
