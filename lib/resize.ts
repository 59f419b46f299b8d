/**
 * Resizing as PyTorch's `F.interpolate(mode="bicubic", align_corners=False)` does it (cubic
 * convolution with A = −0.75, border-clamped taps, no antialiasing).
 *
 * @module
 */

import { Tensor } from "./tensor.ts";

function _cubicWeights(t: number, a: number): [number, number, number, number] {
  const c1 = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const c2 = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
}

function _axis(
  n: number,
  m: number,
  scale: number,
  a: number,
): { idx: Int32Array; w: Float64Array } {
  const idx = new Int32Array(4 * m), w = new Float64Array(4 * m);
  for (let i = 0; i < m; i++) {
    const src = scale * (i + 0.5) - 0.5;
    const i0 = Math.floor(src);
    const ws = _cubicWeights(src - i0, a);
    for (let k = 0; k < 4; k++) {
      idx[4 * i + k] = Math.min(n - 1, Math.max(0, i0 - 1 + k));
      w[4 * i + k] = ws[k];
    }
  }
  return { idx, w };
}

/**
 * Bicubic resize of a [n, C, h, w] tensor to [n, C, height, width] with PyTorch's
 * conventions (align_corners = false, A = −0.75 by default).
 *
 * @example
 * ```ts
 * import { resizeBicubic } from "./resize.ts";
 * import { Tensor } from "./tensor.ts";
 * const up = resizeBicubic(new Tensor([1, 1, 2, 2], new Float32Array([1, 1, 1, 1])), 4, 4);
 * console.log(up.data[5]); // 1 (constants stay constant)
 * ```
 *
 * @param t The image.
 * @param height Output height.
 * @param width Output width.
 * @param a The cubic coefficient (−0.75 PyTorch, −0.5 MATLAB).
 * @returns The resized image.
 */
export function resizeBicubic(t: Tensor, height: number, width: number, a = -0.75): Tensor {
  const [n, c, h, w] = t.shape;
  const ay = _axis(h, height, h / height, a), ax = _axis(w, width, w / width, a);
  const out = Tensor.zeros([n, c, height, width]);
  const row = new Float64Array(width);
  for (let p = 0; p < n * c; p++) {
    const src = t.data.subarray(p * h * w, (p + 1) * h * w);
    // columns first for every source row, then rows
    const tmp = new Float64Array(h * width);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < width; j++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += ax.w[4 * j + k] * src[i * w + ax.idx[4 * j + k]];
        tmp[i * width + j] = s;
      }
    }
    for (let i = 0; i < height; i++) {
      row.fill(0);
      for (let k = 0; k < 4; k++) {
        const wk = ay.w[4 * i + k], r = ay.idx[4 * i + k] * width;
        for (let j = 0; j < width; j++) row[j] += wk * tmp[r + j];
      }
      out.data.set(row, p * height * width + i * width);
    }
  }
  return out;
}
