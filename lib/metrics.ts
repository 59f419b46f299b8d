/**
 * Image quality metrics: PSNR and SSIM on [0,1] images.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/**
 * Peak signal-to-noise ratio in dB of two [0,1] images (values clamped to [0,1] first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { psnr, Tensor } from "@diffrestore/sampler";
 *
 * const a = new Tensor([1, 1, 1, 2], Float32Array.of(0.5, 0.5));
 * const b = new Tensor([1, 1, 1, 2], Float32Array.of(0.6, 0.4));
 * assert.equal(psnr(a, b).toFixed(1), "20.0"); // an error of 0.1 everywhere
 * ```
 *
 * @param a First image.
 * @param b Second image (same shape).
 * @returns PSNR in dB (Infinity when equal).
 */
export function psnr(a: Tensor, b: Tensor): number {
  if (a.size !== b.size) throw new RangeError(`image sizes differ: ${a.shape} vs ${b.shape}`);
  let se = 0;
  for (let i = 0; i < a.size; i++) {
    const d = Math.min(1, Math.max(0, a.data[i])) - Math.min(1, Math.max(0, b.data[i]));
    se += d * d;
  }
  const mse = se / a.size;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

/**
 * Structural similarity (Wang et al. 2004) with an 8x8 uniform window, stride 4, averaged over
 * channels and windows (C1 = 0.01², C2 = 0.03²).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ssim, Tensor } from "@diffrestore/sampler";
 *
 * const a = new Tensor([1, 1, 16, 16], Float32Array.from({ length: 256 }, (_, i) => (i % 7) / 7));
 * assert.equal(ssim(a, a), 1);
 * assert.ok(ssim(a, a.map((v) => 1 - v)) < 0);
 * ```
 *
 * @param a First image.
 * @param b Second image (same shape).
 * @returns SSIM in [-1, 1].
 */
export function ssim(a: Tensor, b: Tensor): number {
  if (a.size !== b.size) throw new RangeError(`image sizes differ: ${a.shape} vs ${b.shape}`);
  const [, c, h, w] = a.shape;
  const c1 = 0.01 ** 2, c2 = 0.03 ** 2, k = Math.min(8, h, w);
  let total = 0, count = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y + k <= h; y += 4) {
      for (let x = 0; x + k <= w; x += 4) {
        let ma = 0, mb = 0, va = 0, vb = 0, cov = 0;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const p = (ch * h + y + i) * w + x + j;
            const u = Math.min(1, Math.max(0, a.data[p])), v = Math.min(1, Math.max(0, b.data[p]));
            ma += u;
            mb += v;
            va += u * u;
            vb += v * v;
            cov += u * v;
          }
        }
        const n = k * k;
        ma /= n;
        mb /= n;
        va = va / n - ma * ma;
        vb = vb / n - mb * mb;
        cov = cov / n - ma * mb;
        total += ((2 * ma * mb + c1) * (2 * cov + c2)) /
          ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count++;
      }
    }
  }
  return total / count;
}
