// Plan checker rules on one rank's declarations and step order: owned ranges partition [0, S),
// buffer descriptors are well formed, and the dataflow reads only what was written (see check.ts).
import { stepAccess } from '../access.js';
import { mergeSorted, rangesLength, subtractRanges } from '../plan/area.js';
import { bufferBytes, kvHeadsOf } from '../plan/common.js';
import type { Range } from '../../mask/types.js';
import { CP_INPUTS, CP_OUTPUTS, type BufferDesc, type Plan, type RankProgram, type Step, type TensorKind } from '../types.js';
import { fmtRanges, isKvKind, PHASES, Report, sameContent, sameHeads, sameRanges, within } from './report.js';

export function checkOwned(plan: Plan, rep: Report): void {
  if (plan.ranks.length !== plan.world) rep.add({ rule: 'owned', message: `plan has ${plan.ranks.length} rank programs for world ${plan.world}` });
  plan.ranks.forEach((rp, r) => {
    if (rp.rank !== r) rep.add({ rule: 'owned', rank: r, message: `rank program ${r} says it is rank ${rp.rank}` });
  });
  const all = plan.ranks.flatMap((rp) => rp.owned.map((x) => ({ ...x, r: rp.rank }))).sort((a, b) => a.start - b.start);
  let at = 0;
  for (const x of all) {
    if (x.end <= x.start) rep.add({ rule: 'owned', rank: x.r, message: `rank ${x.r} owns an empty range [${x.start},${x.end})` });
    else if (x.start < at) rep.add({ rule: 'owned', rank: x.r, message: `rank ${x.r} owns [${x.start},${x.end}) that overlaps another rank's tokens` });
    else if (x.start > at) rep.add({ rule: 'owned', message: `tokens [${at},${x.start}) are owned by no rank` });
    at = Math.max(at, x.end);
  }
  if (at !== plan.seqlen) rep.add({ rule: 'owned', message: `owned tokens end at ${at}, not at seqlen ${plan.seqlen}` });
}

export function checkBuffers(plan: Plan, rp: RankProgram, rep: Report): void {
  const r = rp.rank;
  const seen = new Map<string, BufferDesc>();
  for (const d of rp.buffers) {
    const bad = (m: string) => rep.add({ rule: 'buffers', rank: r, message: `rank ${r} buffer ${d.name}: ${m}` });
    if (seen.has(d.name)) bad('declared twice');
    seen.set(d.name, d);
    const sorted = [...d.tokens].sort((a, b) => a.start - b.start);
    for (let i = 0; i < sorted.length; i++) {
      const t = sorted[i];
      if (t.start < 0 || t.end > plan.seqlen || t.end <= t.start) bad(`token range [${t.start},${t.end}) is empty or outside [0,${plan.seqlen})`);
      if (i > 0 && t.start < sorted[i - 1].end) bad('holds a token twice');
    }
    const nHeads = isKvKind(d.tensor) ? plan.shape.headsKv : plan.shape.headsQ;
    if (!(d.heads.start >= 0 && d.heads.end <= nHeads && d.heads.end > d.heads.start)) bad(`heads [${d.heads.start},${d.heads.end}) outside [0,${nHeads})`);
    const want = bufferBytes(d.tensor, rangesLength(d.tokens), d.heads.end - d.heads.start, plan.shape);
    if (d.bytes !== want) bad(`declares ${d.bytes} bytes, its contents take ${want}`);
  }
  const io: [string, TensorKind][] = [
    [CP_INPUTS.q, 'q'],
    [CP_INPUTS.kv, 'kv'],
    [CP_INPUTS.do, 'do'],
    [CP_OUTPUTS.o, 'o'],
    [CP_OUTPUTS.dq, 'dq'],
    [CP_OUTPUTS.dkv, 'dkv'],
  ];
  for (const [name, tensor] of io) {
    const d = seen.get(name);
    const heads = isKvKind(tensor) ? plan.shape.headsKv : plan.shape.headsQ;
    if (!d) rep.add({ rule: 'buffers', rank: r, message: `rank ${r} does not declare its ${name} buffer` });
    else if (d.tensor !== tensor || !sameRanges(d.tokens, rp.owned) || !sameHeads(d.heads, { start: 0, end: heads }))
      rep.add({ rule: 'buffers', rank: r, message: `rank ${r} buffer ${name} must be a ${tensor} buffer of the owned tokens ${fmtRanges(rp.owned)} and all ${heads} heads` });
  }
}

