// The scheme registry: one entry per file in this folder; the id is the file name, the CLI value
// and the value stored with results. Adding a scheme = one file + one line here.
import { badInput } from '../../errors.js';
import { guardPlan } from '../../util/budget.js';
import { decimalNumber } from '../../util/parse.js';
import type { GeneratedMask, Mask } from '../../mask/types.js';
import { SCHEME_IDS, type CpLayout, type CpShape, type Plan, type Planner, type PlanOptions, type SchemeId } from '../types.js';
import type { LayoutParam } from './common.js';
import * as dispatch from './dispatch.js';
import * as loongtrain from './loongtrain.js';
import * as ringAllgather from './ring_allgather.js';
import * as ringP2p from './ring_p2p.js';
import * as ulysses from './ulysses.js';
import * as usp from './usp.js';

export interface SchemeDef {
  readonly id: SchemeId;
  readonly description: string;
  readonly params: readonly LayoutParam[];
  readonly plan: Planner;
  /** Every valid layout at this world size and shape (test matrices, sweeps). */
  readonly layouts: (world: number, shape: CpShape) => CpLayout[];
}

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/** Ulysses degrees usable with this shape: splitting the KV heads, or replicating them. */
function headDegreeLayouts(world: number, shape: CpShape, d: number): CpLayout | null {
  if (shape.headsQ % d !== 0) return null;
  return d > 1 && shape.headsKv % d !== 0 ? { replicate_kv: 1 } : {};
}

export const SCHEMES: readonly SchemeDef[] = [
  {
    id: 'ulysses',
    description: 'all-to-all to head shards, full attention per head group, all-to-all back',
    params: ulysses.params,
    plan: ulysses.plan,
    layouts: (world, shape) => {
      const l = headDegreeLayouts(world, shape, world);
      return l ? [l] : [];
    },
  },
  {
    id: 'ring_p2p',
    description: 'K/V blocks travel a ring of all ranks; log-sum-exp merge; dK/dV travel back',
    params: ringP2p.params,
    plan: ringP2p.plan,
    layouts: () => [{ sharding: 'contiguous' }, { sharding: 'zigzag' }, { sharding: 'doc_zigzag' }],
  },
  {
    id: 'ring_allgather',
    description: 'all-gather K/V, attend locally; backward reduce-scatters dK/dV (Llama 3)',
    params: ringAllgather.params,
    plan: ringAllgather.plan,
    layouts: () => [{ sharding: 'contiguous' }, { sharding: 'zigzag' }, { sharding: 'doc_zigzag' }],
  },
  {
    id: 'usp',
    description: 'Ulysses inside groups of consecutive ranks x ring across groups',
    params: usp.params,
    plan: usp.plan,
    layouts: (world, shape) =>
      divisors(world).flatMap((u) => {
        const l = headDegreeLayouts(world, shape, u);
        return l ? [{ ulysses: u, ring: world / u, ...l }] : [];
      }),
  },
  {
    id: 'loongtrain',
    description: 'head parallel x context parallel with a double ring (inner window, outer ring)',
    params: loongtrain.params,
    plan: loongtrain.plan,
    layouts: (world, shape) =>
      divisors(world).flatMap((hp) => {
        const l = headDegreeLayouts(world, shape, hp);
        if (!l) return [];
        const cp = world / hp;
        return divisors(cp).flatMap((w) =>
          (['context_first', 'head_first'] as const).map((placement) => ({ hp, cp, window: w, placement, ...l })),
        );
      }),
  },
  {
    id: 'dispatch',
    description: 'ours: whole documents per rank balanced by area (or area-balanced granules), fetch only the K/V ranges each rank needs',
    params: dispatch.params,
    plan: dispatch.plan,
    layouts: (world, shape): CpLayout[] => [
      {},
      { sharding: 'documents' },
      { sharding: 'documents', split: 'zigzag' },
      { sharding: 'documents', steps: 'overlap' },
      { sharding: 'documents', steps: 'one_overlap' },
      { sharding: 'documents', split: 'fill', steps: 'overlap_one' },
      { sharding: 'granules' },
      { sharding: 'granules', steps: 'one' },
      { sharding: 'contiguous' },
      { sharding: 'chunked' },
      { comm: 'all_gather' },
      { sharding: 'documents', node: 2, exchange: 'relay_direct' },
      { pattern: 'ring_allgather' },
      // Pairs whose backward re-creates head shards (Ulysses degree > 1), in the backward or prefetched.
      ...(usp.defaultHeadDegree(world, shape) > 1 ? [{ pattern: 'allgather_ring' }, { pattern: 'ring_usp', prefetch: 1 }] : []),
      ...(world > 1 && shape.headsQ % world === 0 && (world > shape.headsKv || shape.headsKv % world === 0) ? [{ pattern: 'usp_ulysses', prefetch: 1 }] : []),
    ],
  },
];

if (SCHEMES.map((s) => s.id).join() !== SCHEME_IDS.join()) throw new Error('internal: SCHEMES and SCHEME_IDS disagree');

export function schemeDef(id: string): SchemeDef {
  const s = SCHEMES.find((x) => x.id === id);
  if (!s) throw badInput(`unknown CP scheme '${id}' (known: ${SCHEME_IDS.join(', ')})`);
  return s;
}

/** Plans `scheme` (validating everything; bad input throws AttnbenchError with exit code 2). */
export function planCp(scheme: string, mask: Mask, world: number, layout: CpLayout, shape: CpShape, opts?: PlanOptions): Plan {
  const def = schemeDef(scheme);
  guardPlan(def.id, world); // a plan past the memory budget or the JS heap: exit 2 before planning
  return def.plan(mask, world, layout, shape, opts);
}

/** The one mask every head shares; per-head (block-sparse) masks are out of scope for CP. */
export function sharedMask(gm: GeneratedMask): Mask {
  if (gm.heads.length !== 1) {
    throw badInput(
      `${gm.family}: masks that differ per head (${gm.heads.length} KV-head masks) are not supported by context parallelism; use a mask shared by every head`,
    );
  }
  return gm.heads[0];
}

/** Parses `k=v,k2=v2` (numbers where they parse). */
export function parseLayout(text: string | undefined): CpLayout {
  const out: Record<string, number | string> = Object.create(null) as Record<string, number | string>; // '__proto__=1' is a key (unknown)
  if (!text) return out;
  if (!text.split(',').some((p) => p.trim())) throw badInput(`empty layout '${text}': expected key=value[,key=value...] or leave --layout out`);
  for (const part of text.split(',')) {
    const t = part.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw badInput(`invalid layout '${t}': expected key=value`);
    const k = t.slice(0, eq).trim();
    const v = t.slice(eq + 1).trim();
    out[k] = decimalNumber(v) ?? v; // '0x10' stays text (refused as a number)
  }
  return out;
}
