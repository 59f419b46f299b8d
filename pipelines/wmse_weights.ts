/**
 * DiffBIR v2's w-MSE guidance weights, brought to the latent grid (docs/diffbir.md, guidance).
 *
 * @module
 */

import type { Tensor } from "../lib/tensor.ts";

/**
 * w-MSE weights from the target image (docs/diffbir.md, "Restoration guidance"): gray of (target+1)/2, replicate pad 1,
 * Sobel magnitude, 2x2 block sums, w = 1 − tanh; here averaged over 8x8 pixel blocks to the
 * latent grid, since guidance runs in latent space (the reference's weight map only fits rgb).
 *
 * @param clean The stage-1 output in [0,1], [1, 3, H, W] (H, W multiples of 8).
 * @returns Weights per latent pixel.
 */
export function wmseLatentWeights(clean: Tensor): Float32Array {
  const [, , h, w] = clean.shape;
  const plane = h * w, d = clean.data;
  const gray = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    gray[p] = 0.2989 * d[p] + 0.587 * d[plane + p] + 0.114 * d[2 * plane + p];
  }
  const at = (i: number, j: number) =>
    gray[Math.min(h - 1, Math.max(0, i)) * w + Math.min(w - 1, Math.max(0, j))];
  const mag = new Float32Array(plane);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const gx = at(i - 1, j - 1) - at(i - 1, j + 1) + 2 * at(i, j - 1) - 2 * at(i, j + 1) +
        at(i + 1, j - 1) - at(i + 1, j + 1);
      const gy = at(i - 1, j - 1) + 2 * at(i - 1, j) + at(i - 1, j + 1) - at(i + 1, j - 1) -
        2 * at(i + 1, j) - at(i + 1, j + 1);
      mag[i * w + j] = Math.sqrt(gx * gx + gy * gy);
    }
  }
  const px = new Float32Array(plane);
  for (let i = 0; i < h; i += 2) {
    for (let j = 0; j < w; j += 2) {
      const s = 1 -
        Math.tanh(
          mag[i * w + j] + mag[i * w + j + 1] + mag[(i + 1) * w + j] + mag[(i + 1) * w + j + 1],
        );
      px[i * w + j] =
        px[i * w + j + 1] =
        px[(i + 1) * w + j] =
        px[(i + 1) * w + j + 1] =
          s;
    }
  }
  const lh = h / 8, lw = w / 8, out = new Float32Array(lh * lw);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      out[Math.floor(i / 8) * lw + Math.floor(j / 8)] += px[i * w + j] / 64;
    }
  }
  return out;
}
