/**
 * Resizing as PyTorch's `F.interpolate(mode="bicubic", align_corners=False)` does it: cubic
 * convolution with A = −0.75 and border-clamped taps, or with `antialias=True`.
 *
 * @module
 */

import { Tensor } from "./tensor.ts";

function _cubicWeights(t: number, a: number): [number, number, number, number] {
  const c1 = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const c2 = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)];
}

/** Source taps of each output index along one axis: `k` per output, indices and weights. */
interface _Taps {
  idx: Int32Array;
  w: Float64Array;
  k: number;
}

function _axis(n: number, m: number, scale: number, a: number): _Taps {
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
  return { idx, w, k: 4 };
}

/** The Keys cubic with A = −0.5 (PIL's and PyTorch's antialiased bicubic). */
function _cubic(x: number): number {
  const a = -0.5, t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/**
 * PyTorch's antialiased taps (`antialias=True`, as PIL): the kernel widened by the downscale
 * factor, only in-range taps, weights normalised to sum 1.
 */
function _antialiasAxis(n: number, m: number): _Taps {
  const scale = n / m, support = scale >= 1 ? 2 * scale : 2, inv = scale >= 1 ? 1 / scale : 1;
  const k = 2 * Math.ceil(support) + 1;
  const idx = new Int32Array(k * m), w = new Float64Array(k * m);
  for (let i = 0; i < m; i++) {
    const center = scale * (i + 0.5);
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), n);
    let total = 0;
    for (let j = 0; j < hi - lo; j++) {
      const v = _cubic((j + lo - center + 0.5) * inv);
      idx[k * i + j] = lo + j;
      w[k * i + j] = v;
      total += v;
    }
    if (total !== 0) { for (let j = 0; j < hi - lo; j++) w[k * i + j] /= total; }
  }
  return { idx, w, k };
}

/** Apply column taps to every row, then row taps. */
function _separable(t: Tensor, height: number, width: number, ay: _Taps, ax: _Taps): Tensor {
  const [n, c, h, w] = t.shape;
  const out = Tensor.zeros([n, c, height, width]);
  const row = new Float64Array(width);
  for (let p = 0; p < n * c; p++) {
    const src = t.data.subarray(p * h * w, (p + 1) * h * w);
    const tmp = new Float64Array(h * width);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < width; j++) {
        let s = 0;
        for (let k = 0; k < ax.k; k++) s += ax.w[ax.k * j + k] * src[i * w + ax.idx[ax.k * j + k]];
        tmp[i * width + j] = s;
      }
    }
    for (let i = 0; i < height; i++) {
      row.fill(0);
      for (let k = 0; k < ay.k; k++) {
        const wk = ay.w[ay.k * i + k], r = ay.idx[ay.k * i + k] * width;
        if (wk === 0) continue;
        for (let j = 0; j < width; j++) row[j] += wk * tmp[r + j];
      }
      out.data.set(row, p * height * width + i * width);
    }
  }
  return out;
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
  const [, , h, w] = t.shape;
  return _separable(
    t,
    height,
    width,
    _axis(h, height, h / height, a),
    _axis(w, width, w / width, a),
  );
}

/**
 * Bicubic resize with PyTorch's `antialias=True` (PIL's filter: A = −0.5, widened by the factor
 * when shrinking, in-range taps normalised), as DiffBIR HEAD resizes to and from 512.
 *
 * @example
 * ```ts
 * import { resizeBicubicAntialias } from "./resize.ts";
 * import { Tensor } from "./tensor.ts";
 * const half = resizeBicubicAntialias(new Tensor([1, 1, 4, 4], new Float32Array(16).fill(2)), 2, 2);
 * console.log(half.data[3]); // 2
 * ```
 *
 * @param t The image.
 * @param height Output height.
 * @param width Output width.
 * @returns The resized image.
 */
export function resizeBicubicAntialias(t: Tensor, height: number, width: number): Tensor {
  const [, , h, w] = t.shape;
  return _separable(t, height, width, _antialiasAxis(h, height), _antialiasAxis(w, width));
}
