// Plan checker rules on communication: sends match receives, collectives agree across their
// group, and a blocking simulation proves there is no deadlock (see check.ts).
import type { BufferDesc, Plan, RankProgram, Step } from '../types.js';
import { Report, sameContent, sameHeads, sameRanges, type Phase, type Violation } from './report.js';

interface CommOp {
  readonly rank: number;
  readonly step: Step;
  readonly index: number;
  /** p2p parts: [peer, isSend, buffer]. */
  readonly parts: { peer: number; send: boolean; buf: string; done: boolean; partner?: { op: CommOp; part: number } }[];
  /** Collective instance id (group key + sequence), for collectives. */
  readonly instance?: string;
  done: boolean;
}

function groupKey(g: readonly number[]): string {
  return g.join(',');
}

function phaseSteps(rp: RankProgram, phase: Phase): readonly Step[] {
  return phase === 'forward' ? rp.forward : rp.backward;
}

/** Builds comm ops with their partners; checks matching, sizes and contents. Returns false if broken. */
export function buildOps(plan: Plan, phase: Phase, rep: Report): CommOp[][] | null {
  const P = plan.world;
  const descs = plan.ranks.map((rp) => new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d])));
  const ops: CommOp[][] = plan.ranks.map(() => []);
  const sends = new Map<string, { op: CommOp; part: number }[]>(); // "a>b" in order
  const recvs = new Map<string, { op: CommOp; part: number }[]>(); // "a>b" (recv at b from a)
  const coll = new Map<string, { rank: number; op: CommOp }[][]>(); // group -> per-member sequence
  let ok = true;
  const bad = (v: Omit<Violation, 'rule'>) => {
    ok = false;
    rep.add({ rule: 'comm', ...v });
  };
  for (const rp of plan.ranks) {
    phaseSteps(rp, phase).forEach((s, i) => {
      if (s.kind === 'p2p') {
        const op: CommOp = {
          rank: rp.rank,
          step: s,
          index: i,
          parts: s.ops.map((o) => ({ peer: o.peer, send: o.op === 'send', buf: o.buf, done: false })),
          done: false,
        };
        op.parts.forEach((p, n) => {
          if (!(Number.isInteger(p.peer) && p.peer >= 0 && p.peer < P) || p.peer === rp.rank) {
            bad({ rank: rp.rank, phase, step: i, message: `rank ${rp.rank} ${phase} step ${i}: p2p peer ${p.peer} is invalid` });
            return;
          }
          const key = p.send ? `${rp.rank}>${p.peer}` : `${p.peer}>${rp.rank}`;
          const m = p.send ? sends : recvs;
          const list = m.get(key) ?? [];
          list.push({ op, part: n });
          m.set(key, list);
        });
        ops[rp.rank].push(op);
      } else if (s.kind === 'all_to_all' || s.kind === 'all_gather' || s.kind === 'reduce_scatter') {
        const g = s.group;
        const pos = g.indexOf(rp.rank);
        if (pos < 0 || new Set(g).size !== g.length || g.some((x) => !(x >= 0 && x < P))) {
          bad({ rank: rp.rank, phase, step: i, message: `rank ${rp.rank} ${phase} step ${i}: ${s.kind} group [${g}] is invalid or does not contain the rank` });
          return;
        }
        const key = groupKey(g);
        const seqs = coll.get(key) ?? g.map(() => []);
        coll.set(key, seqs);
        const op: CommOp = { rank: rp.rank, step: s, index: i, parts: [], instance: `${key}#${seqs[pos].length}`, done: false };
        seqs[pos].push({ rank: rp.rank, op });
        ops[rp.rank].push(op);
      }
    });
  }
  // Point to point: k-th send a->b with k-th receive at b from a.
  for (const key of new Set([...sends.keys(), ...recvs.keys()])) {
    const [a, b] = key.split('>').map(Number);
    const ss = sends.get(key) ?? [];
    const rs = recvs.get(key) ?? [];
    if (ss.length !== rs.length) bad({ phase, message: `${phase}: rank ${a} sends ${ss.length} buffers to rank ${b}, which receives ${rs.length} from it` });
    for (let k = 0; k < Math.min(ss.length, rs.length); k++) {
      const s = ss[k];
      const r = rs[k];
      s.op.parts[s.part].partner = r;
      r.op.parts[r.part].partner = s;
      const ds = descs[a].get(s.op.parts[s.part].buf);
      const dr = descs[b].get(r.op.parts[r.part].buf);
      if (ds && dr && (ds.bytes !== dr.bytes || !sameContent(ds, dr)))
        bad({
          phase,
          message: `${phase}: transfer ${k} from rank ${a} (step ${s.op.index}, ${ds.name}: ${ds.bytes} B) to rank ${b} (step ${r.op.index}, ${dr.name}: ${dr.bytes} B) differs in size or content`,
        });
    }
  }
  // Collectives: same sequence on every member; consistent sizes.
  for (const [key, seqs] of coll) {
    const g = key.split(',').map(Number);
    const n = Math.max(...seqs.map((s) => s.length));
    for (let k = 0; k < n; k++) {
      const inst = seqs.map((s) => s[k]?.op);
      if (inst.some((o) => !o)) {
        bad({ phase, message: `${phase}: group [${key}] collective ${k} is not called by every member` });
        continue;
      }
      const kinds = new Set(inst.map((o) => o!.step.kind));
      if (kinds.size !== 1) {
        bad({ phase, message: `${phase}: group [${key}] collective ${k} mixes ${[...kinds].join(' and ')}` });
        continue;
      }
      const steps = inst.map((o) => o!.step);
      const d = (m: number, b: string) => descs[g[m]].get(b);
      const mismatch = (what: string) => bad({ phase, message: `${phase}: group [${key}] ${steps[0].kind} ${k}: ${what}` });
      if (steps[0].kind === 'all_to_all') {
        const a2a = steps as Extract<Step, { kind: 'all_to_all' }>[];
        a2a.forEach((s, m) => {
          if (s.send.length !== g.length || s.recv.length !== g.length) mismatch(`member ${g[m]} lists ${s.send.length} sends / ${s.recv.length} receives for ${g.length} members`);
        });
        for (let m = 0; m < g.length; m++)
          for (let c = 0; c < g.length; c++) {
            const ds = d(m, a2a[m].send[c]);
            const dr = d(c, a2a[c].recv[m]);
            if (ds && dr && (ds.bytes !== dr.bytes || !sameContent(ds, dr))) mismatch(`chunk from ${g[m]} (${ds.name}) to ${g[c]} (${dr.name}) differs in size or content`);
          }
      } else if (steps[0].kind === 'all_gather') {
        const ag = steps as Extract<Step, { kind: 'all_gather' }>[];
        const ins = ag.map((s, m) => d(m, s.input));
        if (ins.every(Boolean)) {
          const tokens = ins.flatMap((x) => x!.tokens);
          ag.forEach((s, m) => {
            const o = d(m, s.output);
            if (o && (o.tensor !== ins[m]!.tensor || !sameRanges(o.tokens, tokens) || ins.some((x) => !sameHeads(x!.heads, o.heads))))
              mismatch(`output ${o.name} of ${g[m]} is not the concatenation of the inputs`);
          });
        }
      } else {
        const rs = steps as Extract<Step, { kind: 'reduce_scatter' }>[];
        const outs = rs.map((s, m) => d(m, s.output));
        if (outs.every(Boolean)) {
          const tokens = outs.flatMap((x) => x!.tokens);
          rs.forEach((s, m) => {
            const i = d(m, s.input);
            if (i && (i.tensor !== outs[m]!.tensor || !sameRanges(i.tokens, tokens) || outs.some((x) => !sameHeads(x!.heads, i.heads))))
              mismatch(`input ${i.name} of ${g[m]} is not the concatenation of the outputs`);
          });
        }
      }
    }
  }
  return ok ? ops : null;
}

