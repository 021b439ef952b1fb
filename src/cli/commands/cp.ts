// attnbench cp: context-parallel plans (statistics, checker) and real multi-rank runs.
//   cp schemes                 the schemes and their layout keys
//   cp plan --scheme S ...     plan one case, print per-rank statistics (table, or --json)
//   cp run --executor cpu ...  run plans on P ranks, compare with the reference, append result rows
import path from 'node:path';
import type { Command } from 'commander';
import { checkPlan } from '../../cp/check.js';
import { loadCpExecutor } from '../../cp/exec/index.js';
import { cpFailedRow } from '../../cp/exec/rows.js';
import { parseLayout, planCp, SCHEMES, schemeDef, sharedMask } from '../../cp/plan/index.js';
import { planStats, summarizeStats } from '../../cp/stats.js';
import { cpRunTable, planStatsTable } from '../../cp/table.js';
import type { CpLayout, CpShape, Plan } from '../../cp/types.js';
import { parseDtype, parseHeads, parseParams } from '../../config/kernel-options.js';
import { generateMask, getFamily } from '../../mask/families/index.js';
import type { GeneratedMask, Mask } from '../../mask/types.js';
import type { ResultRow } from '../../results/schema.js';
import { cpuEnvironment } from '../../util/env.js';
import { appendJsonl } from '../../util/jsonl.js';
import { formatTokens, parseInteger, parseIntList, parseTokenList, parseTokens, splitList } from '../../util/parse.js';
import { AttnbenchError, badInput, usage } from '../errors.js';

const DTYPE_BYTES: Readonly<Record<string, number>> = { bfloat16: 2, float16: 2, float32: 4 };

interface MaskOptions {
  param?: string[] | string;
  seed: string;
  doclens?: string;
}

interface PlanOptions extends MaskOptions {
  scheme?: string;
  world?: string;
  family?: string;
  seqlen?: string;
  layout?: string;
  heads: string;
  headDim: string;
  dtype: string;
  json?: boolean;
  check?: boolean;
  budget?: string;
}

interface RunOptions extends MaskOptions {
  executor: string;
  scheme?: string;
  world?: string;
  family?: string;
  seqlen?: string;
  layout?: string;
  heads: string;
  headDim: string;
  out: string;
  trace?: string;
  reference: boolean;
  timeout: string;
}

function need<T>(v: T | undefined, flag: string): T {
  if (v === undefined || v === '') throw usage(`missing required option ${flag}`);
  return v;
}

/** --param values go to the families that declare them (several families may be listed). */
function familyParams(family: string, families: readonly string[], o: MaskOptions): Record<string, number | string> {
  const all = parseParams(o.param);
  for (const k of Object.keys(all)) {
    if (!families.some((f) => getFamily(f).params.some((p) => p.name === k)))
      throw badInput(`--param ${k}: none of the families ${families.join(', ')} has a parameter '${k}'`);
  }
  const own = getFamily(family).params.map((p) => p.name);
  return Object.fromEntries(Object.entries(all).filter(([k]) => own.includes(k)));
}

function makeMask(family: string, seqlen: number, o: MaskOptions, families: readonly string[] = [family]): { gm: GeneratedMask; mask: Mask } {
  const params = familyParams(family, families, o);
  const gm = generateMask(family, seqlen, { seed: parseInteger(o.seed, 'seed', 0), params, docLens: o.doclens });
  return { gm, mask: sharedMask(gm) };
}

function shapeOf(heads: string, headDim: string, dtypeBytes: number): CpShape {
  const h = parseHeads(heads);
  return { ...h, headDim: parseInteger(headDim, 'head-dim'), dtypeBytes };
}

function maskOptions(c: Command): Command {
  return c
    .option('--param <k=v...>', 'mask family parameter (repeatable), e.g. window=512')
    .option('--doclens <name|path>', 'document-length distribution: builtin name or histogram file')
    .option('--seed <n>', 'mask seed', '0');
}

