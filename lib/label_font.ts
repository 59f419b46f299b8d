/**
 * A 5x7 bitmap font for labelling comparison sheets (capitals, digits and a little punctuation;
 * lower case is drawn as capitals), so sheets need no font files or text renderer.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

// each glyph: seven rows of five bits, the high bit leftmost
const _GLYPHS: Record<string, readonly number[]> = {
  " ": [0, 0, 0, 0, 0, 0, 0],
  "0": [14, 17, 19, 21, 25, 17, 14],
  "1": [4, 12, 4, 4, 4, 4, 14],
  "2": [14, 17, 1, 2, 4, 8, 31],
  "3": [31, 2, 4, 2, 1, 17, 14],
  "4": [2, 6, 10, 18, 31, 2, 2],
  "5": [31, 16, 30, 1, 1, 17, 14],
  "6": [6, 8, 16, 30, 17, 17, 14],
  "7": [31, 1, 2, 4, 8, 8, 8],
  "8": [14, 17, 17, 14, 17, 17, 14],
  "9": [14, 17, 17, 15, 1, 2, 12],
  A: [14, 17, 17, 17, 31, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 17, 10, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  ".": [0, 0, 0, 0, 0, 12, 12],
  ",": [0, 0, 0, 0, 12, 4, 8],
  "+": [0, 4, 4, 31, 4, 4, 0],
  "-": [0, 0, 0, 31, 0, 0, 0],
  ":": [0, 12, 12, 0, 12, 12, 0],
  "/": [0, 1, 2, 4, 8, 16, 0],
  "(": [2, 4, 8, 8, 8, 4, 2],
  ")": [8, 4, 2, 2, 2, 4, 8],
  "%": [24, 25, 2, 4, 8, 19, 3],
  "=": [0, 0, 31, 0, 31, 0, 0],
};

/**
 * Draw a line of text into an image, in place, in black (characters the font lacks are spaces).
 *
 * @example
 * ```ts
 * import { drawText } from "./label_font.ts";
 * import { Tensor } from "./tensor.ts";
 * const strip = new Tensor([1, 3, 16, 64], new Float32Array(3 * 16 * 64).fill(1));
 * drawText(strip, "PSNR 27.1", 2, 1, 2);
 * console.log(strip.data.some((v) => v === 0)); // true
 * ```
 *
 * @param image The image to draw on, [1, C, H, W] in [0,1].
 * @param text The text.
 * @param x Left edge in pixels.
 * @param y Top edge in pixels.
 * @param scale Pixels per font dot.
 */
export function drawText(image: Tensor, text: string, x: number, y: number, scale = 2): void {
  const [, c, h, w] = image.shape;
  let x0 = x;
  for (const ch of text.toUpperCase()) {
    const rows = _GLYPHS[ch] ?? _GLYPHS[" "];
    for (let r = 0; r < 7; r++) {
      for (let b = 0; b < 5; b++) {
        if (!(rows[r] & (16 >> b))) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const py = y + r * scale + dy, px = x0 + b * scale + dx;
            if (py < 0 || py >= h || px < 0 || px >= w) continue;
            for (let k = 0; k < c; k++) image.data[(k * h + py) * w + px] = 0;
          }
        }
      }
    }
    x0 += 6 * scale;
  }
}

/**
 * The width in pixels `drawText` gives a text.
 *
 * @example
 * ```ts
 * import { textWidth } from "./label_font.ts";
 * console.log(textWidth("AB", 2)); // 22
 * ```
 *
 * @param text The text.
 * @param scale Pixels per font dot.
 * @returns Its width.
 */
export function textWidth(text: string, scale = 2): number {
  return text.length === 0 ? 0 : text.length * 6 * scale - scale;
}
