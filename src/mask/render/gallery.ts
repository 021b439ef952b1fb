// A gallery of generated masks: <family>.png and <family>.svg per item, and index.html / index.md
// listing them with their parameters. Per-head masks show head 0, and their caption says so.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GeneratedMask } from '../types.js';
import { renderMaskPng } from './png.js';
import { maskSummary, type RenderOptions } from './picture.js';
import { escapeXml, renderMaskSvg } from './svg.js';

/** Caption of an item: family, S, area, sparsity, and which head is shown. */
export function galleryCaption(g: GeneratedMask): string {
  const head = g.heads.length > 1 ? ` (head 0 of ${g.heads.length})` : '';
  return `${g.family}${head} ${maskSummary(g.heads[0])}`;
}

function paramText(g: GeneratedMask): string {
  const parts = Object.entries(g.params).map(([k, v]) => `${k}=${v}`);
  parts.push(`seed=${g.seed}`);
  if (g.docLens) parts.push(`docs=${g.docLens.length}`);
  if (g.heads.length > 1) parts.push(`heads=${g.heads.length}`);
  return parts.join(' ');
}

export async function writeGallery(
  dir: string,
  items: readonly GeneratedMask[],
  opts: Pick<RenderOptions, 'size'> = {},
): Promise<{ index: string; files: string[] }> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const used = new Map<string, number>();
  const entries: { name: string; g: GeneratedMask; caption: string }[] = [];
  for (const g of items) {
    if (g.heads.length === 0) throw new Error(`gallery item ${g.family} has no heads`);
    // File names: the family id, with a counter when a family appears more than once.
    const base = g.family.replace(/[^A-Za-z0-9_.-]/g, '_') || 'mask';
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    const name = n === 1 ? base : `${base}-${n}`;
    const caption = galleryCaption(g);
    for (const [ext, data] of [
      ['png', renderMaskPng(g.heads[0], { ...opts, caption })],
      ['svg', renderMaskSvg(g.heads[0], { ...opts, caption })],
    ] as const) {
      const path = join(dir, `${name}.${ext}`);
      await writeFile(path, data);
      files.push(path);
    }
    entries.push({ name, g, caption });
  }
  const md = [
    '# Mask gallery',
    '',
    '| family | S | parameters | picture |',
    '| --- | --- | --- | --- |',
    ...entries.map(({ name, g }) => `| ${g.family} | ${g.seqlen} | ${paramText(g).replace(/\|/g, '\\|')} | ![${name}](${name}.png) ([svg](${name}.svg)) |`),
    '',
  ].join('\n');
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>Mask gallery</title>',
    '<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:1em;vertical-align:top;width:320px}',
    'img{width:320px;border:1px solid #ddd}figcaption{font-size:13px}code{font-size:12px}</style></head><body>',
    '<h1>Mask gallery</h1>',
    ...entries.map(
      ({ name, g, caption }) =>
        `<figure><a href="${escapeXml(name)}.svg"><img src="${escapeXml(name)}.png" alt="${escapeXml(caption)}"></a>` +
        `<figcaption><b>${escapeXml(g.family)}</b> S=${g.seqlen}<br><code>${escapeXml(paramText(g))}</code></figcaption></figure>`,
    ),
    '</body></html>',
    '',
  ].join('\n');
  const index = join(dir, 'index.html');
  await writeFile(index, html);
  await writeFile(join(dir, 'index.md'), md);
  files.push(index, join(dir, 'index.md'));
  return { index, files };
}