export function register(program: Command): void {
  const cp = program.command('cp').description('context parallelism: plan schemes, check plans, run them on P ranks');

  cp.command('schemes')
    .description('list the CP schemes and their layout keys')
    .action(() => {
      for (const s of SCHEMES) {
        process.stdout.write(`${s.id}: ${s.description}\n`);
        for (const p of s.params) process.stdout.write(`  ${p.key}${p.values ? ` (${p.values.join('|')})` : ''}: ${p.description}\n`);
      }
    });

  maskOptions(
    cp
      .command('plan')
      .description('plan one case and print per-rank FLOPs, imbalance, bytes, steps and peak buffer memory')
      .option('--scheme <id>', 'CP scheme (see `cp schemes`)')
      .option('--world <P>', 'number of ranks')
      .option('--family <id>', 'mask family')
      .option('--seqlen <S>', 'sequence length, e.g. 64k or 1M')
      .option('--layout <k=v,...>', 'scheme layout, e.g. ulysses=8,ring=8')
      .option('--heads <q:kv>', 'query:KV heads', '64:8')
      .option('--head-dim <n>', 'head dimension', '128')
      .option('--dtype <t>', 'element type of Q/K/V (bytes moved)', 'bfloat16')
      .option('--check', 'run the plan checker too')
      .option('--budget <bytes>', 'memory budget per rank for --check')
      .option('--json', 'print JSON instead of a table'),
  ).action((o: PlanOptions) => {
    const scheme = schemeDef(need(o.scheme, '--scheme')).id;
    const world = parseInteger(need(o.world, '--world'), 'world');
    const seqlen = parseTokens(need(o.seqlen, '--seqlen'));
    const family = need(o.family, '--family');
    const shape = shapeOf(o.heads, o.headDim, DTYPE_BYTES[parseDtype(o.dtype)]);
    const layout = parseLayout(o.layout);
    const { gm, mask } = makeMask(family, seqlen, o);
    const t0 = performance.now();
    const plan = planCp(scheme, mask, world, layout, shape);
    const planMs = performance.now() - t0;
    const stats = planStats(plan);
    const violations = o.check ? checkPlan(plan, mask, { memoryBudgetBytes: o.budget ? parseTokens(o.budget, 'budget') : undefined }) : undefined;
    if (o.json) {
      const out = { scheme, family, maskParams: gm.params, seed: gm.seed, seqlen, world, layout: plan.layout, shape, planMs, summary: summarizeStats(stats), stats, violations };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(`${planStatsTable(plan, stats)}\nplanned in ${planMs.toFixed(1)} ms (${family}, seed ${gm.seed})\n`);
      if (violations) {
        process.stdout.write(violations.length ? `checker: ${violations.length} violation(s)\n${violations.map((v) => `  ${v.message}`).join('\n')}\n` : 'checker: ok\n');
      }
    }
    if (violations?.length) throw new AttnbenchError('internal', `the ${scheme} plan violates ${violations.length} checker rule(s)`);
  });

  maskOptions(
    cp
      .command('run')
      .description('run CP plans on P ranks (forward + backward), compare with the single-rank reference, append result rows')
      .option('--executor <id>', 'cpu (worker threads) | torch (not built yet)', 'cpu')
      .option('--scheme <ids>', 'comma-separated CP schemes')
      .option('--world <list>', 'comma-separated rank counts')
      .option('--family <ids>', 'comma-separated mask families')
      .option('--seqlen <list>', 'comma-separated sequence lengths')
      .option('--layout <k=v,...>', 'scheme layout (applied to every scheme given)')
      .option('--heads <q:kv>', 'query:KV heads', '8:4')
      .option('--head-dim <n>', 'head dimension', '32')
      .option('--out <file>', 'results JSONL (appended as measured)', 'attnbench-out/cp.jsonl')
      .option('--trace <dir>', 'write a Chrome/Perfetto trace per case into this folder')
      .option('--no-reference', 'skip the comparison with the single-rank reference')
      .option('--timeout <s>', 'seconds before a run is stopped', '300'),
  ).action(async (o: RunOptions) => {
    const schemes = splitList(need(o.scheme, '--scheme')).map((s) => schemeDef(s).id);
    const worlds = parseIntList(need(o.world, '--world'), 'world');
    const families = splitList(need(o.family, '--family'));
    const seqlens = parseTokenList(need(o.seqlen, '--seqlen'));
    const layout: CpLayout = parseLayout(o.layout);
    const timeoutMs = parseInteger(o.timeout, 'timeout') * 1000;
    const executor = await loadCpExecutor(o.executor);
    try {
      const shape = shapeOf(o.heads, o.headDim, executor.dtypeBytes);
      // Plan and check everything first: bad input fails before anything runs.
      const cases: { plan: Plan; gm: GeneratedMask; mask: Mask }[] = [];
      for (const family of families)
        for (const seqlen of seqlens) {
          const { gm, mask } = makeMask(family, seqlen, o, families);
          for (const world of worlds)
            for (const scheme of schemes) {
              const plan = planCp(scheme, mask, world, layout, shape);
              const v = checkPlan(plan, mask);
              if (v.length) throw new AttnbenchError('internal', `${scheme} plan for ${family} S=${seqlen} P=${world} fails the checker: ${v[0].message}`);
              cases.push({ plan, gm, mask });
            }
        }
      const rows: ResultRow[] = [];
      const env = cpuEnvironment();
      let failed = 0;
      for (const { plan, gm, mask } of cases) {
        const label = `${plan.scheme} ${gm.family} S=${formatTokens(plan.seqlen)} P=${plan.world}`;
        process.stderr.write(`running ${label} ...\n`);
        const tracePath = o.trace ? path.join(o.trace, `${plan.scheme}-${gm.family}-${plan.seqlen}-P${plan.world}.trace.json`) : undefined;
        const req = { plan, mask, family: gm.family, maskParams: gm.params, seed: gm.seed, check: o.reference, timeoutMs, tracePath };
        try {
          const r = await executor.run(req);
          for (const row of r.rows) {
            appendJsonl(o.out, row);
            rows.push(row);
          }
        } catch (e) {
          failed++;
          const message = (e as Error).message;
          process.stderr.write(`${label}: ${message}\n`);
          for (const direction of ['fwd', 'bwd'] as const) {
            const status = e instanceof AttnbenchError && e.code === 'timeout' ? 'timeout' : 'error';
            const row = cpFailedRow(executor.id, executor.dtype, req, direction, status, message, env);
            appendJsonl(o.out, row);
            rows.push(row);
          }
        }
      }
      process.stdout.write(`${cpRunTable(rows)}\n${rows.length} row(s) -> ${o.out}\n`);
      if (failed) throw new AttnbenchError('internal', `${failed} of ${cases.length} case(s) failed`);
    } finally {
      await executor.close();
    }
  });
}
