// attnbench masks: list the mask families, print one generated mask as JSON, or draw a gallery.
import type { Command } from 'commander';
import { parseParams } from '../../config/kernel-options.js';
import { parseFamilyIds } from '../../ids.js';
import { FAMILIES, FAMILY_IDS, familyParams, generateMask, getFamily, maskFlops, meanArea } from '../../mask/families/index.js';
import { writeGallery } from '../../mask/render/gallery.js';
import type { GeneratedMask } from '../../mask/types.js';
import { parseInteger, parseTokens, splitList } from '../../util/parse.js';
import { badInput, usage } from '../../errors.js';

export interface MasksOptions {
  list?: boolean;
  family?: string;
  seqlen: string;
  seed: string;
  param?: string[];
  doclens?: string;
  json?: boolean;
  out: string;
}

/** Head setting of the FLOP figures in --json (SPEC 5 default shape). */
const JSON_HEADS_Q = 64;
const JSON_HEAD_DIM = 128;

/** The families (all, or those of `ids`, in registry order) with their parameters, one per line. */
export function listFamilies(ids: readonly string[] = FAMILY_IDS): string {
  const width = Math.max(...FAMILY_IDS.map((id) => id.length)) + 2;
  const lines: string[] = [];
  for (const f of FAMILIES.filter((x) => ids.includes(x.id))) {
    lines.push(`${f.id.padEnd(width)}${f.description}`);
    for (const p of f.params) {
      lines.push(`  ${`${p.name}=${p.default}`.padEnd(width - 2)}${p.description}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The --json form of one mask: per-head families print every head's slices. */
export function maskJson(g: GeneratedMask): object {
  const area = meanArea(g);
  const perHead = getFamily(g.family).perHead;
  return {
    family: g.family,
    seqlen: g.seqlen,
    seed: g.seed,
    params: g.params,
    docLens: g.docLens ?? null,
    heads: g.heads.length,
    slices: perHead ? g.heads.map((h) => h.slices) : g.heads[0].slices,
    area,
    sparsity: 1 - area / (g.seqlen * g.seqlen),
    flops: {
      headsQ: JSON_HEADS_Q,
      headDim: JSON_HEAD_DIM,
      fwd: maskFlops(g, JSON_HEADS_Q, JSON_HEAD_DIM, 'fwd'),
      bwd: maskFlops(g, JSON_HEADS_Q, JSON_HEAD_DIM, 'bwd'),
    },
  };
}

/**
 * Writes maskJson(g) as one line, byte for byte JSON.stringify's, in pieces: a large mask (block_sparse
 * at 256k: 17M slices) is more than one JS string can hold ("Invalid string length", exit 1).
 */
export function writeMaskJson(g: GeneratedMask, write: (s: string) => void, chunk = 65536): void {
  const j = maskJson(g) as Record<string, unknown>;
  const mark = '\u0000slices\u0000';
  const [head, tail] = JSON.stringify({ ...j, slices: mark }).split(JSON.stringify(mark));
  const lists = getFamily(g.family).perHead ? g.heads.map((h) => h.slices) : [g.heads[0].slices];
  write(head);
  if (getFamily(g.family).perHead) write('[');
  lists.forEach((list, i) => {
    write(i ? ',[' : '[');
    for (let k = 0; k < list.length; k += chunk) write((k ? ',' : '') + list.slice(k, k + chunk).map((x) => JSON.stringify(x)).join(','));
    write(']');
  });
  if (getFamily(g.family).perHead) write(']');
  write(`${tail}\n`);
}

export async function masksCommand(o: MasksOptions): Promise<void> {
  if (o.list) {
    // --family narrows the list (it used to be ignored silently); an unknown id is bad input.
    const ids: readonly string[] = o.family !== undefined ? parseFamilyIds(o.family) : FAMILY_IDS;
    const listed = FAMILIES.filter((f) => ids.includes(f.id));
    const out = o.json ? `${JSON.stringify(listed.map(({ id, description, params, perHead }) => ({ id, description, params, perHead })), null, 2)}\n` : listFamilies(ids);
    process.stdout.write(out);
    return;
  }
  const seqlen = parseTokens(o.seqlen);
  const seed = parseInteger(o.seed, 'seed', 0);
  const params = parseParams(o.param);
  const families = o.family !== undefined ? parseFamilyIds(o.family) : [...FAMILY_IDS];
  if (o.json) {
    if (families.length !== 1) throw usage('masks --json prints one mask: give exactly one --family');
    const g = generateMask(families[0], seqlen, { seed, params, docLens: o.doclens });
    writeMaskJson(g, (s) => process.stdout.write(s));
    return;
  }
  // --param applies to every selected family that has it; a name none of them has is a typo.
  for (const k of Object.keys(params))
    if (!families.some((id) => k in familyParams(id, params)))
      throw badInput(`--param ${k}: no selected family has this parameter`);
  const items = families.map((id) => generateMask(id, seqlen, { seed, params: familyParams(id, params), docLens: o.doclens }));
  const { index, files } = await writeGallery(o.out, items);
  process.stdout.write(`${items.length} mask(s), ${files.length} file(s) -> ${index}\n`);
}

export function register(program: Command): void {
  program
    .command('masks')
    .description('list mask families, print one mask as JSON (--json), or draw a gallery (PNG/SVG + index)')
    .option('--list', 'list the families and their parameters (those of --family when given)')
    .option('--family <ids>', 'family id; comma-separated for the gallery (default: all)')
    .option('--seqlen <S>', 'sequence length, e.g. 4096, 8k, 1M', '8k')
    .option('--seed <n>', 'seed of the random parts', '0')
    .option('--param <k=v...>', 'family parameter (repeatable), e.g. w=512')
    .option('--doclens <name|path>', 'document lengths: pile | prolong64k | prolong512k | histogram file (default by S)')
    .option('--json', 'print the mask (slices, area, sparsity, FLOPs at 64 heads x 128) as JSON')
    .option('--out <dir>', 'gallery folder', 'attnbench-out/masks')
    .action(masksCommand);
}
