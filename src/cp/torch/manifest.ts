// CP job files for the GPU executor (python/attnbench_worker/cp): one JSON manifest per planned
// case (plan meta, groups, every rank's buffers and steps) plus int32 arrays in a shared binary
// file for every attn / attn_bwd step's restricted mask: its slices always (the 'slices' format of
// src/mask/adapters; the reference kernel and mask_mods read them) and, in `arrays`, the ready
// arguments of the case's kernel (./partial-arrays.ts: flex's block table). Identical masks are
// stored once (one entry, and ArrayFile dedups identical arrays across entries and manifests).
//
//   dir/
//     index.json            {"format": "attnbench.cp.index", "manifests": ["<case>.json", ...]}
//     <case>.json           manifest (format below, JOB_FORMAT, JOB_VERSION 2)
//     arrays.bin            int32 arrays referenced by path (relative to dir) + offset + shape
//
// Manifest: { format, version, case: CaseMeta, groups, mask: MaskEntry (the global mask, for the
// reference), masks: MaskEntry[], ranks: RankEntry[] }. Steps keep the shape of src/cp/types.ts
// Step, with `mask` replaced by an index into masks[] and ranges written as [start, end].
// MaskEntry: { seqlenQ, seqlenK, area, slices: {qRanges [n,2], kRanges [n,2], types [n]},
// arrays: { <kernel id>: { <name>: ArrayRef | number } } }. python/attnbench_worker/cp/manifest.py
// validates it (src/contract/contract.test.ts has TypeScript write jobs and python accept them).
import { cpCaseKey } from '../../results/case-id.js';
import { attentionFlops } from '../../results/flops.js';
import fs from 'node:fs';
import path from 'node:path';
import { badInput } from '../../errors.js';
import { adapt } from '../../mask/adapters/index.js';
import { maskArea } from '../../mask/slices.js';
import type { Mask, Range } from '../../mask/types.js';
import type { Direction } from '../../results/schema.js';
import { ArrayFile, readArray } from '../../worker/arrays.js';
import type { ArrayRef, JobSlices } from '../../worker/protocol.js';
import { planStats } from '../stats.js';
import type { Plan, RankProgram, Step } from '../types.js';
import type { TorchCaseSettings } from '../exec/types.js';
import { toleranceFor } from '../../util/tolerance.js';
import { CP_INDEX_FORMAT, CP_JOB_FORMAT, CP_JOB_VERSION } from '../../contract/tables.js';
import { arrayKernels, partialArgs, type PartialArgs } from './partial-arrays.js';

export const JOB_FORMAT = CP_JOB_FORMAT;
export const JOB_VERSION = CP_JOB_VERSION;
export const INDEX_FORMAT = CP_INDEX_FORMAT;
export const ARRAYS_FILE = 'arrays.bin';
export const INDEX_FILE = 'index.json';

export type CpDtype = 'bfloat16' | 'float16' | 'float32';
/** 'auto' (src/kernels/cp-auto.ts: triton_ranges or flex on GPUs, reference on CPU tensors) or a kernel id with a partial-attention entry
 * (python kernels/<id>.py: flex, reference, triton_ranges, --kernel-module ones). */
export type CpKernel = string;

/** What a case is, besides its plan: recorded in every result row (the torch part of its run request and the mask's identity). */
export interface CpCaseMeta extends TorchCaseSettings {
  readonly family: string;
  readonly maskParams: Readonly<Record<string, number | string>>;
  readonly seed: number;
  readonly dtype: CpDtype;
  /** Partial-attention kernel ('auto' picks: triton_ranges, else flex, on GPUs; the chunked torch reference on CPU). */
  readonly kernel: CpKernel;
}

/** One planned case: the plan, the global mask it was planned from, and its meta. */
export interface CpJob {
  readonly plan: Plan;
  readonly mask: Mask;
  readonly meta: CpCaseMeta;
}

export type Pair = readonly [number, number];

export interface MaskEntry {
  readonly seqlenQ: number;
  readonly seqlenK: number;
  readonly area: number;
  readonly slices: JobSlices;
  /** Ready arguments of each kernel's partial entry for this mask (./partial-arrays.ts). */
  readonly arrays: Readonly<Record<string, PartialArgs>>;
}

export interface BufferEntry {
  readonly tensor: string;
  readonly tokens: readonly Pair[];
  readonly heads: Pair;
}

/** A step as written: src/cp/types.ts Step with mask -> index and ranges -> pairs. */
export type StepEntry = Readonly<Record<string, unknown>> & { readonly kind: Step['kind'] };

export interface RankEntry {
  readonly rank: number;
  readonly owned: readonly Pair[];
  readonly buffers: Readonly<Record<string, BufferEntry>>;
  readonly forward: readonly StepEntry[];
  readonly backward: readonly StepEntry[];
  readonly flops: { readonly fwd: number; readonly bwd: number };
  readonly bytesSent: { readonly fwd: number; readonly bwd: number };
}

