import { Resvg } from '@resvg/resvg-js';
import fc from 'fast-check';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { bandToSlices } from '../band.js';
import { SliceIndex, toDense } from '../slices.js';
import type { GeneratedMask, Mask, Slice } from '../types.js';
import { wrapText } from './font.js';
import { INK, MASKED, renderMaskPng, renderMaskSvg, shadeColor, shadeGrid, writeGallery } from './index.js';
import { arbGridMask } from '../testing.js';

const band = (s: number, lo: number, hi: number): Mask => ({ seqlenQ: s, seqlenK: s, slices: bandToSlices({ q0: 0, q1: s, k0: 0, k1: s, lo, hi }) });

function causalDocs(lens: readonly number[]): Mask {
  const slices: Slice[] = [];
  let a = 0;
  for (const n of lens) {
    slices.push({ qStart: a, qEnd: a + n, kStart: a, kEnd: a + n, kind: 'causal' });
    a += n;
  }
  return { seqlenQ: a, seqlenK: a, slices };
}

const arbMask: fc.Arbitrary<Mask> = arbGridMask(60);

/** Unmasked fraction of tokens [q0, q1) x [k0, k1), counted on the dense mask. */
function denseFraction(m: Mask, dense: Uint8Array, q0: number, q1: number, k0: number, k1: number): number {
  let n = 0;
  for (let i = q0; i < q1; i++) for (let j = k0; j < k1; j++) n += dense[i * m.seqlenK + j];
  return n / ((q1 - q0) * (k1 - k0));
}

const pixel = (png: PNG, x: number, y: number) => [...png.data.subarray(4 * (y * png.width + x), 4 * (y * png.width + x) + 3)];

describe('shade grid', () => {
  it('every cell holds the exact unmasked area (rectArea and the dense count agree)', () => {
    fc.assert(
      fc.property(arbMask, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), (m, r, c) => {
        const rows = Math.min(r, m.seqlenQ);
        const cols = Math.min(c, m.seqlenK);
        const g = shadeGrid(m, rows, cols);
        const idx = new SliceIndex(m);
        const dense = toDense(m);
        for (let a = 0; a < rows; a++)
          for (let b = 0; b < cols; b++) {
            const [q0, q1, k0, k1] = [g.edgesQ[a], g.edgesQ[a + 1], g.edgesK[b], g.edgesK[b + 1]];
            expect(q1).toBeGreaterThan(q0);
            expect(k1).toBeGreaterThan(k0);
            expect(g.area[a * cols + b]).toBe(idx.rectArea(q0, q1, k0, k1));
            expect(g.area[a * cols + b] / ((q1 - q0) * (k1 - k0))).toBe(denseFraction(m, dense, q0, q1, k0, k1));
          }
      }),
    );
  });
});

describe('renderMaskPng', () => {
  it('decodes to the requested size; the caption band goes under the picture', () => {
    const m = band(100, -10, 0);
    const bare = PNG.sync.read(renderMaskPng(m, { size: 64, caption: '' }));
    expect([bare.width, bare.height]).toEqual([64, 64]);
    const captioned = PNG.sync.read(renderMaskPng(m, { size: 300 }));
    expect(captioned.width).toBe(300);
    expect(captioned.height).toBeGreaterThan(300);
    expect(PNG.sync.read(renderMaskPng(m)).width).toBe(512);
    // The caption draws some dark text pixels in the band.
    let dark = 0;
    for (let y = 300; y < captioned.height; y++) for (let x = 0; x < 300; x++) if (pixel(captioned, x, y)[0] < 100) dark++;
    expect(dark).toBeGreaterThan(50);
  });

  it('pixel shades are the exact unmasked fraction of their cell', () => {
    // S = 37 over 16 pixels: cells of 2 or 3 tokens, diagonal cells partly unmasked.
    for (const m of [band(37, -5, 2), causalDocs([5, 11, 3, 18]), band(37, 3, 9)]) {
      const size = 16;
      const png = PNG.sync.read(renderMaskPng(m, { size, caption: '' }));
      const dense = toDense(m);
      const edge = (p: number) => Math.floor((p * 37) / size);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const f = denseFraction(m, dense, edge(y), edge(y + 1), edge(x), edge(x + 1));
          expect(pixel(png, x, y)).toEqual([...shadeColor(f)]);
        }
    }
    expect([...shadeColor(0)]).toEqual([...MASKED]);
    expect([...shadeColor(1)]).toEqual([...INK]);
  });

  it('small masks: every token is a block of whole pixels', () => {
    const m = band(10, -2, 0);
    const png = PNG.sync.read(renderMaskPng(m, { size: 40, caption: '' }));
    const dense = toDense(m);
    for (let y = 0; y < 40; y++)
      for (let x = 0; x < 40; x++) expect(pixel(png, x, y)).toEqual([...(dense[Math.floor(y / 4) * 10 + Math.floor(x / 4)] ? INK : MASKED)]);
  });

  it('a 1M-token document mask draws well under a second', () => {
    const lens: number[] = [];
    for (let a = 0, t = 0; a < 1 << 20; t++) {
      const n = Math.min((1 << 20) - a, 300 + ((t * 7919) % 4000));
      lens.push(n);
      a += n;
    }
    const m = causalDocs(lens);
    const t0 = performance.now();
    const png = renderMaskPng(m);
    const svg = renderMaskSvg(m);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(PNG.sync.read(png).width).toBe(512);
    expect(svg.length).toBeGreaterThan(0);
  });
});