// ----- dataflow -------------------------------------------------------------------------------

function expectTensor(kind: TensorKind, d: BufferDesc | undefined, role: string, err: (m: string) => void): d is BufferDesc {
  if (!d) return false;
  if (d.tensor !== kind) {
    err(`${role} ${d.name} is a ${d.tensor} buffer, expected ${kind}`);
    return false;
  }
  return true;
}

function checkComputeShapes(plan: Plan, s: Step, desc: Map<string, BufferDesc>, err: (m: string) => void): void {
  if (s.kind === 'attn' || s.kind === 'attn_bwd') {
    const q = desc.get(s.q);
    const kv = desc.get(s.kv);
    if (!(expectTensor('q', q, 'q', err) && expectTensor('kv', kv, 'kv', err))) return;
    if (!within(s.heads, q.heads)) err(`heads [${s.heads.start},${s.heads.end}) not held by q buffer ${q.name}`);
    const kh = kvHeadsOf(s.heads, plan.shape);
    if (!within(kh, kv.heads)) err(`kv buffer ${kv.name} lacks KV heads [${kh.start},${kh.end})`);
    const qLen = rangesLength(q.tokens);
    const kLen = rangesLength(kv.tokens);
    if (s.mask.seqlenQ !== qLen || s.mask.seqlenK !== kLen) err(`mask is ${s.mask.seqlenQ}x${s.mask.seqlenK}, buffers are ${qLen}x${kLen}`);
    const qLike = (role: string, name: string, kind: TensorKind) => {
      const d = desc.get(name);
      if (expectTensor(kind, d, role, err) && (!sameRanges(d.tokens, q.tokens) || !within(s.heads, d.heads)))
        err(`${role} ${name} does not hold the q rows ${fmtRanges(q.tokens)} for heads [${s.heads.start},${s.heads.end})`);
    };
    if (s.kind === 'attn') qLike('out', s.out, 'o');
    else {
      qLike('o', s.o, 'o');
      qLike('lse', s.lse, 'o');
      qLike('dout', s.dout, 'do');
      qLike('dq', s.dq, 'dq');
      const dkv = desc.get(s.dkv);
      if (expectTensor('dkv', dkv, 'dkv', err) && (!sameRanges(dkv.tokens, kv.tokens) || !within(kh, dkv.heads)))
        err(`dkv ${s.dkv} does not match kv buffer ${kv.name}`);
    }
  } else if (s.kind === 'merge') {
    const a = desc.get(s.into);
    const b = desc.get(s.from);
    if (a && b && (a.tensor !== 'o' || b.tensor !== 'o' || !sameContent(a, b))) err(`merge of ${s.from} into ${s.into}: both must be o buffers of the same rows and heads`);
  } else if (s.kind === 'copy' || s.kind === 'accumulate') {
    const a = desc.get(s.into);
    const b = desc.get(s.from);
    if (a && b && a.tensor !== b.tensor) err(`${s.kind} from a ${b.tensor} buffer into a ${a.tensor} buffer`);
  }
}