export interface CaseEntry {
  readonly id: string;
  readonly scheme: Plan['scheme'];
  readonly family: string;
  readonly maskParams: Readonly<Record<string, number | string>>;
  readonly seed: number;
  readonly seqlen: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: CpDtype;
  readonly world: number;
  readonly layout: Readonly<Record<string, number | string>>;
  readonly area: number;
  readonly flops: { readonly fwd: number; readonly bwd: number };
  readonly directions: readonly Direction[];
  readonly kernel: CpKernel;
  readonly gradDtype: 'float32' | 'model';
  readonly warmup: number;
  readonly iters: number;
  readonly checkUpTo: number;
  /** Max-abs error bound of the dtype (src/util/tolerance.ts; gradients scale it, see there). */
  readonly tolerance: number;
  readonly inputSeed: number;
  readonly gitRev: string | null;
}

export interface Manifest {
  readonly format: typeof JOB_FORMAT;
  readonly version: typeof JOB_VERSION;
  readonly case: CaseEntry;
  readonly groups: Plan['groups'];
  readonly mask: MaskEntry;
  readonly masks: readonly MaskEntry[];
  readonly ranks: readonly RankEntry[];
}

export interface WriteOptions {
  /** Write the kernels' step arguments (./partial-arrays.ts; default true; the reference needs only slices). */
  readonly blockTables?: boolean;
  /** Kernels whose arguments to write (default: the case's kernel; 'auto': each it may run on GPUs, partial-arrays.ts arrayKernels). */
  readonly arrayKernels?: readonly string[];
}

const pair = (r: Range): Pair => [r.start, r.end];

/** Stable id of a case (same plan inputs -> same id); rows append direction and executor mode. */
/** The case fields that the manifest's case entry and every row of the case share. */
export function caseFacts(plan: Plan, meta: CpCaseMeta, area: number) {
  return {
    id: caseId(plan, meta),
    scheme: plan.scheme,
    family: meta.family,
    maskParams: meta.maskParams,
    seed: meta.seed,
    seqlen: plan.seqlen,
    headsQ: plan.shape.headsQ,
    headsKv: plan.shape.headsKv,
    headDim: plan.shape.headDim,
    dtype: meta.dtype,
    world: plan.world,
    layout: plan.layout,
    area,
    gitRev: meta.gitRev ?? null,
  };
}

export function caseId(plan: Plan, meta: CpCaseMeta): string {
  return cpCaseKey({ ...plan.shape, ...meta, scheme: plan.scheme, layout: plan.layout, seqlen: plan.seqlen, world: plan.world });
}

function maskKey(m: Mask): string {
  let s = `${m.seqlenQ}x${m.seqlenK}`;
  for (const x of m.slices) s += `|${x.qStart},${x.qEnd},${x.kStart},${x.kEnd},${x.kind}`;
  return s;
}

/** Writes one mask's arrays: slices always, the kernels' arguments when asked. */
function maskEntry(m: Mask, arrays: ArrayFile, kernels: readonly string[]): MaskEntry {
  const sl = adapt(m, 'slices');
  if (sl.kind !== 'ok') throw badInput(`mask ${m.seqlenQ}x${m.seqlenK}: ${sl.reason}`);
  const n = sl.value.types.length;
  const slices: JobSlices = {
    qRanges: arrays.add(sl.value.qRanges, [n, 2]),
    kRanges: arrays.add(sl.value.kRanges, [n, 2]),
    types: arrays.add(sl.value.types, [n]),
  };
  return { seqlenQ: m.seqlenQ, seqlenK: m.seqlenK, area: maskArea(m), slices, arrays: partialArgs(m, kernels, arrays) };
}

function stepEntry(s: Step, maskIndex: (m: Mask) => number): StepEntry {
  if (s.kind === 'attn' || s.kind === 'attn_bwd') {
    return { ...s, mask: maskIndex(s.mask), heads: pair(s.heads) };
  }
  return s as unknown as StepEntry;
}

function rankEntry(rp: RankProgram, maskIndex: (m: Mask) => number, flops: RankEntry['flops'], bytesSent: RankEntry['bytesSent']): RankEntry {
  const buffers: Record<string, BufferEntry> = {};
  for (const d of rp.buffers) buffers[d.name] = { tensor: d.tensor, tokens: d.tokens.map(pair), heads: pair(d.heads) };
  return {
    rank: rp.rank,
    owned: rp.owned.map(pair),
    buffers,
    forward: rp.forward.map((s) => stepEntry(s, maskIndex)),
    backward: rp.backward.map((s) => stepEntry(s, maskIndex)),
    flops,
    bytesSent,
  };
}

