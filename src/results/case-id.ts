// The one place case ids are made. A case id names what was measured, so the same case gets the
// same id on every machine and in every run (--resume, idempotent ingest, newest-row-wins in the
// results database, measured/simulated pairing). One grammar for every suite:
//
//   <case>|<dir>|<executor>[|<launch>|<device>|<kernel>]
//   kernel suites:  case = <suite>:<kernel>:<family>:<params k=v,..|->:seed<n>:S<n>:B<n>:<Hq>x<Hkv>x<D>:<dtype>
//   CP:             case = cp:<scheme>:<layout k=v,..|->:<family>:<params k=v,..|->:seed<n>:S<n>:P<n>:<Hq>x<Hkv>x<D>:<dtype>
//                          (the CP job manifest's case id: one plan run for both directions)
//                   launch = threads (cpu executor) | virtual<P> | dist-<backend>; device = cpu | cuda
//                   kernel = the partial-attention kernel the ranks ran, RESOLVED (cpKernelOf): `auto` is
//                            triton_ranges on cuda where its limits take the shape (else flex) and the
//                            reference on cpu, as python's make_kernel picks it (src/kernels/cp-auto.ts,
//                            python/attnbench_worker/cp/partial.py); the cpu executor's is cpu_tiled.
//                            The job case stays kernel-free: one job folder (manifest ids) serves every kernel.
//   (simulated rows carry the simulator's own ids: they name the modelled cluster or the measured row.)
//
// Every field that changes the measurement is in the case; timing policy (warm-up, iterations) is
// not. Ids written under older grammars are aliases: caseIdOfRow recomputes a row's id in this
// grammar from its fields, so --resume (src/results/resume.ts) and the results database (which
// keeps the newest row per caseIdOfRow, src/store) treat them as the case they are:
//   kernel rows before 2026-12-05: <kernel>/<family>/<S>/<dir>/<hash10> (legacyKernelId: FNV-1a 64
//                                  of the same fields, first 10 hex digits)
//   cpu CP rows before 2026-12-04: cp|cpu|...
//   CP rows before 2026-12-05:     <case>|<dir>|<executor>|<launch>|<device> (no kernel segment: a run
//                                  with another --kernel into the same --out was skipped by --resume).
//                                  Torch rows of cases that failed then may record kernel null: they
//                                  count as what `auto` ran then: flex on cuda, the reference on cpu
//                                  (caseIdOfRow; `auto` was flex on cuda until issue 13 made it triton_ranges).
import type { Dtype, ExecutorId, SchemeId } from '../ids.js';
import { cpAutoKernel, type CpAutoShape } from '../kernels/cp-auto.js';
import type { Direction, ResultRow, Suite } from './schema.js';

type Params = Readonly<Record<string, number | string>>;

/** Every field of a case that makes it a different measurement. */
export interface CaseKey {
  readonly suite: Suite;
  readonly executor: ExecutorId | 'sim';
  readonly kernel: string | null;
  readonly scheme: SchemeId | null;
  readonly family: string;
  readonly maskParams: Params;
  readonly seed: number;
  readonly seqlen: number;
  readonly batch: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: Dtype;
  readonly direction: Direction;
  readonly world: number;
  /** CP layout (the executor's bookkeeping key `virtualRanks` is not part of it). */
  readonly layout: Params | null;
  /** CP: how the ranks ran: `threads`, `virtual<P>`, `dist-<backend>`. */
  readonly launch?: string;
  /** CP: `cpu` or `cuda`. */
  readonly device?: string;
}

/**
 * The kernel segment of a CP id: the partial-attention kernel as the row records it. `auto` (and no
 * kernel) resolves as python's make_kernel does (src/kernels/cp-auto.ts): on cuda triton_ranges when
 * its limits take the shape (head dim, dtype, GQA group), else flex; the reference on cpu. (Where
 * that kernel cannot load on a GPU, python runs the next candidate and its rows say so: they then do
 * not settle the planned case, and --resume runs it again.)
 */
export function cpKernelOf(kernel: string | null | undefined, device: string | undefined, shape: CpAutoShape): string {
  if (kernel !== null && kernel !== undefined && kernel !== 'auto') return kernel;
  return cpAutoKernel(device, shape);
}

/** What a CP row that recorded no kernel ran (torch rows of failed cases before 2026-12-05): `auto` of then. */
export const legacyCpKernel = (device: string | undefined): string => (device === 'cuda' ? 'flex' : device === 'cpu' ? 'reference' : '-');