describe('renderMaskSvg', () => {
  it('is well formed SVG that draws the same cells, with the caption as escaped text', () => {
    const m = causalDocs([40, 24, 64]);
    const svg = renderMaskSvg(m, { size: 128, caption: 'docs <a & b> "q"' });
    expect(svg).toContain('<text');
    expect(svg).toContain('docs &lt;a &amp; b&gt; &quot;q&quot;');
    const img = new Resvg(svg).render(); // throws on malformed XML
    expect(img.width).toBe(128);
    const png = PNG.sync.read(img.asPng());
    const ref = PNG.sync.read(renderMaskPng(m, { size: 128, caption: '' }));
    for (let y = 0; y < 128; y += 3) for (let x = 0; x < 128; x += 3) expect(pixel(png, x, y)).toEqual(pixel(ref, x, y));
  });

  it('falls back to an embedded PNG when rectangles would be too many', () => {
    // A checkerboard of 1-token slices: every cell differs from its neighbours.
    const s = 300;
    const slices: Slice[] = [];
    for (let i = 0; i < s; i++) for (let j = (i % 2); j < s; j += 2) slices.push({ qStart: i, qEnd: i + 1, kStart: j, kEnd: j + 1, kind: 'full' });
    const svg = renderMaskSvg({ seqlenQ: s, seqlenK: s, slices }, { size: 300 });
    expect(svg).toContain('data:image/png;base64,');
    expect(new Resvg(svg).render().width).toBe(300);
  });
});

describe('caption text', () => {
  it('wraps at spaces into lines no longer than the width, keeping every word', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9=.%]{1,12}$/), { maxLength: 12 }), fc.integer({ min: 5, max: 40 }), (words, width) => {
        const lines = wrapText(words.join(' '), width);
        for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
        expect(lines.join(' ').replace(/ +/g, ' ').trim().replace(/ /g, '')).toBe(words.join(''));
      }),
    );
  });
});

describe('writeGallery', () => {
  it('writes a PNG and an SVG per item and an index listing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attnbench-gallery-'));
    try {
      const items: GeneratedMask[] = [
        { family: 'causal', seqlen: 64, seed: 0, params: {}, heads: [band(64, -Infinity, 0)] },
        { family: 'sliding_window', seqlen: 64, seed: 0, params: { window: 8 }, heads: [band(64, -8, 8)] },
        { family: 'block_sparse', seqlen: 64, seed: 3, params: { s: 0.5, B: 16 }, heads: [band(64, -4, 4), band(64, -Infinity, 0)] },
        { family: 'block_sparse', seqlen: 64, seed: 4, params: { s: 0.2, B: 16 }, heads: [band(64, 0, 0)] },
      ];
      const out = await writeGallery(join(dir, 'masks'), items, { size: 96 });
      const names = (await readdir(join(dir, 'masks'))).sort();
      expect(names).toEqual(
        ['block_sparse-2.png', 'block_sparse-2.svg', 'block_sparse.png', 'block_sparse.svg', 'causal.png', 'causal.svg', 'index.html', 'index.md', 'sliding_window.png', 'sliding_window.svg'].sort(),
      );
      expect(out.index).toBe(join(dir, 'masks', 'index.html'));
      expect(out.files.map((f) => f.slice(join(dir, 'masks').length + 1)).sort()).toEqual(names);
      const png = PNG.sync.read(await readFile(join(dir, 'masks', 'causal.png')));
      expect(png.width).toBe(96);
      const html = await readFile(out.index, 'utf8');
      for (const n of ['causal.png', 'sliding_window.png', 'block_sparse.png', 'block_sparse-2.png', 'window=8']) expect(html).toContain(n);
      const md = await readFile(join(dir, 'masks', 'index.md'), 'utf8');
      expect(md).toContain('![block_sparse-2](block_sparse-2.png)');
      expect(await readFile(join(dir, 'masks', 'block_sparse.svg'), 'utf8')).toContain('head 0 of 2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
