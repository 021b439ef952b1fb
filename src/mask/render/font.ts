// A tiny 5 x 8 bitmap font (digits, both cases of letters, a few symbols) for PNG captions:
// pngjs draws no text. Each glyph is 8 rows of 5 bits, top row first, most significant bit left,
// written as 16 hex digits; row 7 is the descender. Unknown characters draw as '?'.

const CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;=-_+()[]/%*<>\'"!?#&|';
// prettier-ignore
const GLYPHS = [
  '0e11131519110e00', '040c040404040e00', '0e11010204081f00', '1f02040201110e00', '02060a121f020200', '1f101e0101110e00',
  '0608101e11110e00', '1f01020408080800', '0e11110e11110e00', '0e11110f01020c00', '0e11111f11111100', '1e11111e11111e00',
  '0e11101010110e00', '1c12111111121c00', '1f10101e10101f00', '1f10101e10101000', '0e11101711110f00', '1111111f11111100',
  '0e04040404040e00', '0702020202120c00', '1112141814121100', '1010101010101f00', '111b151511111100', '1111191513111100',
  '0e11111111110e00', '1e11111e10101000', '0e11111115120d00', '1e11111e14121100', '0f10100e01011e00', '1f04040404040400',
  '1111111111110e00', '11111111110a0400', '1111111515150a00', '11110a040a111100', '1111110a04040400', '1f01020408101f00',
  '00000e010f110f00', '1010161911111e00', '00000e1010110e00', '01010d1311110f00', '00000e111f100e00', '0609081c08080800',
  '00000f11110f010e', '1010161911111100', '04000c0404040e00', '020006020202120c', '1010121418141200', '0c04040404040e00',
  '00001a1515151500', '0000161911111100', '00000e1111110e00', '00001e11111e1010', '00000f11110f0101', '0000161910101000',
  '00000f100e011e00', '08081c0808090600', '0000111111130d00', '00001111110a0400', '0000111115150a00', '0000110a040a1100',
  '00001111110f010e', '00001f0204081f00', '0000000000000000', '00000000000c0c00', '00000000000c0408', '000c0c000c0c0000',
  '000c0c000c040800', '00001f001f000000', '0000001f00000000', '000000000000001f', '0004041f04040000', '0204080808040200',
  '0804020202040800', '0e08080808080e00', '0e02020202020e00', '0001020408100000', '1819020408130300', '0004150e15040000',
  '0204081008040200', '0804020102040800', '0404080000000000', '0a0a0a0000000000', '0404040404000400', '0e11010204000400',
  '0a0a1f0a1f0a0a00', '0c12140815120d00', '0404040404040400',
];

export const GLYPH_W = 5;
export const GLYPH_H = 8;
/** Advance per character and per line, in font pixels (before scaling). */
export const ADVANCE_X = 6;
export const ADVANCE_Y = 10;

const ROWS = new Map<string, number[]>(
  [...CHARS].map((c, t) => [c, Array.from({ length: GLYPH_H }, (_, y) => parseInt(GLYPHS[t].slice(2 * y, 2 * y + 2), 16))]),
);

/** Whether font pixel (x, y) of the glyph for ch is set. */
export function glyphPixel(ch: string, x: number, y: number): boolean {
  const rows = ROWS.get(ch) ?? ROWS.get('?')!;
  return ((rows[y] >> (GLYPH_W - 1 - x)) & 1) === 1;
}

/** Split text into lines of at most `width` characters, at spaces where possible. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      for (let w = word; w.length > 0; ) {
        const room = line ? width - line.length - 1 : width;
        if (w.length <= room) {
          line = line ? `${line} ${w}` : w;
          w = '';
        } else if (line) {
          lines.push(line);
          line = '';
        } else {
          lines.push(w.slice(0, width));
          w = w.slice(width);
        }
      }
    }
    lines.push(line);
  }
  return lines;
}

/**
 * Draw text into an RGBA buffer of the given width at (x, y) (top-left), each font pixel a
 * scale x scale square. Pixels outside the buffer are skipped.
 */
export function drawText(
  rgba: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  text: string,
  scale: number,
  color: readonly [number, number, number],
): void {
  [...text].forEach((ch, t) => {
    for (let gy = 0; gy < GLYPH_H; gy++)
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (!glyphPixel(ch, gx, gy)) continue;
        for (let dy = 0; dy < scale; dy++)
          for (let dx = 0; dx < scale; dx++) {
            const px = x + (t * ADVANCE_X + gx) * scale + dx;
            const py = y + gy * scale + dy;
            if (px < 0 || py < 0 || px >= width || py >= height) continue;
            const o = 4 * (py * width + px);
            rgba[o] = color[0];
            rgba[o + 1] = color[1];
            rgba[o + 2] = color[2];
            rgba[o + 3] = 255;
          }
      }
  });
}