/** FNV-1a 64-bit of a string, as 16 hex digits: stable ids on every machine. */
export function hash64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

const kv = (o: Params) =>
  Object.keys(o)
    .filter((k) => k !== 'virtualRanks')
    .sort()
    .map((k) => `${k}=${o[k]}`)
    .join(',');

/** The case part of a CP id (also the id of its job manifest). */
export function cpCaseKey(c: {
  readonly scheme: string;
  readonly layout: Params;
  readonly family: string;
  readonly maskParams: Params;
  readonly seed: number;
  readonly seqlen: number;
  readonly world: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly headDim: number;
  readonly dtype: string;
}): string {
  return ['cp', c.scheme, kv(c.layout) || '-', c.family, kv(c.maskParams) || '-', `seed${c.seed}`, `S${c.seqlen}`, `P${c.world}`, `${c.headsQ}x${c.headsKv}x${c.headDim}`, c.dtype].join(':');
}

/** A CP row id from its case part; `kernel` is the resolved one (cpKernelOf). */
export function cpRowId(caseKey: string, direction: Direction, executor: string, launch: string, device: string, kernel: string): string {
  return `${caseKey}|${direction}|${executor}|${launch}|${device}|${kernel}`;
}

/** The case part of a kernel-suite id (every field of the measurement but the direction and executor). */
export function kernelCaseKey(k: Pick<CaseKey, 'suite' | 'kernel' | 'family' | 'maskParams' | 'seed' | 'seqlen' | 'batch' | 'headsQ' | 'headsKv' | 'headDim' | 'dtype'>): string {
  return [k.suite, k.kernel ?? '-', k.family, kv(k.maskParams) || '-', `seed${k.seed}`, `S${k.seqlen}`, `B${k.batch}`, `${k.headsQ}x${k.headsKv}x${k.headDim}`, k.dtype].join(':');
}

export function caseId(k: CaseKey): string {
  if (k.scheme !== null) {
    const key = cpCaseKey({ ...k, scheme: k.scheme, layout: k.layout ?? {} });
    return cpRowId(key, k.direction, k.executor, k.launch ?? '-', k.device ?? '-', cpKernelOf(k.kernel, k.device, k));
  }
  return `${kernelCaseKey(k)}|${k.direction}|${k.executor}`;
}

/** The id kernel-suite rows carried before 2026-12-05 (committed results files hold them): an alias of caseId. */
export function legacyKernelId(k: CaseKey): string {
  const fields = [
    k.suite,
    k.kernel,
    k.family,
    JSON.stringify(Object.entries(k.maskParams).sort(([a], [b]) => a.localeCompare(b))),
    k.seed,
    k.seqlen,
    k.batch,
    k.headsQ,
    k.headsKv,
    k.headDim,
    k.dtype,
    k.direction,
  ];
  return `${k.kernel}/${k.family}/${k.seqlen}/${k.direction}/${hash64(fields.join('|')).slice(0, 10)}`;
}

/**
 * How a CP row's ranks ran and on what, from what the row records (layout, env's backend and GPU).
 * Rows the TypeScript side wrote for failed torch cases carry no backend nor GPU in their env: their
 * own id (old grammar or this one, `...|<launch>|<device>...`) names them.
 */
export function launchOfRow(r: ResultRow): { launch?: string; device?: string } {
  if (r.scheme === null) return {};
  if (r.executor === 'cpu') return { launch: 'threads', device: 'cpu' };
  const [, , , named, namedDevice] = r.id.split('|');
  const device = r.env.gpu || namedDevice === 'cuda' ? 'cuda' : 'cpu';
  if (r.layout?.virtualRanks !== undefined) return { launch: `virtual${r.world}`, device };
  return { launch: r.env.libs.backend ? `dist-${r.env.libs.backend}` : named?.startsWith('dist-') ? named : 'dist-none', device };
}

/** The id a row's case has in this grammar (whatever id the row was written with); simulated rows keep theirs. */
export function caseIdOfRow(r: ResultRow): string {
  if (r.simulated || r.executor === 'sim') return r.id;
  const l = launchOfRow(r);
  return caseId({ ...r, ...l, ...(r.scheme !== null && r.kernel === null ? { kernel: legacyCpKernel(l.device) } : {}) });
}
