// Mask pictures as PNG (pngjs), caption drawn with the built-in bitmap font.
import { PNG } from 'pngjs';
import type { Mask } from '../types.js';
import { drawText } from './font.js';
import { cellFraction } from './grid.js';
import { PAPER, TEXT, layoutPicture, shadeColor, type Picture, type RenderOptions } from './picture.js';

/** RGBA pixels of a laid-out picture (p.width x p.height, row-major). */
export function pictureRgba(p: Picture): Uint8Array {
  const { grid } = p;
  const rgba = new Uint8Array(4 * p.width * p.height);
  for (let o = 0; o < rgba.length; o += 4) {
    rgba[o] = PAPER[0];
    rgba[o + 1] = PAPER[1];
    rgba[o + 2] = PAPER[2];
    rgba[o + 3] = 255;
  }
  const colOfPixel = new Int32Array(p.size);
  for (let c = 0; c < grid.cols; c++) colOfPixel.fill(c, p.pixelEdgesK[c], p.pixelEdgesK[c + 1]);
  const rowRgb = new Uint8Array(3 * grid.cols);
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) rowRgb.set(shadeColor(cellFraction(grid, r, c)), 3 * c);
    for (let y = p.pixelEdgesQ[r]; y < p.pixelEdgesQ[r + 1]; y++)
      for (let x = 0; x < p.size; x++) {
        const o = 4 * (y * p.width + x);
        const c = 3 * colOfPixel[x];
        rgba[o] = rowRgb[c];
        rgba[o + 1] = rowRgb[c + 1];
        rgba[o + 2] = rowRgb[c + 2];
      }
  }
  p.lines.forEach((line, t) => drawText(rgba, p.width, p.height, p.textX, p.textY + t * p.lineHeight, line, p.scale, TEXT));
  return rgba;
}

/** RGBA pixels (alpha ignored) as an RGB PNG. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png, { colorType: 2 });
}

/** The mask as a PNG: a size x size picture (default 512) with the caption band under it. */
export function renderMaskPng(m: Mask, opts: RenderOptions = {}): Buffer {
  const p = layoutPicture(m, opts);
  return encodePng(p.width, p.height, pictureRgba(p));
}
