// What each rank's forward is made of, from the plan alone (issue 14, docs/cp.md "Where dispatch's
// triton_ranges forward goes"): per attention step the queries, keys, GFLOP and the triton_ranges
// work list the CP step gets (16-token x 128-key tiles at 64:8 heads, full / partial, density =
// unmasked pairs / tile pairs, and the LPT makespan over 132 programs in the list's own cost
// units: 1 per row + 1 per full tile + 1.5 per partial tile); the copy steps with their kernel
// launches (runs x parts, the python executor's relayout: before 3645958 one per overlapping range,
// after it contiguous runs joined); the merges and their rows. Prints one block per case.
//   npm run build && node dist/bench/cp-anatomy.js dispatch 8 causal_document \
//     sharding=documents,split=zigzag,max_token_ratio=1.5,target=1.05,node=8,comm=p2p,steps=overlap
//   (scheme, P, family, layout as the row records it; 8k tokens per rank, prolong64k documents, seed 0, 64:8 heads, d = 128, bf16)
import { pathToFileURL } from 'node:url';
import { tokenOverlaps } from '../cp/exec/tensors.js';
import { planCp, sharedMask } from '../cp/plan/index.js';
import type { BufferDesc, CpShape, Plan, TensorKind } from '../cp/types.js';
import { toRanges } from '../mask/adapters/index.js';
import { PARTIAL_COST, ROW_COST } from '../mask/adapters/ranges-cost.js';
import { generateMask } from '../mask/families/index.js';
import { maskArea } from '../mask/slices.js';
import type { Mask, Range } from '../mask/types.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };
/** Query tokens of a CP step tile at 64:8 heads (python triton_ranges._step_lists: 128 rows / pack 8) and its key tile. */
const TILE_Q = 16;
const TILE_K = 128;
const PROGRAM_SLOTS = 132;

/** Parts a buffer of each kind is stored in (python cp/logic.py parts_of): kv / dkv hold K and V, o holds x and lse. */
const PARTS: Readonly<Record<TensorKind, readonly string[]>> = {
  q: ['x'], do: ['x'], dq: ['x'], k: ['x'], v: ['x'], dk: ['x'], dv: ['x'], lse: ['lse'], o: ['x', 'lse'], kv: ['k', 'v'], dkv: ['k', 'v'],
};

export interface AttnAnatomy {
  readonly q: number;
  readonly k: number;
  readonly gflop: number;
  readonly fullTiles: number;
  readonly partialTiles: number;
  readonly density: number;
  /** LPT makespan over PROGRAM_SLOTS programs, in the list's cost units. */
  readonly lpt: number;
}

export interface RankAnatomy {
  readonly rank: number;
  readonly attn: readonly AttnAnatomy[];
  readonly copies: number;
  /** Copy kernel launches (runs x parts): one per overlapping range pair / contiguous runs joined. */
  readonly copyLaunches: { readonly perRange: number; readonly joined: number };
  readonly copyMiB: number;
  readonly merges: number;
  readonly mergeRows: number;
}

const tokens = (rs: readonly Range[]) => rs.reduce((s, r) => s + r.end - r.start, 0);

/** (dst offset, src offset, length) of every pair of overlapping ranges: the CPU executor's own
 * tokenOverlaps (python cp/logic.py overlap_runs). */
export const overlapRuns = tokenOverlaps;

/** overlapRuns with runs that continue each other in both buffers joined (python cp/logic.py coalesced_runs). */
export function joinedRuns(a: readonly Range[], b: readonly Range[]): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const r of overlapRuns(a, b)) {
    const last = out[out.length - 1];
    if (last && last[0] + last[2] === r[0] && last[1] + last[2] === r[1]) last[2] += r[2];
    else out.push([...r]);
  }
  return out;
}

function lptMakespan(costs: number[], slots: number): number {
  costs.sort((a, b) => b - a);
  const load = new Float64Array(slots);
  for (const c of costs) {
    let i = 0;
    for (let j = 1; j < slots; j++) if (load[j] < load[i]) i = j;
    load[i] += c;
  }
  return Math.max(0, ...load);
}

