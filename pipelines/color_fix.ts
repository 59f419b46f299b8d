/**
 * Colour correction of a restored image against a reference (DiffBIR/StableSR): wavelet
 * reconstruction (high frequencies of the content, low frequencies of the style) and AdaIN.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import type { Backend } from "../kernels/backend.ts";
import { CpuBackend } from "../kernels/cpu_backend.ts";

const _cpu = new CpuBackend();

/**
 * One level of StableSR's wavelet blur: a depthwise 3x3 kernel [[1,2,1],[2,4,2],[1,2,1]]/16
 * with dilation r and replicate padding r.
 *
 * @param t The image [n, C, H, W].
 * @param radius r.
 * @param backend Where to compute it (default: the CPU).
 * @returns The blurred image.
 */
export function waveletBlur(t: Tensor, radius: number, backend: Backend = _cpu): Tensor {
  return backend.waveletBlur(Tensor.zeros(t.shape), t, radius);
}

/**
 * StableSR's wavelet decomposition into 5 levels (radii 1, 2, 4, 8, 16): high = Σ (x_i −
 * blur(x_i)), low = x_5. high + low = input exactly (telescoping).
 *
 * @param t The image.
 * @param levels Levels (5).
 * @returns High and low frequencies.
 */
export function waveletDecomposition(t: Tensor, levels = 5): { high: Tensor; low: Tensor } {
  const high = Tensor.zeros(t.shape);
  let image = t;
  for (let i = 0; i < levels; i++) {
    const low = waveletBlur(image, 2 ** i);
    for (let k = 0; k < high.size; k++) high.data[k] += image.data[k] - low.data[k];
    image = low;
  }
  return { high, low: image };
}

/**
 * Wavelet colour fix: the high frequencies of `content` plus the low frequencies of `style`.
 *
 * @example
 * ```ts
 * import { waveletReconstruction } from "./color_fix.ts";
 * import { Tensor } from "../lib/tensor.ts";
 * const x = new Tensor([1, 1, 2, 2], new Float32Array([0.1, 0.2, 0.3, 0.4]));
 * console.log(waveletReconstruction(x, x).data); // x itself (up to rounding)
 * ```
 *
 * On a device backend the result stays on the device until {@linkcode Backend.read}.
 *
 * @param content The restored image.
 * @param style The reference (the stage-1 output).
 * @param backend Where to compute it (default: the CPU).
 * @returns The corrected image.
 */
export function waveletReconstruction(
  content: Tensor,
  style: Tensor,
  backend: Backend = _cpu,
): Tensor {
  // high(content) = content − low(content) exactly (the decomposition telescopes), so only the
  // two low-pass images are needed: content − low(content) + low(style)
  const lowContent = _lowPass(content, backend), lowStyle = _lowPass(style, backend);
  return backend.combine(lowStyle, [[1, lowStyle], [1, content], [-1, lowContent]]);
}

function _lowPass(t: Tensor, backend: Backend, levels = 5): Tensor {
  let image = t;
  for (let i = 0; i < levels; i++) image = waveletBlur(image, 2 ** i, backend);
  return image;
}

/**
 * AdaIN colour fix: per channel (x − μ_c)/σ_c · σ_s + μ_s, σ² = unbiased variance + 1e−5.
 *
 * @param content The restored image.
 * @param style The reference.
 * @returns The corrected image.
 */
export function adainColorFix(content: Tensor, style: Tensor): Tensor {
  const [n, c, h, w] = content.shape;
  const plane = h * w;
  const stats = (t: Tensor, p: number) => {
    const d = t.data.subarray(p * plane, (p + 1) * plane);
    const m = d.reduce((a, b) => a + b, 0) / plane;
    const v = d.reduce((a, b) => a + (b - m) ** 2, 0) / (plane - 1) + 1e-5;
    return { m, s: Math.sqrt(v) };
  };
  const out = Tensor.zeros(content.shape);
  for (let p = 0; p < n * c; p++) {
    const a = stats(content, p), b = stats(style, p);
    for (let i = 0; i < plane; i++) {
      out.data[p * plane + i] = ((content.data[p * plane + i] - a.m) / a.s) * b.s + b.m;
    }
  }
  return out;
}
