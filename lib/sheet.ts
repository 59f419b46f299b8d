/**
 * Side-by-side comparison sheets: images scaled (nearest) to one height, placed in a row.
 *
 * @module
 */

import { Tensor } from "./tensor.ts";
import { drawText, textWidth } from "./label_font.ts";

/**
 * Nearest-neighbour resize of a [1, C, h, w] tensor.
 *
 * @param t The image.
 * @param height New height.
 * @param width New width.
 * @returns The resized image.
 */
export function resizeNearest(t: Tensor, height: number, width: number): Tensor {
  const [, c, h, w] = t.shape;
  const out = Tensor.zeros([1, c, height, width]);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < height; i++) {
      const si = Math.min(h - 1, Math.floor((i * h) / height));
      for (let j = 0; j < width; j++) {
        const sj = Math.min(w - 1, Math.floor((j * w) / width));
        out.data[(ch * height + i) * width + j] = t.data[(ch * h + si) * w + sj];
      }
    }
  }
  return out;
}

/**
 * Place images side by side at a common height (each scaled by nearest neighbour, keeping
 * its aspect ratio), with a gap of `gap` white pixels; gray images become RGB.
 *
 * @example
 * ```ts
 * import { sideBySide } from "./sheet.ts";
 * import { Tensor } from "./tensor.ts";
 * const s = sideBySide([Tensor.zeros([1, 3, 4, 4]), Tensor.zeros([1, 1, 8, 8])], 8, 2);
 * console.log(s.shape); // [1, 3, 8, 18]
 * ```
 *
 * @param images Images in [0,1], [1, C, h, w] with C 1 or 3.
 * @param height The common height.
 * @param gap Pixels between images.
 * @returns The sheet, [1, 3, height, W].
 */
export function sideBySide(images: Tensor[], height: number, gap = 4): Tensor {
  const scaled = images.map((im) =>
    resizeNearest(im, height, Math.max(1, Math.round((im.w * height) / im.h)))
  );
  const width = scaled.reduce((s, im) => s + im.w, 0) + gap * (scaled.length - 1);
  const out = new Tensor([1, 3, height, width], new Float32Array(3 * height * width).fill(1));
  let x0 = 0;
  for (const im of scaled) {
    for (let c = 0; c < 3; c++) {
      const src = im.c === 1 ? 0 : c;
      for (let i = 0; i < height; i++) {
        for (let j = 0; j < im.w; j++) {
          out.data[(c * height + i) * width + x0 + j] = im.data[(src * height + i) * im.w + j];
        }
      }
    }
    x0 += im.w + gap;
  }
  return out;
}

/** One cell of a labelled sheet: an image and the line under it. */
export interface SheetCell {
  /** The image, [0,1], [1, C, h, w] with C 1 or 3. */
  image: Tensor;
  /** The label, e.g. `bicubic 26.09 dB`. */
  label: string;
}

/**
 * Images side by side with a label centred under each (a 5x7 font at twice its size).
 *
 * @example
 * ```ts
 * import { labelledSheet } from "./sheet.ts";
 * import { Tensor } from "./tensor.ts";
 * const a = Tensor.zeros([1, 3, 32, 32]);
 * const s = labelledSheet([{ image: a, label: "input" }, { image: a, label: "output" }], 32);
 * console.log(s.shape); // [1, 3, 54, 68]
 * ```
 *
 * @param cells Images and their labels.
 * @param height The images' common height.
 * @param gap Pixels between images.
 * @returns The sheet, [1, 3, height + 22, W].
 */
export function labelledSheet(cells: SheetCell[], height: number, gap = 4): Tensor {
  const images = sideBySide(cells.map((c) => c.image), height, gap);
  const strip = 22, h = height + strip, w = images.w;
  const out = new Tensor([1, 3, h, w], new Float32Array(3 * h * w).fill(1));
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < height; i++) {
      out.data.set(
        images.data.subarray((c * height + i) * w, (c * height + i + 1) * w),
        (c * h + i) * w,
      );
    }
  }
  let x0 = 0;
  for (const cell of cells) {
    const cw = Math.max(1, Math.round((cell.image.w * height) / cell.image.h));
    const scale = textWidth(cell.label, 2) <= cw ? 2 : 1;
    drawText(
      out,
      cell.label,
      x0 + Math.max(0, Math.floor((cw - textWidth(cell.label, scale)) / 2)),
      height + 4,
      scale,
    );
    x0 += cw + gap;
  }
  return out;
}
