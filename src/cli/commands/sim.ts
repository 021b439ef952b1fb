// attnbench sim: calibrate the cost model from measured results, validate it against every
// measurement, and project context-parallel plans to clusters we cannot rent.
import { parseLayout, SCHEMES } from '../../cp/plan/index.js';
import path from 'node:path';
import v8 from 'node:v8';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { badInput, usage } from '../../errors.js';
import { DIRECTIONS, type Direction, type ResultRow } from '../../results/schema.js';
import { formatTokens, parseInteger, parseIntList, parseTokenList, splitList } from '../../util/parse.js';
import { parseCurveKernel, parseFamilyIds, parseSchemeIds } from '../../ids.js';
import { gitRev } from '../../util/env.js';
import { calibrate, kernelPath, observe, summarizeErrors, validateKernels, type ErrorSummary } from '../../sim/calibrate.js';
import { checkWorld, GPU_SPECS, normalizeGpu, resolveCluster, type Cluster } from '../../sim/hardware.js';
import {
  DEFAULT_CALIBRATION_PATH,
  loadCalibration,
  loadClusterFile,
  loadRows,
  rowsAppender,
  simEnvironment,
  writeJson,
  writeRowsMerged,
} from '../../sim/io.js';
import { calibratedGpus, hasCurve, makeKernelModel, type Calibration } from '../../sim/kernel-model.js';
import { CP_PRESETS, expandProjection, projectCase } from '../../sim/project.js';
import { chromeTrace } from '../../sim/simulate.js';
import { familyMask, plan as planCp, rowMask } from '../../sim/sources.js';
import { simPlanCost } from '../../cp/plan/plan-cost.js';
import { CP_PATH, cpKernelModel, cpLeaveGroupOut, cpObservations, cpRankLines, cpSchemeLines, cpTokensLines, validateCp } from '../../sim/validate.js';
import { groupLine, kernelGroupReport, summarizeErrs } from '../../sim/holdout.js';
import { replicateLines } from '../../sim/replicates.js';
import { scalingEfficiencySpec } from '../../sim/plots.js';
import type { Environment } from '../../results/schema.js';
import { buildSimRow } from '../../results/build.js';
import { LARGE_WORLD, ranWithLargerHeap } from '../heap.js';

