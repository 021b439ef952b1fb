// Checks every command gets before its action runs (a commander preAction hook): paths (see
// src/util/paths.ts), flags that need or exclude another, and document-length sources. One table
// per command, so a new path flag is one entry; the drill suite (test/drills) tries them all.
import fs from 'node:fs';
import type { Command } from 'commander';
import { badInput, usage } from '../errors.js';
import { checkWorkerEnv, WORKER_COMMANDS } from './worker-env.js';
import { formatLineError, parseResultJsonl } from '../store/parse.js';
import { resolveDocLens } from '../mask/doclen/load.js';
import { checkPath, type PathKind } from '../util/paths.js';
import { cpuCpBytes, guardMemory, guardPlan, parseBytes } from '../util/budget.js';
import { HEAP_PARENT_ENV, heapTargetMb, LARGE_WORLD } from './heap.js';
import { parseHeadDim, parseHeads, parseInteger, parseIntList, parseTokenList, splitList } from '../util/parse.js';
import { CP_PRESETS } from '../sim/project.js';
import { parseSource } from '../sim/io.js';
import { lockNow, type Lock } from '../util/lock.js';
import { SCHEME_IDS } from '../cp/types.js';
import type { Suite } from '../results/schema.js';

type Paths = Readonly<Record<string, PathKind>>;

/** Path options per command (attribute name -> kind). */
export const PATH_OPTIONS: Readonly<Record<string, Paths>> = {
  run: { out: 'out-dir' },
  masks: { out: 'out-dir' },
  kernels: { out: 'out-file', planDir: 'out-dir', ingest: 'in-file' },
  'cp run': { out: 'out-file', trace: 'out-dir', traceDir: 'out-dir', jobDir: 'out-dir', planDir: 'out-dir', calibration: 'in-file' },
  'cp sbatch': { dir: 'out-dir', script: 'out-file', calibration: 'in-file' },
  'sim calibrate': { in: 'in-file', db: 'in-file', out: 'out-file' },
  'sim validate': { in: 'in-file', db: 'in-file', calibration: 'in-file', config: 'in-file', out: 'out-file' },
  'sim run': { calibration: 'in-file', config: 'in-file', trace: 'out-dir', out: 'out-file', plots: 'out-dir' },
  'sim plots': { in: 'in-file', db: 'in-file', out: 'out-dir' },
  'sim network': { config: 'in-file' },
  'sim estimate': { planDir: 'in-dir', calibration: 'in-file' },
  results: { db: 'out-file', ingest: 'in-file', export: 'out-file' },
  report: { db: 'in-file', in: 'in-file', out: 'out-dir', trace: 'in-file' },
  dashboard: { db: 'in-file' },
};

/** Commands that append to a results file: one writer per file (a second exits 2 naming the first's pid). */
export const OUT_LOCKS: Readonly<Record<string, string>> = {
  kernels: 'out',
  'cp run': 'out',
  'sim run': 'out',
  'sim validate': 'out',
  'sim calibrate': 'out',
};

/** Commands that append result rows to --out (a JSONL of ours): an existing one must hold only rows. */
export const RESULT_OUTS: Readonly<Record<string, string>> = {
  kernels: 'out',
  'cp run': 'out',
  'sim run': 'out',
  'sim validate': 'out',
};

/**
 * The rows each command's --out holds: measurements (kernels, cp run) or predictions (sim). An --out
 * of another command's rows was appended to (sim predictions in a file of measured kernel rows,
 * where `sim calibrate` would fit them as measurements) and settled nothing on --resume.
 */
export const OUT_ROWS: Readonly<Record<string, { readonly suites?: readonly Suite[]; readonly sim: boolean; readonly what: string }>> = {
  // kernels writes both kernel suites: a preset's block_sparse cases (sparse, calibrate) are 'sparse' rows
  kernels: { suites: ['kernel', 'sparse'], sim: false, what: 'measured kernel rows (attnbench kernels)' },
  'cp run': { suites: ['cp'], sim: false, what: 'measured CP rows (attnbench cp run)' },
  'sim run': { sim: true, what: 'simulator rows (attnbench sim run)' },
  'sim validate': { sim: true, what: 'simulator rows (attnbench sim validate)' },
};

/**
 * An existing results file that is not ours (random bytes, JSON of another shape, a malformed line
 * before the end) is refused before anything runs: appending to it, or resuming from it (where
 * such lines settle nothing), would bury new rows in a file no reader accepts. A torn last line
 * (no newline: a killed run) is fine; the writer repairs it.
 */
