// Candidate launch orders of triton_ranges' programs for the L2 model (./ranges-l2.ts, issue 13).
// A launch unit is one list row (or split item) with its cost by ranges-cost.ts; the kernel runs
// each unit as REP programs (the KV heads of its mask head) x `sub` sub-programs.
import { PARTIAL_COST, ROW_COST } from '../mask/adapters/ranges-cost.js';
import type { TileList } from '../mask/adapters/types.js';
import type { Pass, Program } from './ranges-l2.js';

export interface Unit {
  readonly x: number;
  readonly item: number;
  readonly cost: number;
}

/** The launch units of a list in its launch order (split items for a split dK/dV list), with their costs. */
export function listUnits(pass: Pass, l: TileList): Unit[] {
  const items = pass === 'dkdv' ? l.items : undefined;
  if (items && l.itemRuns) {
    const out: Unit[] = [];
    for (let i = 0; i < items.length / 6; i++) {
      let c = ROW_COST + PARTIAL_COST * (items[6 * i + 4] - items[6 * i + 3]);
      for (let t = items[6 * i + 1]; t < items[6 * i + 2]; t++) c += l.itemRuns[2 * t + 1] - l.itemRuns[2 * t];
      out.push({ x: items[6 * i], item: i, cost: c });
    }
    return out;
  }
  return Array.from(l.order, (x) => {
    let c = ROW_COST + PARTIAL_COST * (l.rowParts[x + 1] - l.rowParts[x]);
    for (let t = l.rowRuns[x]; t < l.rowRuns[x + 1]; t++) c += l.runs[2 * t + 1] - l.runs[2 * t];
    return { x, item: -1, cost: c };
  });
}

export interface OrderCtx {
  readonly pass: Pass;
  readonly units: readonly Unit[];
  readonly rep: number; // KV heads per mask head
  readonly sub: number; // sub-programs per (unit, KV head)
  readonly numRows: number; // list rows per mask head
}

const programs = (c: OrderCtx, seq: readonly [Unit, number][]): Program[] => {
  const out: Program[] = [];
  for (const [u, r] of seq) for (let s = 0; s < c.sub; s++) out.push({ pass: c.pass, x: u.x, rep: r, item: u.item });
  return out;
};

/** Today's launch: units in list order, the REP KV heads of each consecutive. */
export function lptLaunch(c: OrderCtx): Program[] {
  return programs(c, c.units.flatMap((u) => Array.from({ length: c.rep }, (_, r) => [u, r] as [Unit, number])));
}

/** Units by cost descending, ties by row and item (the list order when it is not regrouped into persistent shares). */
export function pureLpt(units: readonly Unit[]): Unit[] {
  return [...units].sort((a, b) => b.cost - a.cost || a.x - b.x || a.item - b.item);
}

/** KV head of a (unit, rep) program. */
const headOf = (c: OrderCtx, u: Unit, r: number) => Math.floor(u.x / c.numRows) * c.rep + r;

/** flex-like: KV head major, rows ascending (no LPT). */
export function naturalLaunch(c: OrderCtx): Program[] {
  const seq = c.units.flatMap((u) => Array.from({ length: c.rep }, (_, r) => [u, r] as [Unit, number]));
  seq.sort((a, b) => headOf(c, a[0], a[1]) - headOf(c, b[0], b[1]) || a[0].x - b[0].x || a[0].item - b[0].item);
  return programs(c, seq);
}

/** Blocks of `group` consecutive units of the list order; inside a block, KV head major (a remap of the program id). */
export function groupLaunch(c: OrderCtx, group: number, units: readonly Unit[] = c.units): Program[] {
  const seq: [Unit, number][] = [];
  for (let b = 0; b < units.length; b += group) {
    const block = units.slice(b, b + group);
    for (let r = 0; r < c.rep; r++) for (const u of block) seq.push([u, r]);
  }
  return programs(c, seq);
}

/**
 * LPT by coarse cost bucket (floor(log(cost) / log(1 + step)), longest bucket first), KV head major
 * inside a bucket, cost descending inside a head (ties by row).
 */
export function bucketLaunch(c: OrderCtx, step: number): Program[] {
  const seq = c.units.flatMap((u) => Array.from({ length: c.rep }, (_, r) => [u, r] as [Unit, number]));
  const bucket = (u: Unit) => Math.floor(Math.log(u.cost) / Math.log(1 + step));
  seq.sort((a, b) => bucket(b[0]) - bucket(a[0]) || headOf(c, a[0], a[1]) - headOf(c, b[0], b[1]) || b[0].cost - a[0].cost || a[0].x - b[0].x || a[0].item - b[0].item);
  return programs(c, seq);
}

/**
 * Named candidate orders: lpt (the list's order as launched today), purelpt (cost descending),
 * natural, group<G> (blocks of the list order), pgroup<G> (blocks of purelpt), bucket<percent>.
 */
export function namedLaunch(name: string, c: OrderCtx): Program[] {
  if (name === 'lpt') return lptLaunch(c);
  if (name === 'purelpt') return lptLaunch({ ...c, units: pureLpt(c.units) });
  if (name === 'natural') return naturalLaunch(c);
  const g = /^(p?)group(\d+)$/.exec(name);
  if (g) return groupLaunch(c, Number(g[2]), g[1] ? pureLpt(c.units) : c.units);
  const b = /^bucket(\d+)$/.exec(name);
  if (b) return bucketLaunch(c, Number(b[1]) / 100);
  throw new Error(`unknown order '${name}' (lpt, natural, group<G>, bucket<percent>)`);
}