interface SourceOptions {
  in?: string[];
  db?: string | boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function warn(s: string): void {
  process.stderr.write(`attnbench: ${s}\n`);
}

function pct(x: number | null): string {
  return x === null ? '-' : `${x.toFixed(1)}%`;
}

function summaryLine(what: string, s: ErrorSummary): string {
  return `${what}: n=${s.n} median |err| ${pct(s.medianAbsPct)}, mean ${pct(s.meanAbsPct)}, max ${pct(s.maxAbsPct)}`;
}

async function sources(o: SourceOptions): Promise<ResultRow[]> {
  const files = o.in ?? [];
  if (files.length === 0 && !o.db) throw usage('give result files with --in FILE (repeatable) and/or --db [PATH]');
  return loadRows(files, o.db, warn);
}

/** Cluster for a GPU type found in rows: built-in spec or config file; calibrated GPUs pass too. */
function clusterFactory(configFile: string | undefined, cal: Calibration | null): (gpu: string) => Cluster {
  const file = loadClusterFile(configFile);
  const calibrated = calibratedGpus(cal);
  const cache = new Map<string, Cluster>();
  return (gpu) => {
    let c = cache.get(gpu);
    if (!c) cache.set(gpu, (c = resolveCluster(gpu, { ...file, gpu }, calibrated)));
    return c;
  };
}

export interface SimRunOptions {
  preset: string;
  gpus?: string;
  seqlen?: string;
  gpu?: string;
  family?: string;
  scheme?: string;
  layout?: string;
  direction: string;
  kernel?: string;
  calibration?: string;
  config?: string;
  seed: string;
  overlap: boolean;
  trace?: string;
  out: string;
  plots?: string;
}

/** `attnbench sim run` as a function: the command's action, and `attnbench run`'s projection stage. */
export async function simRunCommand(o: SimRunOptions, how: { rerun?: boolean } = {}): Promise<void> {
  const preset = Object.hasOwn(CP_PRESETS, o.preset) ? CP_PRESETS[o.preset] : undefined; // not 'toString'
  if (!preset) throw badInput(`unknown preset '${o.preset}' (known: ${Object.keys(CP_PRESETS).join(', ')})`);
  const directions = splitList(o.direction).map((d) => {
    if (!(DIRECTIONS as readonly string[]).includes(d)) throw badInput(`invalid direction '${d}': expected fwd or bwd`);
    return d as Direction;
  });
  // Ids and sizes are parsed before any file is read or written: an unknown one is exit 2.
  const kernel = o.kernel !== undefined ? parseCurveKernel(o.kernel) : undefined;
  const families = o.family !== undefined ? parseFamilyIds(o.family) : undefined;
  const schemes = o.scheme !== undefined ? parseSchemeIds(o.scheme) : undefined;
  const seqlens = o.seqlen !== undefined ? parseTokenList(o.seqlen) : undefined;
  const gpus = o.gpus !== undefined ? parseIntList(o.gpus, 'GPU count') : undefined;
  const seed = parseInteger(o.seed, '--seed', 0);
  const layout = o.layout !== undefined ? parseLayout(o.layout) : undefined;
  // A layout key that no selected scheme knows is a typo: exit 2 here, not every row 'unsupported'.
  const chosen = SCHEMES.filter((d) => (schemes ?? preset.schemes).includes(d.id));
  const keys = [...new Set(chosen.flatMap((d) => d.params.map((p) => p.key)))];
  for (const k of Object.keys(layout ?? {}))
    if (!keys.includes(k)) throw badInput(`--layout: unknown key '${k}' for ${chosen.map((d) => d.id).join(', ')} (accepted: ${keys.join(', ') || 'none'})`);
  if (directions.length === 0) throw badInput(`invalid --direction '${o.direction}': expected fwd, bwd or fwd,bwd`);
  for (const s of seqlens ?? [])
    for (const w of gpus ?? preset.gpus)
      if (s < w) throw badInput(`--seqlen ${s} is below the world size ${w}: a CP plan needs at least one token per GPU`);
  const { calibration, path: calPath } = loadCalibration(o.calibration);
  const file = loadClusterFile(o.config);
  const cluster = resolveCluster(o.gpu, file, calibratedGpus(calibration));
  if (kernel && !hasCurve(calibration, kernel, cluster.gpu))
    warn(`no calibrated curve for kernel ${kernel} on ${cluster.gpu}: roofline fallback`);
  const kernels = makeKernelModel(cluster, calibration, kernel);
  const cases = expandProjection(preset, { gpus, seqlens, families, schemes, seed, layout });
  for (const w of new Set(cases.map((c) => c.world))) checkWorld(cluster, w);
  // Plans of ~1000 ranks can take several GB (dispatch documents and usp / loongtrain on full masks:
  // 5-8 GB at 1024): the command re-runs itself with a larger heap rather than die out of memory.
  const maxWorld = Math.max(...cases.map((c) => c.world));
  if (maxWorld >= LARGE_WORLD) {
    if (how.rerun && (await ranWithLargerHeap(maxWorld, warn))) return;
    const heapGb = v8.getHeapStatistics().heap_size_limit / 2 ** 30;
    if (heapGb < 12) warn(`plans of 512+ ranks may need more than this process's ${heapGb.toFixed(1)} GB heap: run with NODE_OPTIONS=--max-old-space-size=16384`);
  }
  const env = simEnvironment(cluster.gpuSpec.name, {
    sim_kernel_model: kernels.describe(),
    sim_calibration: calPath ?? 'none',
  });
  const rows: ResultRow[] = [];
  for (const d of directions) {
    const why = kernels.missing(d, preset.dtype);
    if (why) warn(`no kernel curve for ${why}: the roofline times these calls (rows flagged 'fallback')`);
  }
  // New rows go to <out>.partial as they come and replace their old rows in <out> only at the end.
  const sink = rowsAppender(o.out);
  const masks = new Map<string, ReturnType<typeof familyMask>>();
  for (const c of cases) {
    const row = projectCase(c, preset, {
      // Planners that choose their form by cost (dispatch) minimise this simulation's own.
      plan: (scheme, mask, world, layout, shape) => planCp(scheme, mask, world, layout, shape, { cost: simPlanCost(cluster, kernels, { dtype: preset.dtype, overlap: o.overlap }) }),
      generate: (family, seqlen, seed) => {
        const k = `${family}:${seqlen}:${seed}`;
        let g = masks.get(k);
        if (!g) masks.set(k, (g = familyMask(family, seqlen, seed)));
        return g;
      },
      cluster,
      kernels,
      env,
      overlap: o.overlap,
      directions,
      ranksUpTo: 128,
      trace: () => Boolean(o.trace) && c.world <= 64,
      onTrace: (cc, r) => {
        const f = path.join(o.trace!, `${cc.scheme}-${cc.family}-S${formatTokens(cc.seqlen)}-P${cc.world}-${r.direction}.trace.json`);
        writeJson(f, chromeTrace(r, { scheme: cc.scheme, family: cc.family, seqlen: cc.seqlen, world: cc.world }));
      },
      onTiming: (cc, planMs, simMs) => {
        if (process.stderr.isTTY) process.stderr.write(`  ${cc.scheme} ${cc.family} S=${formatTokens(cc.seqlen)} P=${cc.world}: plan ${planMs} ms, simulate ${simMs} ms\n`);
      },
    });
    rows.push(...row);
    sink.append(row);
    if (masks.size > 8) masks.clear();
  }
  const { replaced, unparsable } = sink.finish();
  if (unparsable) warn(`${o.out}: ${unparsable} line(s) that are not result rows were kept as they were`);
  process.stdout.write(`${projectionTable(rows)}\n`);
  const fb = rows.some((r) => r.notes?.some((n) => n.startsWith('fallback')));
  process.stdout.write(
    `${rows.length} simulated row(s) -> ${o.out}${replaced ? ` (${replaced} replaced)` : ''}; kernel model: ${kernels.describe()}${fb ? ' [fallback: roofline]' : ''}\n`,
  );
  if (o.plots) await drawPlots(await loadRows([o.out], undefined, warn), o.plots);
}

export function register(program: Command): void {
  const sim = program.command('sim').description('cost model: calibrate from measurements, validate, project CP plans to large clusters');

  sim
    .command('calibrate')
    .description('fit kernel efficiency curves from measured kernel rows (a quarter held out) and write the calibration JSON')
    .option('--in <file>', 'results JSONL (repeatable; FILE#kernel=K,direction=D: only those rows of FILE; k!=v leaves rows out; keys kernel, direction, family, scheme, path)', collect)
    .option('--db [path]', 'also read the results database (default attnbench-out/results.duckdb)')
    .option('--out <file>', 'calibration JSON to write', DEFAULT_CALIBRATION_PATH)
    .action(async (o: SourceOptions & { out: string }) => {
      const rows = await sources(o);
      const kernelObs = observe(rows, rowMask);
      // The CP executor's partial calls (virtual-rank rows): curves '<kernel>@cp'.
      const cpObs = cpObservations(rows, { plan: planCp, generate: rowMask, clusterFor: clusterFactory(undefined, null) });
      const skipped = [...kernelObs.skipped, ...cpObs.skipped];
      for (const s of skipped.slice(0, 5)) warn(`skipped ${s.id}: ${s.reason}`);
      if (skipped.length > 5) warn(`skipped ${skipped.length - 5} more rows whose mask or plan could not be rebuilt`);
      const observations = [...kernelObs.observations, ...cpObs.observations];
      if (observations.length === 0) {
        throw badInput('no measured kernel rows to calibrate from (need suite kernel/sparse, status ok, a GPU executor such as torch)');
      }
      const cal = calibrate(observations, {
        createdAt: new Date().toISOString(),
        gitRev: gitRev(),
        sources: [...(o.in ?? []), ...(o.db ? [typeof o.db === 'string' ? o.db : 'attnbench-out/results.duckdb'] : [])],
      });
      writeJson(o.out, cal);
      const t = new Table({ head: ['gpu', 'kernel', 'dir', 'dtype', 'rows fit/held', 'c0 ms', 'ms/TFLOP full', 'partial x', 'empty x', 'fit |err|', 'held-out |err|'], style: { head: [], border: [] } });
      for (const c of cal.curves) {
        t.push([
          c.gpu,
          c.kernel,
          c.direction,
          c.dtype,
          `${c.fitRows}/${c.holdoutRows}`,
          c.slots,
          c.c0Ms.toFixed(4),
          (c.msPerProgram * 1000).toFixed(4),
          c.msPerTflopFull.toFixed(3),
          c.msPerTflopFull > 0 ? (c.msPerTflopPartial / c.msPerTflopFull).toFixed(2) : '-',
          c.msPerTflopFull > 0 ? (c.msPerTflopEmpty / c.msPerTflopFull).toFixed(2) : '-',
          pct(c.fitMedianAbsPct),
          pct(c.holdoutMedianAbsPct),
        ]);
      }
      process.stdout.write(`${t.toString()}\n`);
      for (const c of cal.curves) if (c.assumed.length) process.stdout.write(`assumed: ${c.gpu} ${c.kernel} ${c.direction}/${c.dtype}: ${c.assumed.join('; ')}\n`);
      for (const c of cal.curves)
        if (c.fineTile) process.stdout.write(`tiles under 128: ${c.gpu} ${c.kernel} ${c.direction}/${c.dtype}: ${(c.fineTile.msPerProgram * 1000).toFixed(4)} us per program, ${c.fineTile.msPerTflop.toFixed(3)} ms per TFLOP\n`);
      for (const u of cal.uncalibrated) process.stdout.write(`no curve: ${u.gpu} ${u.kernel} ${u.direction}/${u.dtype}: ${u.reason}\n`);
      process.stdout.write(`${observations.length} rows, ${cal.curves.length} curves -> ${o.out}\n`);
      process.stdout.write(`held-out median |error|: ${pct(cal.holdoutMedianAbsPct)} (target <= 10%); fitted rows: ${pct(cal.fitMedianAbsPct)}\n`);
    });

  sim
    .command('validate')
    .description('predict every measured configuration (kernels; CP rows with world > 1) and print the errors')
    .option('--in <file>', 'results JSONL (repeatable; FILE#kernel=K,direction=D: only those rows of FILE; k!=v leaves rows out; keys kernel, direction, family, scheme, path)', collect)
    .option('--db [path]', 'also read the results database')
    .option('--calibration <file>', `calibration JSON (default ${DEFAULT_CALIBRATION_PATH} when present)`)
    .option('--config <file>', 'cluster config JSON (topology, bandwidths, GPU specs)')
    .option('--json', 'print the per-configuration predictions as JSON lines')
    .option('--out <file>', 'also write one simulated row per measured configuration (the report pairs them)')
    .option('--no-groups', 'skip the leave-one-group-out refits (heads, S range, family; CP: P, family)')
    .option('--ranks', "also print each virtual-rank CP row's per-rank measured and simulated times")
    .action(async (o: SourceOptions & { calibration?: string; config?: string; json?: boolean; out?: string; groups: boolean; ranks?: boolean }) => {
      const rows = await sources(o);
      const { calibration, path: calPath } = loadCalibration(o.calibration);
      const clusterFor = clusterFactory(o.config, calibration);
      const { observations, skipped } = observe(rows, rowMask);
      for (const s of skipped.slice(0, 5)) warn(`skipped ${s.id}: ${s.reason}`);
      const kp = validateKernels(calibration, observations, clusterFor);
      const cp = validateCp(rows, {
        plan: planCp,
        generate: rowMask,
        clusterFor,
        // The executor's own call curves ('<kernel>@cp') when calibrated, else the kernel suite's.
        kernelsFor: (cluster, kernel) => cpKernelModel(calibration, cluster, kernel),
      });
      for (const s of cp.skipped.slice(0, 5)) warn(`skipped CP row ${s.id}: ${s.reason}`);
      if (cp.skipped.length > 5) {
        const reasons = new Map<string, number>();
        for (const s of cp.skipped.slice(5)) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
        warn(`skipped ${cp.skipped.length - 5} more CP rows: ${[...reasons].map(([r, n]) => `${n} x ${r}`).join('; ')}`);
      }
      if (o.json) {
        for (const p of kp)
          process.stdout.write(`${JSON.stringify({ kind: 'kernel', id: p.obs.id, gpu: p.obs.gpu, kernel: p.obs.kernel, family: p.obs.family, seqlen: p.obs.seqlen, direction: p.obs.call.direction, heldOut: p.obs.heldOut, measuredMs: p.obs.ms, predictedMs: p.predictedMs, errorPct: p.errorPct, fallback: p.fallback })}\n`);
        for (const p of cp.predictions)
          process.stdout.write(`${JSON.stringify({ kind: 'cp', id: p.row.id, scheme: p.row.scheme, family: p.row.family, seqlen: p.row.seqlen, world: p.row.world, direction: p.row.direction, virtualRanks: p.virtualRanks, measuredMs: p.row.times!.medianMs, predictedMs: p.predictedMs, errorPct: p.errorPct, fallback: p.fallback })}\n`);
      } else {
        if (kp.length) {
          const t = new Table({ head: ['gpu', 'kernel', 'family', 'S', 'dir', 'split', 'measured ms', 'predicted ms', 'error'], style: { head: [], border: [] } });
          for (const p of kp) {
            t.push([p.obs.gpu, p.obs.kernel, p.obs.family, formatTokens(p.obs.seqlen), p.obs.call.direction, p.fallback ? 'roofline' : p.obs.heldOut ? 'held-out' : 'fitted', p.obs.ms.toPrecision(4), p.predictedMs.toPrecision(4), `${p.errorPct >= 0 ? '+' : ''}${p.errorPct.toFixed(1)}%`]);
          }
          process.stdout.write(`${t.toString()}\n`);
        }
        if (cp.predictions.length) {
          const t = new Table({ head: ['gpu', 'kernel', 'scheme', 'family', 'S', 'P', 'dir', 'ranks', 'measured ms', 'predicted ms', 'error'], style: { head: [], border: [] } });
          for (const p of cp.predictions) {
            const r = p.row;
            t.push([normalizeGpu(r.env.gpu!), `${r.kernel ?? ''}${p.fallback ? ' (roofline)' : ''}`, r.scheme ?? '', r.family, formatTokens(r.seqlen), r.world, r.direction, p.virtualRanks ? 'virtual' : 'real', r.times!.medianMs.toPrecision(4), p.predictedMs.toPrecision(4), `${p.errorPct >= 0 ? '+' : ''}${p.errorPct.toFixed(1)}%`]);
          }
          process.stdout.write(`${t.toString()}\n`);
        }
      }
      process.stdout.write(`calibration: ${calPath ?? 'none (roofline fallback everywhere)'}\n`);
      const fitted = kp.filter((p) => !p.fallback);
      process.stdout.write(`${summaryLine('kernels, held out', summarizeErrors(fitted.filter((p) => p.obs.heldOut).map((p) => p.errorPct)))} (target <= 10%)\n`);
      process.stdout.write(`${summaryLine('kernels, fitted', summarizeErrors(fitted.filter((p) => !p.obs.heldOut).map((p) => p.errorPct)))}\n`);
      const roof = kp.filter((p) => p.fallback);
      if (roof.length) process.stdout.write(`${summaryLine('kernels, roofline fallback', summarizeErrors(roof.map((p) => p.errorPct)))}\n`);
      for (const virtual of [true, false]) {
        const sel = cp.predictions.filter((p) => p.virtualRanks === virtual);
        const what = `CP plans, ${virtual ? 'virtual ranks' : 'multi-GPU'}`;
        if (sel.length) process.stdout.write(`${summaryLine(what, summarizeErrors(sel.map((p) => p.errorPct)))}\n`);
        const held = sel.filter((p) => p.heldOut);
        if (held.length && held.length < sel.length) {
          process.stdout.write(`  ${summaryLine('held out (their calls never fitted)', summarizeErrors(held.map((p) => p.errorPct)))}\n`);
          process.stdout.write(`  ${summaryLine('the others', summarizeErrors(sel.filter((p) => !p.heldOut).map((p) => p.errorPct)))}\n`);
        }
        // By GPU, tokens per rank and direction: the errors differ most along these.
        const groups = new Map<string, number[]>();
        for (const p of sel) {
          const k = `${normalizeGpu(p.row.env.gpu!)}, ${formatTokens(p.row.seqlen / p.row.world)} tokens per rank, ${p.row.direction}`;
          groups.set(k, [...(groups.get(k) ?? []), p.errorPct]);
        }
        if (groups.size > 1) for (const [k, errs] of [...groups].sort()) process.stdout.write(`  ${summaryLine(k, summarizeErrors(errs))}\n`);
        if (sel.length) for (const l of cpSchemeLines(sel)) process.stdout.write(`  by scheme: ${l}\n`);
        if (o.ranks) for (const l of cpRankLines(sel)) process.stdout.write(`  ranks: ${l}\n`);
      }
      if (!kp.length && !cp.predictions.length) process.stdout.write('no measured GPU configuration found in the given results\n');
      if (o.out) {
        // Ids name the case, not the GPU or the input path: the same case measured on two GPU types
        // (or by flex in both mask forms) has one id.
        const byId = new Map(rows.filter((r) => r.env.gpu).map((r) => [`${normalizeGpu(r.env.gpu!)}|${kernelPath(r)}|${r.id}`, r]));
        const predicted: ResultRow[] = [];
        for (const p of kp) {
          const m = byId.get(`${p.obs.gpu}|${p.obs.kernel}|${p.obs.id}`);
          if (m) predicted.push(predictedRow(m, p.predictedMs, p.fallback, calPath));
        }
        for (const p of cp.predictions) predicted.push(predictedRow(p.row, p.predictedMs, p.fallback, calPath));
        const { replaced, unparsable } = writeRowsMerged(o.out, predicted);
        if (unparsable) warn(`${o.out}: ${unparsable} line(s) that are not result rows were kept as they were`);
        process.stdout.write(`${predicted.length} predicted row(s) -> ${o.out}${replaced ? ` (${replaced} replaced)` : ''}\n`);
      }
      process.stdout.write(`${summaryLine('total', summarizeErrors([...kp.map((p) => p.errorPct), ...cp.predictions.map((p) => p.errorPct)]))}\n`);
      if (calibration) for (const u of calibration.uncalibrated) process.stdout.write(`no curve (${u.reason}): ${u.gpu} ${u.kernel} ${u.direction}/${u.dtype}; its rows above used the roofline\n`);
      if (o.groups) generalizationReport(rows, observations);
    });

  sim
    .command('run')
    .description('project CP schemes x mask families to clusters of many GPUs; writes simulated result rows')
    .option('--preset <name>', `named projection (${Object.keys(CP_PRESETS).join(', ')})`, 'paper-cp')
    .option('--gpus <list>', 'world sizes, e.g. 8,16,32,64,96 (default: the preset, 8 to 1024)')
    .option('--seqlen <list>', 'total sequence lengths, e.g. 1M,4M,16M (default: tokens per GPU x P)')
    .option('--gpu <type>', `GPU type (${Object.keys(GPU_SPECS).join(', ')}, or one defined in --config)`)
    .option('--family <ids>', 'comma-separated mask families (default: the preset)')
    .option('--scheme <ids>', 'comma-separated CP schemes (default: every scheme)')
    .option('--layout <k=v,...>', 'scheme layout over the defaults, applied to every scheme given (e.g. sharding=granules for dispatch)')
    .option('--direction <list>', 'fwd, bwd or fwd,bwd', 'fwd,bwd')
    .option('--kernel <id>', 'kernel whose calibrated curves time the partial attention (default: the best-covered one)')
    .option('--calibration <file>', `calibration JSON (default ${DEFAULT_CALIBRATION_PATH} when present)`)
    .option('--config <file>', 'cluster config JSON (topology, bandwidths, GPU specs)')
    .option('--seed <n>', 'mask seed', '0')
    .option('--no-overlap', 'do not overlap communication with compute')
    .option('--trace <dir>', 'write a Chrome trace (Perfetto) per simulated case with P <= 64 into this folder')
    .option('--out <file>', 'result rows (JSONL; rows with the same id are replaced)', 'attnbench-out/sim.jsonl')
    .option('--plots <dir>', 'also draw TFLOP/s per GPU and scaling efficiency vs P and vs S from --out into this folder')
    .action((o: SimRunOptions) => simRunCommand(o, { rerun: true }));

  sim
    .command('network')
    .description('compare the network model with published NCCL bus-bandwidth figures (src/sim/nccl-published.json); --fit refits the link constants')
    .option('--config <file>', 'cluster config JSON (link bandwidths, efficiencies, latencies)')
    .option('--fit', 'also fit NVLink / InfiniBand efficiency and latency to the figures and compare with those')
    .action(async (o: { config?: string; fit?: boolean }) => {
      const { networkReport } = await import('./sim-network.js');
      process.stdout.write(networkReport(loadClusterFile(o.config), Boolean(o.fit)));
    });

  sim
    .command('estimate')
    .description('device time of a planned kernel sweep (attnbench kernels --plan-dir DIR), case by case in run order, and where calls of --budget-s end')
    .requiredOption('--plan-dir <dir>', 'folder written by attnbench kernels --executor torch ... --plan-dir')
    .option('--calibration <file>', `calibration JSON (default ${DEFAULT_CALIBRATION_PATH} when present)`)
    .option('--gpu <type>', 'GPU type whose curves time the kernels', 'h200')
    .option('--budget-s <n>', 'seconds per device call (splits the run order into calls)', '500')
    .action(async (o: { planDir: string; calibration?: string; gpu: string; budgetS: string }) => {
      const { estimateReport } = await import('./sim-estimate.js');
      process.stdout.write(estimateReport({ ...o, budgetS: parseInteger(o.budgetS, '--budget-s') }));
    });

  sim
    .command('plots')
    .description('draw projections: TFLOP/s per GPU and scaling efficiency vs GPUs and vs S (SVG and PNG)')
    .option('--in <file>', 'result rows JSONL with simulated CP rows (repeatable; measured CP rows are drawn beside them)', collect)
    .option('--db [path]', 'also read the results database')
    .option('--out <dir>', 'folder for the pictures', 'attnbench-out/sim-plots')
    .action(async (o: SourceOptions & { out: string }) => {
      await drawPlots(await sources(o), o.out);
    });
}

/**
 * Leave-one-group-out validation (issue 15): the kernel model per GPU type with heads, S ranges and
 * families held out; CP virtual-rank rows with their P or their family held out.
 */
function generalizationReport(rows: readonly ResultRow[], kernelObs: ReturnType<typeof observe>['observations']): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('');
  for (const gpu of [...new Set(kernelObs.map((x) => x.gpu))].sort()) for (const l of kernelGroupReport(kernelObs, gpu)) out(l);
  for (const l of replicateLines(kernelObs)) out(l);
  const clusterFor = clusterFactory(undefined, null);
  const cpObs = cpObservations(rows, { plan: planCp, generate: rowMask, clusterFor }).observations;
  if (!cpObs.length) return;
  const all = [...kernelObs, ...cpObs];
  const kernelsFor = (cal: Calibration, cluster: Cluster, kernel: string | null) => cpKernelModel(cal, cluster, kernel);
  out('CP virtual-rank rows, whole groups held out (kernel curves refitted without them):');
  for (const axis of ['world', 'family'] as const) {
    const groups = cpLeaveGroupOut(rows, all, { plan: planCp, generate: rowMask, clusterFor }, kernelsFor, axis);
    const preds = groups.flatMap((g) => g.predictions);
    for (const gpu of [...new Set(preds.map((p) => normalizeGpu(p.row.env.gpu!)))].sort()) {
      const mine = preds.filter((p) => normalizeGpu(p.row.env.gpu!) === gpu);
      const s = summarizeErrs(mine.map((p) => p.errorPct));
      out(`  ${groupLine(`${gpu}, leave one ${axis === 'world' ? 'P' : 'family'} out (${groups.length} groups)`, s)} (target: median <= 10%)`);
      for (const l of cpTokensLines(mine)) out(`    ${l}`);
    }
  }
}