export function checkResultsOut(file: string, flag: string, externalKernels = false, command?: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // not there yet
  }
  if (!st.isFile() || st.size === 0) return;
  const text = fs.readFileSync(file, 'utf8');
  const lastLine = text.split('\n').length;
  // With --kernel-module, rows of its kernels are ours: their ids are registered only after this check (python describes them).
  const parsed = parseResultJsonl(text, file);
  const errors = parsed.errors.filter(
    (e) => (text.endsWith('\n') || e.line !== lastLine) && !(externalKernels && /^not a result row: kernel: unknown kernel '[^']*'.*--kernel-module\)$/.test(e.message)),
  );
  if (errors.length)
    throw badInput(`${flag} '${file}' is not a results file of attnbench: ${formatLineError(errors[0])}${errors.length > 1 ? ` (+${errors.length - 1} more bad lines)` : ''}; pick another ${flag} or move it away`);
  const want = command !== undefined ? OUT_ROWS[command] : undefined;
  const other = want && parsed.rows.find(({ row }) => (row.executor === 'sim') !== want.sim || (want.suites !== undefined && !want.suites.includes(row.suite)));
  if (want && other)
    throw badInput(
      `${flag} '${file}' holds rows of another kind (line ${other.line}: a ${other.row.suite} row of executor ${other.row.executor}); this command appends ${want.what}: pick another ${flag}`,
    );
}

const commandLocks: Lock[] = [];

/** Releases the --out locks taken for the commands run so far (after the action, or its failure). */
export function releaseCommandLocks(): void {
  for (const l of commandLocks.splice(0)) l.release();
}

/** [flag, the flag it needs] pairs per command. */
export const NEEDS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  kernels: [['retry', 'resume']],
};

/** Pairs of flags that cannot be given together. */
export const CONFLICTS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  'cp run': [['trace', 'traceDir']],
  'cp sbatch': [['trace', 'traceDir']],
};

