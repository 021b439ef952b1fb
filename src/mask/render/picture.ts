// What a mask picture shows and where: a size x size square of cells (the grid stretched to a square
// when Sq != Sk), each shaded from the masked colour to the ink by its exact unmasked fraction, and
// a caption band under it. Shared by the PNG and the SVG writers so both draw the same picture.
import { maskArea } from '../slices.js';
import type { Mask } from '../types.js';
import { ADVANCE_X, ADVANCE_Y, wrapText } from './font.js';
import { shadeGrid, type ShadeGrid } from './grid.js';

export type Rgb = readonly [number, number, number];

/** Colour of fully masked cells. */
export const MASKED: Rgb = [243, 244, 246];
/** Colour of fully unmasked cells. */
export const INK: Rgb = [30, 64, 175];
/** Caption band and its text. */
export const PAPER: Rgb = [255, 255, 255];
export const TEXT: Rgb = [17, 24, 39];

export interface RenderOptions {
  /** Side of the picture in pixels (default 512); the caption band comes below it. */
  readonly size?: number;
  /** Caption under the picture; default: shape, area and sparsity. '' draws no caption band. */
  readonly caption?: string;
}

/** Colour of a cell whose unmasked fraction is f: MASKED at 0, INK at 1, linear between. */
export function shadeColor(f: number): Rgb {
  const mix = (t: number) => Math.round(MASKED[t] + (INK[t] - MASKED[t]) * f);
  return [mix(0), mix(1), mix(2)];
}

export function formatCount(n: number): string {
  return n < 1e6 ? String(n) : n.toExponential(3);
}

/** "S=4096 area=... sparsity=...%": what a picture's caption says by default. */
export function maskSummary(m: Mask): string {
  const area = maskArea(m);
  const shape = m.seqlenQ === m.seqlenK ? `S=${m.seqlenQ}` : `Sq=${m.seqlenQ} Sk=${m.seqlenK}`;
  const sparsity = 100 * (1 - area / (m.seqlenQ * m.seqlenK));
  return `${shape} area=${formatCount(area)} sparsity=${sparsity.toFixed(2)}%`;
}

export interface Picture {
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly grid: ShadeGrid;
  /** Pixel edges of the cells: cell column c spans pixels [pixelEdgesK[c], pixelEdgesK[c+1]). */
  readonly pixelEdgesQ: readonly number[];
  readonly pixelEdgesK: readonly number[];
  /** Caption: lines, font scale, top-left of the first line, line advance (pixels). */
  readonly lines: readonly string[];
  readonly scale: number;
  readonly textX: number;
  readonly textY: number;
  readonly lineHeight: number;
}

export function layoutPicture(m: Mask, opts: RenderOptions = {}): Picture {
  const size = opts.size ?? 512;
  if (!(Number.isInteger(size) && size >= 16)) throw new Error(`picture size must be an integer >= 16, got ${size}`);
  const rows = Math.min(m.seqlenQ, size);
  const cols = Math.min(m.seqlenK, size);
  const grid = shadeGrid(m, rows, cols);
  const scale = Math.max(1, Math.floor(size / 256));
  const margin = 4 * scale;
  const caption = opts.caption ?? maskSummary(m);
  const lines = caption ? wrapText(caption, Math.floor((size - 2 * margin) / (ADVANCE_X * scale))) : [];
  const lineHeight = ADVANCE_Y * scale;
  const band = lines.length ? 2 * margin + lines.length * lineHeight : 0;
  const edges = (n: number) => Array.from({ length: n + 1 }, (_, p) => Math.floor((p * size) / n));
  return {
    size,
    width: size,
    height: size + band,
    grid,
    pixelEdgesQ: edges(rows),
    pixelEdgesK: edges(cols),
    lines,
    scale,
    textX: margin,
    textY: size + margin + scale,
    lineHeight,
  };
}
