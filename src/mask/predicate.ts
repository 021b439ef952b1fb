// Reference predicates: for every family, "does query i attend to key j", written straight from the
// SPEC 3 table. They read only the family's resolved random quantities (document lengths, g, p, f,
// block size, kept blocks) and never look at the generated slices, so `toDense(slices) == predicate`
// checks the slice construction. Small sizes only (tests, pictures of tiny masks).
import { forEachKeptRow, keptCount } from './families/block_sparse.js';
import type { FamilyId } from './families/index.js';
import { variableBlockBounds, paperBounds } from './families/variable_block_sparse.js';
import type { GeneratedMask } from './types.js';

export type Predicate = (i: number, j: number) => boolean;

function num(g: GeneratedMask, name: string): number {
  const v = g.params[name];
  if (typeof v !== 'number') throw new Error(`${g.family}: resolved parameter ${name} missing`);
  return v;
}

/** Per token: its document index, and the start and length of its document. */
function documents(g: GeneratedMask): { doc: Int32Array; start: Int32Array; len: Int32Array; count: number } {
  const lens = g.docLens;
  if (!lens) throw new Error(`${g.family}: document lengths missing`);
  const doc = new Int32Array(g.seqlen);
  const start = new Int32Array(g.seqlen);
  const len = new Int32Array(g.seqlen);
  let t = 0;
  lens.forEach((l, d) => {
    for (let x = 0; x < l; x++, t++) {
      doc[t] = d;
      start[t] = t - x;
      len[t] = l;
    }
  });
  if (t !== g.seqlen) throw new Error(`${g.family}: document lengths sum to ${t}, not ${g.seqlen}`);
  return { doc, start, len, count: lens.length };
}

/** Kept key blocks of every query block of one KV head, as rows of 0/1. */
function keptRows(g: GeneratedMask, head: number, numBlocks: number): Uint8Array[] {
  const rows: Uint8Array[] = [];
  forEachKeptRow(g.seed, head, numBlocks, numBlocks, keptCount(num(g, 's'), numBlocks), (_, kept) => rows.push(kept.slice()));
  return rows;
}

const PREDICATES: { readonly [F in FamilyId]: (g: GeneratedMask, head: number) => Predicate } = {
  full: () => () => true,
  causal: () => (i, j) => j <= i,
  full_document: (g) => {
    const { doc } = documents(g);
    return (i, j) => doc[i] === doc[j];
  },
  causal_document: (g) => {
    const { doc } = documents(g);
    return (i, j) => doc[i] === doc[j] && j <= i;
  },
  full_document_long: (g) => PREDICATES.full_document(g, 0),
  causal_document_long: (g) => PREDICATES.causal_document(g, 0),
  sliding_window: (g) => {
    const w = num(g, 'w');
    return (i, j) => Math.abs(i - j) <= w;
  },
  sliding_window_causal: (g) => {
    const w = num(g, 'w');
    return (i, j) => j <= i && i - j <= w;
  },
  global_sliding_window: (g) => {
    const gl = num(g, 'g');
    return (i, j) => i < gl || j < gl || Math.abs(i - j) <= gl;
  },
  prefix_lm_causal: (g) => {
    const p = num(g, 'p');
    return (i, j) => j <= i || (i < p && j < p);
  },
  prefix_lm_document: (g) => {
    const f = num(g, 'f');
    const { doc, start, len } = documents(g);
    return (i, j) => {
      if (doc[i] !== doc[j]) return false;
      const pf = Math.min(f, len[i]);
      const li = i - start[i];
      const lj = j - start[i];
      return lj <= li || (li < pf && lj < pf);
    };
  },
  share_question: (g) => {
    const { doc } = documents(g);
    return (i, j) => (doc[i] === doc[j] && j <= i) || (doc[j] === 0 && doc[i] > 0);
  },
  causal_blockwise: (g) => {
    const { doc, count } = documents(g);
    return (i, j) => j <= i && (doc[i] === doc[j] || doc[i] === count - 1);
  },
  block_causal_document: (g) => {
    const B = num(g, 'block');
    const { doc } = documents(g);
    return (i, j) => doc[i] === doc[j] && Math.floor(j / B) <= Math.floor(i / B);
  },
  block_sparse: (g, head) => {
    const B = num(g, 'block');
    const rows = keptRows(g, head, g.seqlen / B);
    return (i, j) => rows[Math.floor(i / B)][Math.floor(j / B)] === 1;
  },
  variable_block_sparse: (g, head) => {
    const blocksOf = (bounds: readonly number[]) => {
      const blockOf = new Int32Array(g.seqlen);
      for (let b = 0; b + 1 < bounds.length; b++) blockOf.fill(b, bounds[b], bounds[b + 1]);
      return blockOf;
    };
    if (g.params.partition === 'shared') {
      const bounds = variableBlockBounds(g.seqlen, num(g, 'blockAvg'), num(g, 'blockMin'), g.seed);
      const blockOf = blocksOf(bounds);
      const rows = keptRows(g, head, bounds.length - 1);
      return (i, j) => rows[blockOf[i]][blockOf[j]] === 1;
    }
    // paper: the head's own query and key partitions, n = max(1, floor(S / blockAvg)) blocks each
    const n = Math.max(1, Math.floor(g.seqlen / num(g, 'blockAvg')));
    const qOf = blocksOf(paperBounds(g.seqlen, n, num(g, 'blockMin'), g.seed, `bounds:q:${head}`));
    const kOf = blocksOf(paperBounds(g.seqlen, n, num(g, 'blockMin'), g.seed, `bounds:k:${head}`));
    const rows = keptRows(g, head, n);
    return (i, j) => rows[qOf[i]][kOf[j]] === 1;
  },
};

/** The reference predicate of a generated mask (head: which KV head, for per-head families). */
export function maskPredicate(g: GeneratedMask, head = 0): Predicate {
  const make = (PREDICATES as Record<string, ((g: GeneratedMask, head: number) => Predicate) | undefined>)[g.family];
  if (!make) throw new Error(`no reference predicate for family '${g.family}'`);
  return make(g, head);
}

/** Dense 0/1 expansion of the predicate, row-major S x S (compare with toDense of the slices). */
export function predicateDense(g: GeneratedMask, head = 0): Uint8Array {
  const p = maskPredicate(g, head);
  const S = g.seqlen;
  const d = new Uint8Array(S * S);
  for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) if (p(i, j)) d[i * S + j] = 1;
  return d;
}