function attnAnatomy(mask: Mask, flops: number, kvHeads: number): AttnAnatomy {
  const area = maskArea(mask);
  const r = toRanges(mask, { ranges: { tileQ: TILE_Q, tileK: TILE_K } });
  if (r.kind !== 'ok') throw new Error(`no ranges list: ${r.reason}`);
  const f = r.value.fwd;
  const costs: number[] = [];
  for (let x = 0; x < f.numRows * r.value.heads; x++) {
    let full = 0;
    for (let j = f.rowRuns[x]; j < f.rowRuns[x + 1]; j++) full += f.runs[2 * j + 1] - f.runs[2 * j];
    const part = f.rowParts[x + 1] - f.rowParts[x];
    if (full + part === 0) continue;
    for (let h = 0; h < kvHeads / r.value.heads; h++) costs.push(ROW_COST + full + PARTIAL_COST * part);
  }
  const tiles = f.fullTiles + f.partialTiles;
  return {
    q: mask.seqlenQ, k: mask.seqlenK, gflop: flops / 1e9, fullTiles: f.fullTiles, partialTiles: f.partialTiles,
    density: tiles ? area / (tiles * TILE_Q * TILE_K) : 0, lpt: lptMakespan(costs, PROGRAM_SLOTS),
  };
}

/** Every rank's forward, step by step kind (see the file's head). */
export function forwardAnatomy(plan: Plan): RankAnatomy[] {
  return plan.ranks.map((rp) => {
    const bufs = new Map<string, BufferDesc>(rp.buffers.map((b) => [b.name, b]));
    const buf = (n: string) => bufs.get(n);
    const attn: AttnAnatomy[] = [];
    let copies = 0, perRange = 0, joined = 0, copyBytes = 0, merges = 0, mergeRows = 0;
    for (const s of rp.forward) {
      if (s.kind === 'attn') attn.push(attnAnatomy(s.mask, s.flops, plan.shape.headsKv));
      else if (s.kind === 'copy') {
        const from = buf(s.from), into = buf(s.into);
        if (!from || !into) throw new Error(`rank ${rp.rank}: copy ${s.from} -> ${s.into} names an undeclared buffer`);
        const parts = PARTS[from.tensor].filter((p) => PARTS[into.tensor].includes(p)).length;
        const runs = overlapRuns(into.tokens, from.tokens);
        copies++;
        perRange += parts * runs.length;
        joined += parts * joinedRuns(into.tokens, from.tokens).length;
        const moved = runs.reduce((t, r) => t + r[2], 0);
        copyBytes += (moved / Math.max(1, tokens(from.tokens))) * from.bytes;
      } else if (s.kind === 'merge') {
        merges++;
        mergeRows += tokens(buf(s.from)?.tokens ?? []);
      }
    }
    return { rank: rp.rank, attn, copies, copyLaunches: { perRange, joined }, copyMiB: copyBytes / 2 ** 20, merges, mergeRows };
  });
}

export function parseLayout(s: string | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const kv of (s ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    out[k] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

function main(argv: readonly string[]): void {
  const [scheme, P, family, layout] = argv;
  if (!scheme || !P || !family) throw new Error('usage: cp-anatomy.js <scheme> <P> <family> [layout k=v,...]');
  const world = Number(P);
  const mask = sharedMask(generateMask(family, 8192 * world, { seed: 0, docLens: 'prolong64k' }));
  const plan = planCp(scheme, mask, world, parseLayout(layout), SHAPE);
  const f1 = (x: number) => x.toFixed(1);
  process.stdout.write(`${scheme} P=${world} ${family} ${JSON.stringify(plan.layout)}\n`);
  for (const r of forwardAnatomy(plan)) {
    const calls = r.attn
      .map((a) => `attn ${a.q}x${a.k} ${a.gflop.toFixed(0)} GF tiles ${a.fullTiles}+${a.partialTiles} density ${a.density.toFixed(2)} LPT ${a.lpt.toFixed(0)}`)
      .join('; ');
    process.stdout.write(
      `rank ${r.rank}: ${calls} | copies ${r.copies} (${f1(r.copyMiB)} MiB, launches ${r.copyLaunches.perRange} -> ${r.copyLaunches.joined}) | merges ${r.merges} (${r.mergeRows} rows)\n`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