/** Runs the phase with blocking semantics; reports a deadlock if some rank cannot finish. */
export function simulate(plan: Plan, phase: Phase, ops: CommOp[][], rep: Report): void {
  const P = plan.world;
  const steps = plan.ranks.map((rp) => phaseSteps(rp, phase));
  const opAt = ops.map((list) => new Map(list.map((o) => [o.index, o])));
  const pc = new Int32Array(P);
  const queue: CommOp[][] = plan.ranks.map(() => []);
  const head = new Int32Array(P);
  const blocked: (CommOp | null)[] = plan.ranks.map(() => null);
  const handles = plan.ranks.map(() => new Map<string, CommOp>());
  const headOp = (r: number) => (head[r] < queue[r].length ? queue[r][head[r]] : null);
  const instHead = new Map<string, number>(); // collective instance -> members with it at head
  let progress = true;
  while (progress) {
    progress = false;
    for (let r = 0; r < P; r++) {
      for (;;) {
        if (blocked[r]) {
          if (!blocked[r]!.done) break;
          blocked[r] = null;
        }
        if (pc[r] >= steps[r].length) break;
        const s = steps[r][pc[r]];
        const op = opAt[r].get(pc[r]);
        if (op) {
          queue[r].push(op);
          const h = 'handle' in s ? s.handle : undefined;
          if (h !== undefined) handles[r].set(h, op);
          else blocked[r] = op;
        } else if (s.kind === 'wait') {
          const w = handles[r].get(s.handle);
          if (w && !w.done) {
            blocked[r] = w;
            break;
          }
        }
        pc[r]++;
        progress = true;
      }
    }
    // Complete what can complete: transfers and collectives at the heads of the streams.
    instHead.clear();
    for (let r = 0; r < P; r++) {
      const o = headOp(r);
      if (o?.instance) instHead.set(o.instance, (instHead.get(o.instance) ?? 0) + 1);
    }
    for (let r = 0; r < P; r++) {
      const o = headOp(r);
      if (!o || o.done) continue;
      if (o.instance) {
        const size = (o.step as { group: readonly number[] }).group.length;
        if (instHead.get(o.instance) === size) {
          for (const m of (o.step as { group: readonly number[] }).group) {
            const mo = headOp(m)!;
            mo.done = true;
          }
        }
      } else {
        for (const part of o.parts) {
          if (part.done || !part.partner) continue;
          const po = part.partner.op;
          if (headOp(po.rank) === po) {
            part.done = true;
            po.parts[part.partner.part].done = true;
          }
        }
        if (o.parts.every((p) => p.done)) o.done = true;
      }
    }
    for (let r = 0; r < P; r++) {
      while (headOp(r)?.done) {
        head[r]++;
        progress = true;
      }
    }
  }
  const stuck: string[] = [];
  for (let r = 0; r < P; r++) {
    if (pc[r] < steps[r].length || blocked[r] || headOp(r)) {
      const o = blocked[r] ?? headOp(r);
      stuck.push(`rank ${r} at step ${pc[r]}${o ? ` waiting for ${o.step.kind} of step ${o.index}` : ''}`);
    }
  }
  if (stuck.length) rep.add({ rule: 'deadlock', phase, message: `${phase}: deadlock: ${stuck.slice(0, 6).join('; ')}${stuck.length > 6 ? `; ${stuck.length - 6} more` : ''}` });
}