export function checkDataflow(plan: Plan, rp: RankProgram, rep: Report): void {
  const r = rp.rank;
  const desc = new Map<string, BufferDesc>(rp.buffers.map((d) => [d.name, d]));
  const ready = new Set<string>([CP_INPUTS.q, CP_INPUTS.kv]);
  // Buffers that a copy created (e.g. a concatenation of K/V pieces): the tokens written so far,
  // which must cover the buffer before anything else reads it.
  const partial = new Map<string, Range[]>();
  for (const phase of PHASES) {
    if (phase === 'backward') ready.add(CP_INPUTS.do);
    const steps = phase === 'forward' ? rp.forward : rp.backward;
    const pending = new Map<string, { writes: string[]; reads: string[] }>(); // handle -> buffers in flight
    const inFlightW = new Set<string>();
    const inFlightR = new Map<string, number>();
    steps.forEach((s, i) => {
      const err = (m: string) => rep.add({ rule: 'dataflow', rank: r, phase, step: i, message: `rank ${r} ${phase} step ${i} (${s.kind}): ${m}` });
      const a = stepAccess(s);
      for (const b of [...a.reads, ...a.writes.map((w) => w.buf)]) if (!desc.has(b)) err(`buffer ${b} is not declared`);
      for (const b of a.reads) {
        if (inFlightW.has(b)) err(`reads ${b} before the receive into it completes`);
        else if (!ready.has(b)) err(`reads ${b} before anything wrote it`);
        else if (partial.has(b) && s.kind !== 'copy') {
          const gap = subtractRanges(mergeSorted(desc.get(b)?.tokens ?? []), partial.get(b)!);
          if (gap.length) err(`reads ${b}, whose tokens ${fmtRanges(gap)} no copy wrote`);
        }
      }
      for (const w of a.writes) {
        if (inFlightR.has(w.buf) || inFlightW.has(w.buf)) err(`writes ${w.buf} while a transfer of it is in flight`);
        if (w.kind === 'recv' && ready.has(w.buf)) err(`receives into ${w.buf}, which already exists`);
      }
      checkComputeShapes(plan, s, desc, err);
      if (s.kind === 'wait') {
        const p = pending.get(s.handle);
        if (!p) err(`waits on ${s.handle}, which is not in flight`);
        else {
          pending.delete(s.handle);
          for (const b of p.writes) {
            inFlightW.delete(b);
            ready.add(b);
          }
          for (const b of p.reads) {
            const n = (inFlightR.get(b) ?? 1) - 1;
            if (n === 0) inFlightR.delete(b);
            else inFlightR.set(b, n);
          }
        }
        return;
      }
      const handle = 'handle' in s ? s.handle : undefined;
      if (handle !== undefined) {
        if (pending.has(handle)) err(`handle ${handle} is already in flight`);
        const writes = a.writes.map((w) => w.buf);
        pending.set(handle, { writes, reads: [...a.reads] });
        for (const b of writes) inFlightW.add(b);
        for (const b of a.reads) inFlightR.set(b, (inFlightR.get(b) ?? 0) + 1);
      } else {
        if (s.kind === 'copy' && (partial.has(s.into) || !ready.has(s.into))) {
          const into = mergeSorted(desc.get(s.into)?.tokens ?? []);
          const from = mergeSorted(desc.get(s.from)?.tokens ?? []);
          partial.set(s.into, mergeSorted([...(partial.get(s.into) ?? []), ...subtractRanges(from, subtractRanges(from, into))]));
        } else for (const w of a.writes) partial.delete(w.buf);
        for (const w of a.writes) ready.add(w.buf);
      }
    });
    for (const h of pending.keys()) rep.add({ rule: 'dataflow', rank: r, phase, message: `rank ${r} ${phase}: handle ${h} is never waited` });
    const outs = phase === 'forward' ? [CP_OUTPUTS.o] : [CP_OUTPUTS.dq, CP_OUTPUTS.dkv];
    for (const o of outs) if (!ready.has(o)) rep.add({ rule: 'dataflow', rank: r, phase, message: `rank ${r} ${phase}: output ${o} is never produced` });
  }
}

