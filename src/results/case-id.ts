// The one place case ids are made. A case id names what was measured, so the same case gets the
// same id on every machine and in every run (--resume, idempotent ingest, measured/simulated
// pairing). The grammar (the ids committed result files already carry):
//
//   kernel suites:  <kernel>/<family>/<S>/<dir>/<hash10>
//                   hash10 = FNV-1a 64 (first 10 hex digits) of every field that changes the
//                   measurement: suite, kernel, family, mask parameters, seed, S, batch, heads,
//                   head dim, dtype, direction (not timing policy)
//   CP:             <case>|<dir>|<executor>|<launch>|<device>
//                   case   = cp:<scheme>:<layout k=v,..|->:<family>:<params k=v,..|->:seed<n>:S<n>:P<n>:<Hq>x<Hkv>x<D>:<dtype>
//                            (the CP job manifest's case id: one plan run for both directions)
//                   launch = threads (cpu executor) | virtual<P> | dist-<backend>; device = cpu | cuda
//
// caseIdOfRow recomputes the id from a row's fields, so --resume also recognizes rows written
// under an older grammar (the cpu executor's `cp|cpu|...` ids before 2026-12-04).
import type { Dtype, ExecutorId, SchemeId } from '../ids.js';
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

/** A CP row id from its case part. */
export function cpRowId(caseKey: string, direction: Direction, executor: string, launch: string, device: string): string {
  return `${caseKey}|${direction}|${executor}|${launch}|${device}`;
}

export function caseId(k: CaseKey): string {
  if (k.scheme !== null) {
    const key = cpCaseKey({ ...k, scheme: k.scheme, layout: k.layout ?? {} });
    return cpRowId(key, k.direction, k.executor, k.launch ?? '-', k.device ?? '-');
  }
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

/** How a CP row's ranks ran and on what, from what the row records (layout, env's backend and GPU). */
export function launchOfRow(r: ResultRow): { launch?: string; device?: string } {
  if (r.scheme === null) return {};
  if (r.executor === 'cpu') return { launch: 'threads', device: 'cpu' };
  const device = r.env.gpu ? 'cuda' : 'cpu';
  if (r.layout?.virtualRanks !== undefined) return { launch: `virtual${r.world}`, device };
  return { launch: `dist-${r.env.libs.backend ?? 'none'}`, device };
}

/** The id a row's case has in this grammar (whatever id the row was written with). */
export function caseIdOfRow(r: ResultRow): string {
  return caseId({ ...r, ...launchOfRow(r) });
}