/** A simulated row for a measured configuration: same identity (so the report pairs them), predicted time (src/results buildSimRow). */
function predictedRow(m: ResultRow, predictedMs: number, fallback: boolean, calPath: string | null): ResultRow {
  const env: Environment = simEnvironment(m.env.gpu ?? 'unknown GPU', { sim_calibration: calPath ?? 'none' });
  const notes = [`prediction of ${m.id} (measured ${m.times!.medianMs.toPrecision(4)} ms)`, ...(fallback ? ['fallback: roofline kernel time'] : [])];
  const id = `sim:${m.env.gpu ? normalizeGpu(m.env.gpu) : 'gpu'}:${m.id}`;
  return buildSimRow(m, m.area, { status: m.status, message: null, makespanMs: predictedMs, notes }, env, id, m.layout);
}

/** Renders the projection plots (vega-lite -> SVG -> PNG) into `dir`. */
async function drawPlots(rows: readonly ResultRow[], dir: string): Promise<void> {
  const { cpScalingSpec, cpSeqlenSpec } = await import('../../report/specs.js');
  const { specToSvg, svgToPng } = await import('../../report/render.js');
  const fs = await import('node:fs');
  const cp = rows.filter((r) => r.suite === 'cp' || r.scheme);
  const plots = [
    ['sim-cp-tflops-vs-gpus', cpScalingSpec(cp)],
    ['sim-cp-tflops-vs-seqlen', cpSeqlenSpec(cp)],
    ['sim-cp-efficiency-vs-gpus', scalingEfficiencySpec(cp, 'world')],
    ['sim-cp-efficiency-vs-seqlen', scalingEfficiencySpec(cp, 'seqlen')],
  ] as const;
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const [name, spec] of plots) {
    if (!spec) continue;
    const svg = await specToSvg(spec);
    fs.writeFileSync(path.join(dir, `${name}.svg`), svg);
    fs.writeFileSync(path.join(dir, `${name}.png`), svgToPng(svg));
    n++;
  }
  process.stdout.write(`${n} plot(s) -> ${dir}\n`);
}

