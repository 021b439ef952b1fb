// Mask pictures as SVG: the same cells as the PNG, as rectangles (runs of equal colour merged
// along rows, equal rows merged downwards), and the caption as <text>. A picture that would need
// more than SVG_MAX_RECTS rectangles (random block-sparse masks) embeds its PNG instead.
import type { Mask } from '../types.js';
import { GLYPH_H } from './font.js';
import { cellFraction } from './grid.js';
import { encodePng, pictureRgba } from './png.js';
import { MASKED, PAPER, TEXT, layoutPicture, shadeColor, type Rgb, type RenderOptions } from './picture.js';

export const SVG_MAX_RECTS = 20_000;

const hex = (c: Rgb) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderMaskSvg(m: Mask, opts: RenderOptions = {}): string {
  const p = layoutPicture(m, opts);
  const { grid } = p;
  const masked = hex(MASKED);
  // Runs of one colour per cell row, as "x0,x1,colour" keys; equal consecutive rows merge.
  const rowRuns: string[][] = [];
  for (let r = 0; r < grid.rows; r++) {
    const runs: string[] = [];
    let start = 0;
    let colour = '';
    for (let c = 0; c <= grid.cols; c++) {
      const next = c < grid.cols ? hex(shadeColor(cellFraction(grid, r, c))) : '';
      if (next === colour) continue;
      if (colour && colour !== masked) runs.push(`${p.pixelEdgesK[start]},${p.pixelEdgesK[c]},${colour}`);
      start = c;
      colour = next;
    }
    rowRuns.push(runs);
  }
  const rects: string[] = [];
  for (let r = 0; r < grid.rows && rects.length <= SVG_MAX_RECTS; ) {
    let r1 = r + 1;
    const key = rowRuns[r].join(' ');
    while (r1 < grid.rows && rowRuns[r1].join(' ') === key) r1++;
    const y0 = p.pixelEdgesQ[r];
    const y1 = p.pixelEdgesQ[r1];
    for (const run of rowRuns[r]) {
      const [x0, x1, colour] = run.split(',');
      rects.push(`<rect x="${x0}" y="${y0}" width="${Number(x1) - Number(x0)}" height="${y1 - y0}" fill="${colour}"/>`);
    }
    r = r1;
  }
  const body =
    rects.length <= SVG_MAX_RECTS
      ? [`<rect width="${p.size}" height="${p.size}" fill="${masked}"/>`, ...rects]
      : [
          `<image width="${p.size}" height="${p.size}" style="image-rendering:pixelated" href="data:image/png;base64,${encodePng(p.size, p.size, pictureRgba(p).subarray(0, 4 * p.size * p.size)).toString('base64')}"/>`,
        ];
  const fontSize = (GLYPH_H + 2) * p.scale;
  const text = p.lines.map(
    (line, t) =>
      `<text x="${p.textX}" y="${p.textY + t * p.lineHeight + GLYPH_H * p.scale - p.scale}" font-family="ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${fontSize}" fill="${hex(TEXT)}" xml:space="preserve">${escapeXml(line)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${p.width}" height="${p.height}" viewBox="0 0 ${p.width} ${p.height}" shape-rendering="crispEdges">`,
    `<rect width="${p.width}" height="${p.height}" fill="${hex(PAPER)}"/>`,
    ...body,
    ...text,
    '</svg>',
    '',
  ].join('\n');
}
