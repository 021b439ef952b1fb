// The one case-id grammar. A case id names what was measured, so the same case gets the same id on
// every machine and in every run (--resume, idempotent ingest, measured/simulated pairing):
//
//   kernel suites:  <kernel>/<family>/<S>/<dir>/<hash10>
//   CP:             <scheme>/<family>/<S>/P<world>/<dir>/<hash10>
//
// hash10 = the first 10 hex digits of FNV-1a 64 over every field that changes the measurement
// (suite, kernel, family, mask parameters, seed, S, batch, heads, head dim, dtype, direction; for
// CP also scheme, layout, world, executor and launch), not over timing policy. The readable head is
// for people; the hash is what makes it unique. Rows written before this grammar carry other ids:
// caseIdOfRow recomputes the id from a row's fields, so --resume recognizes them too.
import type { Dtype, ExecutorId, SchemeId } from '../ids.js';
import type { Direction, ResultRow, Suite } from './schema.js';

/** Every field of a case that makes it a different measurement. */
export interface CaseKey {
  readonly suite: Suite;
  readonly executor: ExecutorId | 'sim';
  readonly kernel: string | null;
  readonly scheme: SchemeId | null;
  readonly family: string;
  readonly maskParams: Readonly<Record<string, number | string>>;
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
  readonly layout: Readonly<Record<string, number | string>> | null;
  /** CP: how the ranks ran (`threads`, `virtual-cuda`, `nccl`, `gloo` ...). */
  readonly launch?: string;
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

const sortedEntries = (o: Readonly<Record<string, number | string>>) => Object.entries(o).sort(([a], [b]) => a.localeCompare(b));

export function caseId(k: CaseKey): string {
  const fields = [
    k.suite,
    k.kernel,
    k.family,
    JSON.stringify(sortedEntries(k.maskParams)),
    k.seed,
    k.seqlen,
    k.batch,
    k.headsQ,
    k.headsKv,
    k.headDim,
    k.dtype,
    k.direction,
  ];
  if (k.scheme === null) return `${k.kernel}/${k.family}/${k.seqlen}/${k.direction}/${hash64(fields.join('|')).slice(0, 10)}`;
  const layout = sortedEntries(k.layout ?? {}).filter(([key]) => key !== 'virtualRanks');
  const cp = [...fields, k.scheme, JSON.stringify(layout), k.world, k.executor, k.launch ?? ''];
  return `${k.scheme}/${k.family}/${k.seqlen}/P${k.world}/${k.direction}/${hash64(cp.join('|')).slice(0, 10)}`;
}

/** How a CP row's ranks ran, from what the row records (layout.virtualRanks, env's backend and GPU). */
export function launchOfRow(r: ResultRow): string | undefined {
  if (r.scheme === null) return undefined;
  if (r.executor === 'cpu') return 'threads';
  if (r.executor === 'sim') return 'sim';
  const device = r.env.gpu ? 'cuda' : 'cpu';
  if (r.layout?.virtualRanks !== undefined) return `virtual-${device}`;
  return r.env.libs.backend ?? `dist-${device}`;
}

/** The id a row's case has in this grammar (whatever id the row was written with). */
export function caseIdOfRow(r: ResultRow): string {
  return caseId({ ...r, launch: launchOfRow(r) });
}
