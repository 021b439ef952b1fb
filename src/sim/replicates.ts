// The same case measured on two GPU types of one compute class (issue 15): one kernel curve predicts
// both rows (H100 and H200 share the GH100 die), so how far the two measurements are apart is a
// floor for the model's error on them, and a check of each row's own spread as a noise estimate.
import { groupKey, type KernelObservation } from './calibrate.js';

export interface ReplicatePair {
  readonly a: KernelObservation;
  readonly b: KernelObservation;
  /** b.ms / a.ms (b: the GPU type later in sort order). */
  readonly ratio: number;
}

/** Pairs of kernel observations with the same case id and curve on two GPU types. */
export function replicatePairs(obs: readonly KernelObservation[]): ReplicatePair[] {
  const byCase = new Map<string, KernelObservation[]>();
  for (const o of obs) {
    const k = `${groupKey(o)}|${o.id}`;
    const g = byCase.get(k);
    if (g) g.push(o);
    else byCase.set(k, [o]);
  }
  const pairs: ReplicatePair[] = [];
  for (const g of byCase.values()) {
    const s = [...g].sort((x, y) => x.gpu.localeCompare(y.gpu));
    for (let i = 0; i + 1 < s.length; i++) if (s[i].gpu !== s[i + 1].gpu) pairs.push({ a: s[i], b: s[i + 1], ratio: s[i + 1].ms / s[i].ms });
  }
  return pairs;
}

/**
 * Report lines: per pair of GPU types, the pairs' median time ratio and those apart by more than
 * `apartPct` (largest first, at most `list`), each with the two rows' own p20-p80 spreads.
 */
export function replicateLines(obs: readonly KernelObservation[], apartPct = 10, list = 8): string[] {
  const pairs = replicatePairs(obs);
  if (!pairs.length) return [];
  const lines = ['same case on two GPU types of one compute class (one curve predicts both; their gap is a floor for its error there):'];
  const kinds = [...new Set(pairs.map((p) => `${p.a.gpu}|${p.b.gpu}`))].sort();
  for (const kind of kinds) {
    const [ga, gb] = kind.split('|');
    const ps = pairs.filter((p) => p.a.gpu === ga && p.b.gpu === gb);
    const r = ps.map((p) => p.ratio).sort((x, y) => x - y);
    const median = r.length % 2 ? r[r.length >> 1] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    const apart = ps.filter((p) => Math.abs(Math.log(p.ratio)) > Math.log(1 + apartPct / 100)).sort((x, y) => Math.abs(Math.log(y.ratio)) - Math.abs(Math.log(x.ratio)));
    lines.push(`  ${gb} / ${ga}: n=${ps.length} case(s), time ratio median ${median.toFixed(3)} (${r[0].toFixed(2)}-${r[r.length - 1].toFixed(2)}); apart by > ${apartPct}%: ${apart.length}`);
    const sp = (o: KernelObservation) => (o.spreadPct === undefined ? '' : ` (spread ${o.spreadPct.toFixed(1)}%)`);
    for (const p of apart.slice(0, list)) {
      const o = p.a;
      lines.push(`    ${p.ratio.toFixed(2)}x  ${o.kernel} ${o.family} ${o.seqlen} ${o.call.direction}: ${ga} ${o.ms.toPrecision(3)} ms${sp(o)}, ${gb} ${p.b.ms.toPrecision(3)} ms${sp(p.b)}`);
    }
  }
  return lines;
}