/** The manifest of one job; its arrays go to `arrays` (refs relative to the job folder). */
export function buildManifest(job: CpJob, arrays: ArrayFile, o: WriteOptions = {}): Manifest {
  const { plan, mask, meta } = job;
  if (mask.seqlenQ !== plan.seqlen || mask.seqlenK !== plan.seqlen)
    throw badInput(`the mask is ${mask.seqlenQ}x${mask.seqlenK} but the plan is for ${plan.seqlen} tokens`);
  if (plan.ranks.length !== plan.world) throw badInput(`plan ${plan.scheme} has ${plan.ranks.length} rank programs for world ${plan.world}`);
  const kernels = o.blockTables === false ? [] : (o.arrayKernels ?? arrayKernels(meta.kernel, { ...plan.shape, dtype: meta.dtype }));
  const masks: MaskEntry[] = [];
  const seen = new Map<Mask, number>();
  const byKey = new Map<string, number>();
  const maskIndex = (m: Mask): number => {
    const hit = seen.get(m);
    if (hit !== undefined) return hit;
    const key = maskKey(m);
    let i = byKey.get(key);
    if (i === undefined) {
      i = masks.length;
      masks.push(maskEntry(m, arrays, kernels));
      byKey.set(key, i);
    }
    seen.set(m, i);
    return i;
  };
  const stats = planStats(plan);
  const area = maskArea(mask);
  const ranks = plan.ranks.map((rp, r) =>
    rankEntry(rp, maskIndex, { fwd: stats.flopsFwd[r], bwd: stats.flopsBwd[r] }, { fwd: stats.bytesSentFwd[r], bwd: stats.bytesSentBwd[r] }),
  );
  return {
    format: JOB_FORMAT,
    version: JOB_VERSION,
    case: {
      ...caseFacts(plan, meta, area),
      flops: { fwd: attentionFlops(area, plan.shape.headsQ, plan.shape.headDim, 'fwd'), bwd: attentionFlops(area, plan.shape.headsQ, plan.shape.headDim, 'bwd') },
      directions: meta.directions ?? ['fwd', 'bwd'],
      kernel: meta.kernel,
      gradDtype: meta.gradDtype ?? 'float32',
      warmup: meta.warmup,
      iters: meta.iters,
      checkUpTo: meta.checkUpTo,
      tolerance: toleranceFor(meta.dtype),
      inputSeed: meta.inputSeed ?? 0,
    },
    groups: plan.groups,
    mask: maskEntry(mask, arrays, []),
    masks,
    ranks,
  };
}

/** File name of a case's manifest: readable and unique (a hash suffix keeps long ids short). */
export function manifestFileName(id: string, n: number): string {
  const safe = id.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
  return `${String(n).padStart(4, '0')}-${safe}.json`;
}

export interface WrittenJobs {
  readonly dir: string;
  readonly index: string;
  readonly manifests: readonly string[];
  readonly ids: readonly string[];
  readonly bytes: number;
}

/** Writes the job folder: one manifest per job, a shared arrays.bin and index.json. */
export function writeJobFiles(jobs: readonly CpJob[], dir: string, o: WriteOptions = {}): WrittenJobs {
  fs.mkdirSync(dir, { recursive: true });
  const binPath = path.join(dir, ARRAYS_FILE);
  if (fs.existsSync(binPath)) fs.rmSync(binPath);
  const arrays = new ArrayFile(binPath, dir);
  const manifests: string[] = [];
  const ids: string[] = [];
  let bytes = 0;
  try {
    jobs.forEach((job, n) => {
      const m = buildManifest(job, arrays, o);
      const name = manifestFileName(m.case.id, n);
      const text = JSON.stringify(m);
      fs.writeFileSync(path.join(dir, name), text);
      bytes += text.length;
      manifests.push(name);
      ids.push(m.case.id);
    });
  } finally {
    arrays.close();
  }
  const index = path.join(dir, INDEX_FILE);
  fs.writeFileSync(index, JSON.stringify({ format: INDEX_FORMAT, manifests }, null, 1));
  return { dir, index, manifests: manifests.map((m) => path.join(dir, m)), ids, bytes: bytes + arrays.bytes };
}

/** Reads a manifest back (tests, ingest, `--plan-only` checks). */
export function readManifest(file: string): Manifest {
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  if (m.format !== JOB_FORMAT) throw badInput(`${file}: not a CP job manifest`);
  if (m.version !== JOB_VERSION) throw badInput(`${file}: manifest version ${m.version}, expected ${JOB_VERSION}`);
  return m;
}

/** The slices of a mask entry, read back from the binary file as the python side reads them. */
export function readMaskSlices(entry: MaskEntry, dir: string): { qRanges: Int32Array; kRanges: Int32Array; types: Int32Array } {
  return {
    qRanges: readArray(entry.slices.qRanges, dir),
    kRanges: readArray(entry.slices.kRanges, dir),
    types: readArray(entry.slices.types, dir),
  };
}