/** TFLOP/s per GPU: (scheme, family, dir) x (P, S). */
function projectionTable(rows: readonly ResultRow[]): string {
  const cols = [...new Set(rows.map((r) => `${r.world}:${r.seqlen}`))].sort((a, b) => {
    const [pa, sa] = a.split(':').map(Number);
    const [pb, sb] = b.split(':').map(Number);
    return pa - pb || sa - sb;
  });
  const groups = new Map<string, Map<string, ResultRow>>();
  for (const r of rows) {
    const k = `${r.scheme}\u0000${r.family}\u0000${r.direction}`;
    if (!groups.has(k)) groups.set(k, new Map());
    groups.get(k)!.set(`${r.world}:${r.seqlen}`, r);
  }
  const t = new Table({
    head: ['scheme', 'family', 'dir', ...cols.map((c) => `P${c.split(':')[0]} ${formatTokens(Number(c.split(':')[1]))}`)],
    style: { head: [], border: [] },
  });
  for (const [k, m] of groups) {
    const [scheme, family, dir] = k.split('\u0000');
    t.push([scheme, family, dir, ...cols.map((c) => {
      const r = m.get(c);
      if (!r) return '';
      if (r.status !== 'ok') return r.status;
      return (r.tflops ?? 0).toFixed(0);
    })]);
  }
  return `${t.toString()}\n(simulated TFLOP/s per GPU, slowest rank)`;
}
