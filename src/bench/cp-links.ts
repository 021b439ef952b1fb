// Which link carries a plan's bytes (issue 14, docs/cp.md "Full and causal per direction"): per
// rank and direction, the bytes it sends by step kind (all_to_all, p2p, all_gather,
// reduce_scatter), split into those to a peer of its own node (NVLink) and to another node
// (InfiniBand). usp and loongtrain at the same degrees move the same bytes and differ only here.
//   npm run build && node dist/bench/cp-links.js causal 32 usp loongtrain dispatch
//   (family, P, schemes or scheme:pattern (dispatch:usp_ring); default layouts as `sim run` gives
//    them; 8k tokens per rank, 64:8 heads, d = 128, bf16, nodes of 8; prints rank 0, MiB)
import { pathToFileURL } from 'node:url';
import { planCp, sharedMask } from '../cp/plan/index.js';
import type { CpShape, Plan, Step } from '../cp/types.js';
import { generateMask } from '../mask/families/index.js';
import { defaultLayout } from '../sim/project.js';

const SHAPE: CpShape = { headsQ: 64, headsKv: 8, headDim: 128, dtypeBytes: 2 };

export type LinkKind = 'all_to_all' | 'p2p' | 'all_gather' | 'reduce_scatter';
export interface LinkBytes {
  readonly kind: LinkKind;
  readonly intra: number;
  readonly inter: number;
}

/**
 * Bytes rank `r` of `plan` sends in `direction`, by step kind, to ranks of its own node of `node`
 * (intra) and of other nodes (inter). An all-to-all chunk to itself moves nothing; an all-gather
 * sends its input to every other member, a reduce-scatter chunk c of its input to member c.
 */
export function linkBytes(plan: Plan, r: number, direction: 'fwd' | 'bwd', node: number): LinkBytes[] {
  const rp = plan.ranks[r];
  const size = new Map(rp.buffers.map((b) => [b.name, b.bytes]));
  const acc = new Map<LinkKind, { intra: number; inter: number }>();
  const add = (kind: LinkKind, peer: number, bytes: number) => {
    if (peer === r) return;
    const a = acc.get(kind) ?? { intra: 0, inter: 0 };
    if (Math.floor(peer / node) === Math.floor(r / node)) a.intra += bytes;
    else a.inter += bytes;
    acc.set(kind, a);
  };
  const steps: readonly Step[] = direction === 'fwd' ? rp.forward : rp.backward;
  for (const s of steps) {
    if (s.kind === 'all_to_all') s.send.forEach((b, i) => add('all_to_all', s.group[i], size.get(b)!));
    else if (s.kind === 'p2p') for (const op of s.ops) op.op === 'send' && add('p2p', op.peer, size.get(op.buf)!);
    else if (s.kind === 'all_gather') for (const m of s.group) add('all_gather', m, size.get(s.input)!);
    else if (s.kind === 'reduce_scatter') for (const m of s.group) add('reduce_scatter', m, size.get(s.input)! / s.group.length);
  }
  return [...acc].map(([kind, a]) => ({ kind, ...a }));
}

function main(argv: readonly string[]): void {
  const [family = 'causal', Ps = '32', ...schemes] = argv;
  const P = Number(Ps);
  const mask = sharedMask(generateMask(family, 8192 * P, { seed: 0 }));
  const mib = (x: number) => (x / 2 ** 20).toFixed(0);
  for (const s of schemes.length ? schemes : ['usp', 'loongtrain']) {
    const [scheme, pattern] = s.split(':');
    const plan = planCp(scheme, mask, P, pattern ? { pattern } : defaultLayout(scheme, P, SHAPE), SHAPE);
    const dirs = (['fwd', 'bwd'] as const).map((d) => `${d}: ${linkBytes(plan, 0, d, 8).map((x) => `${x.kind} ${mib(x.intra)} NVLink / ${mib(x.inter)} IB`).join(', ') || 'nothing sent'}`);
    console.log(`${s} ${JSON.stringify(plan.layout)}\n  ${dirs.join('\n  ')}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