const flagOf = (attr: string) => `--${attr.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function commandPath(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x?.parent; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

/**
 * An option given on the command line with an empty (or blank) value is a mistake, never "the
 * default": `--seqlen ''`, `--python ''` or `--retry ''` used to run with the default silently or
 * fail deep inside (an internal error). Repeatable options are checked item by item.
 */
export function checkNoEmptyValues(cmd: Command): void {
  for (const opt of cmd.options) {
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) !== 'cli') continue;
    const v: unknown = cmd.getOptionValue(attr);
    const blank = (x: unknown) => typeof x === 'string' && x.trim() === '';
    if (blank(v) || (Array.isArray(v) && v.some(blank))) throw usage(`empty ${opt.long ?? opt.flags} value: give a value or leave the flag out`);
  }
}

/** Runs the checks of `cmd` on its parsed options; throws a usage / bad-input error (exit 2). */
export function checkCommand(cmd: Command): void {
  checkNoEmptyValues(cmd);
  const name = commandPath(cmd);
  const o = cmd.opts() as Record<string, unknown>;
  const given = (k: string) => o[k] !== undefined && o[k] !== false && cmd.getOptionValueSource(k) !== 'default';
  for (const [a, b] of NEEDS[name] ?? []) if (given(a) && !given(b)) throw usage(`${flagOf(a)} needs ${flagOf(b)}`);
  for (const [a, b] of CONFLICTS[name] ?? []) if (given(a) && given(b)) throw usage(`${flagOf(a)} and ${flagOf(b)} cannot be given together`);
  let root = cmd;
  while (root.parent) root = root.parent;
  const lock = checkOptions(name, o, ((root.opts() as { kernelModule?: string[] }).kernelModule ?? []).length > 0);
  if (lock) commandLocks.push(lock);
}

/**
 * The checks of one command's options that do not need commander: paths, document lengths,
 * budgets, and the --out lock, returned (the caller releases it). `attnbench run` calls the
 * commands' functions through this, so a stage gets the same checks as the command typed.
 */
export function checkOptions(name: string, o: Readonly<Record<string, unknown>>, externalKernels = false): Lock | undefined {
  if (o.list || o.listPresets) return undefined; // listings write nothing
  if (WORKER_COMMANDS.has(name)) checkWorkerEnv();
  const paths = { ...(PATH_OPTIONS[name] ?? {}) };
  // File mode: with --ingest, --plan-dir is where the jobs were planned (read, not written).
  if (name === 'kernels' && o.ingest !== undefined) paths.planDir = 'in-dir';
  for (const [attr, kind] of Object.entries(paths)) {
    const v = o[attr];
    if (v === undefined || v === true || v === false) continue;
    // The simulator's --in reads FILE#kernel=K as FILE (sim/io.ts parseSource).
    const file = (p: unknown) => (attr === 'in' && name.startsWith('sim ') ? parseSource(String(p)).file : String(p));
    for (const p of Array.isArray(v) ? v : [v]) checkPath(file(p), kind, flagOf(attr));
  }
  // A document-length source is read here, once: a missing or malformed file fails before any case runs.
  if (typeof o.doclens === 'string') resolveDocLens(o.doclens, 4096);
  checkBudgets(name, o);
  // File mode plans (--plan-dir without --ingest) write no rows.
  const lockAttr = OUT_LOCKS[name];
  const planOnly = o.planDir !== undefined && o.ingest === undefined;
  const rowsAttr = RESULT_OUTS[name];
  if (rowsAttr && typeof o[rowsAttr] === 'string' && !planOnly) checkResultsOut(o[rowsAttr] as string, flagOf(rowsAttr), externalKernels, name);
  return lockAttr && typeof o[lockAttr] === 'string' && !planOnly ? lockNow(o[lockAttr] as string, flagOf(lockAttr)) : undefined;
}

/** Memory budgets of the commands that plan or allocate by the flags (util/budget.ts), before anything runs. */
function checkBudgets(name: string, o: Readonly<Record<string, unknown>>): void {
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const schemesOf = (fallback: readonly string[]) => (str('scheme') ? splitList(str('scheme')!) : fallback).filter((s) => (SCHEME_IDS as readonly string[]).includes(s));
  let worlds: number[] = [];
  let schemes: string[] = [];
  if (name === 'cp plan' || name === 'cp run') {
    worlds = str('world') ? parseIntList(str('world')!, 'world') : [];
    schemes = schemesOf(SCHEME_IDS);
  } else if (name === 'sim run') {
    const presetName = str('preset') ?? 'paper-cp';
    const preset = Object.hasOwn(CP_PRESETS, presetName) ? CP_PRESETS[presetName] : undefined;
    worlds = str('gpus') ? parseIntList(str('gpus')!, 'GPU count') : [];
    schemes = schemesOf(preset?.schemes ?? SCHEME_IDS);
  }
  // cp plan and sim run re-run themselves with a larger heap from LARGE_WORLD ranks (heap.ts): their
  // plans are checked against that heap, not this process's.
  const rerunMb = name === 'cp plan' || name === 'sim run' ? heapTargetMb(16) : null;
  for (const w of worlds) for (const s of schemes) guardPlan(s, w, rerunMb !== null && w >= LARGE_WORLD && !process.env[HEAP_PARENT_ENV] ? rerunMb * 2 ** 20 : undefined);
  if (name === 'cp run' && (str('executor') ?? 'cpu') === 'cpu' && str('seqlen')) {
    const { headsQ, headsKv } = parseHeads(str('heads') ?? '8:4');
    const d = parseHeadDim(str('headDim') ?? '32', 'head-dim');
    const S = Math.max(...parseTokenList(str('seqlen')!));
    guardMemory(`cp run --executor cpu at S=${S} (${headsQ}:${headsKv} heads x ${d})`, cpuCpBytes(S, headsQ, headsKv, d, o.reference !== false));
  }
}

/** Installs the checks on a program (every subcommand, present and future). */
export function installGuards(program: Command): Command {
  return program
    .option('--mem-budget <size>', 'memory budget of the resource guards, e.g. 8G (default: 60% of this machine; env ATTNBENCH_MEM_BUDGET)')
    .option('--time-budget <s>', 'seconds a CPU sweep may be estimated to take (default 3600; env ATTNBENCH_TIME_BUDGET)')
    .hook('preAction', (root, action) => {
      checkNoEmptyValues(root);
      const r = root.opts() as { memBudget?: string; timeBudget?: string };
      if (r.memBudget !== undefined) process.env.ATTNBENCH_MEM_BUDGET = String(parseBytes(r.memBudget, '--mem-budget'));
      if (r.timeBudget !== undefined) process.env.ATTNBENCH_TIME_BUDGET = String(parseInteger(r.timeBudget, '--time-budget'));
      checkCommand(action);
    })
    .hook('postAction', () => releaseCommandLocks());
}
