/**
 * The CPU backend: the per-step math as plain TypeScript loops over `Float32Array`s.
 *
 * @module
 */

import type { Backend, BackendStats, Term } from "./backend.ts";
import type { Tensor } from "../lib/tensor.ts";
import type { NoiseSource } from "../lib/noise.ts";
import type { DegradationOperator, SpectralScale } from "../operators/operator.ts";
import { accumulateTile, cropTile } from "../lib/tiling.ts";

function _sameSize(out: Tensor, t: Tensor): void {
  if (t.size !== out.size) throw new RangeError(`tensor sizes differ: ${t.size} vs ${out.size}`);
}

/**
 * The CPU backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CpuBackend, Tensor } from "@diffrestore/sampler";
 *
 * const backend = new CpuBackend();
 * const x = new Tensor([1, 1, 1, 2], new Float32Array([1, 2]));
 * backend.combine(x, [[2, x]]); // x = 2x, in place
 * assert.deepEqual([...x.data], [2, 4]);
 * ```
 */
export class CpuBackend implements Backend {
  /** Always `cpu`. */
  readonly name = "cpu" as const;
  /** Nothing is transferred on the CPU. */
  readonly stats: BackendStats = { uploads: 0, downloads: 0, fallbacks: 0 };

  /**
   * out = Σ c_k t_k.
   *
   * @param out Receives the result.
   * @param terms Coefficients and tensors.
   * @returns out.
   */
  combine(out: Tensor, terms: readonly Term[]): Tensor {
    for (const [, t] of terms) _sameSize(out, t);
    const o = out.data, n = o.length;
    if (terms.length === 1) {
      const [a, x] = terms[0];
      const xd = x.data;
      for (let i = 0; i < n; i++) o[i] = a * xd[i];
    } else if (terms.length === 2) {
      const [a, x] = terms[0], [b, y] = terms[1];
      const xd = x.data, yd = y.data;
      for (let i = 0; i < n; i++) o[i] = a * xd[i] + b * yd[i];
    } else if (terms.length === 3) {
      const [a, x] = terms[0], [b, y] = terms[1], [c, z] = terms[2];
      const xd = x.data, yd = y.data, zd = z.data;
      for (let i = 0; i < n; i++) o[i] = a * xd[i] + b * yd[i] + c * zd[i];
    } else if (terms.length === 4) {
      // IR-SDE's step: one pass in float64, the same sums as the general path
      const [a, x] = terms[0], [b, y] = terms[1], [c, z] = terms[2], [d, w] = terms[3];
      const xd = x.data, yd = y.data, zd = z.data, wd = w.data;
      for (let i = 0; i < n; i++) o[i] = a * xd[i] + b * yd[i] + c * zd[i] + d * wd[i];
    } else {
      const acc = new Float64Array(n);
      for (const [c, t] of terms) for (let i = 0; i < n; i++) acc[i] += c * t.data[i];
      o.set(acc);
    }
    return out;
  }

  /**
   * Fill with standard-normal draws.
   *
   * @param out Receives the draws.
   * @param source The noise source.
   * @returns out.
   */
  randn(out: Tensor, source: NoiseSource): Tensor {
    source.fill(out.data);
    return out;
  }

  /**
   * x̂0 = x0 − Λ A⁺(A x0 − y).
   *
   * @param op The operator.
   * @param x0 Clean estimate.
   * @param y Observation.
   * @param scale Λ or null.
   * @param out Receives x̂0.
   * @returns out.
   */
  project(
    op: DegradationOperator,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): Promise<Tensor> {
    op.project(x0.data, y, scale, out.data);
    return Promise.resolve(out);
  }

  /**
   * DDNM+'s noise term.
   *
   * @param op The operator.
   * @param z Fresh noise.
   * @param eps Predicted noise.
   * @param scale d1, d2.
   * @param fixed Rotate by Vᵀ.
   * @param out Receives the term.
   * @returns out.
   */
  lambdaNoise(
    op: DegradationOperator,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): Promise<Tensor> {
    op.lambdaNoise(z.data, eps.data, scale, fixed, out.data);
    return Promise.resolve(out);
  }

  /**
   * out = mask ? a : b.
   *
   * @param out Receives the result.
   * @param mask 0/1 per element.
   * @param a Where mask is 1.
   * @param b Where mask is 0.
   * @returns out.
   */
  blend(out: Tensor, mask: Tensor, a: Tensor, b: Tensor): Tensor {
    const m = mask.data, ad = a.data, bd = b.data, o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = m[i] !== 0 ? ad[i] : bd[i];
    return out;
  }

  /**
   * out = t ⊙ map (per pixel).
   *
   * @param out Receives the result.
   * @param t The tensor.
   * @param map One value per pixel.
   * @returns out.
   */
  mulMap(out: Tensor, t: Tensor, map: Float32Array): Tensor {
    const plane = map.length, td = t.data, o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = td[i] * map[i % plane];
    return out;
  }

  /**
   * out = min(max(t, lo), hi).
   *
   * @param out Receives the result.
   * @param t The tensor.
   * @param lo Lower bound.
   * @param hi Upper bound.
   * @returns out.
   */
  clamp(out: Tensor, t: Tensor, lo: number, hi: number): Tensor {
    _sameSize(out, t);
    const o = out.data, td = t.data, l = Math.fround(lo), h = Math.fround(hi);
    for (let i = 0; i < o.length; i++) o[i] = td[i] < l ? l : td[i] > h ? h : td[i];
    return out;
  }

  /**
   * Copy a tile out of `t`.
   *
   * @param out Receives the tile.
   * @param t The source.
   * @param y Top row.
   * @param x Left column.
   * @returns out.
   */
  crop(out: Tensor, t: Tensor, y: number, x: number): Tensor {
    return cropTile(out, t, y, x);
  }

  /**
   * acc[region] += weights ⊙ tile.
   *
   * @param acc The accumulator.
   * @param tile The tile.
   * @param weights Per-pixel tile weights.
   * @param y Top row.
   * @param x Left column.
   * @returns acc.
   */
  accumulate(acc: Tensor, tile: Tensor, weights: Float32Array, y: number, x: number): Tensor {
    return accumulateTile(acc, tile, weights, y, x);
  }

  /**
   * The dilated 3x3 wavelet blur with replicate padding.
   *
   * @param out Receives the blurred image.
   * @param t The image.
   * @param radius The dilation.
   * @returns out.
   */
  waveletBlur(out: Tensor, t: Tensor, radius: number): Tensor {
    const [n, c, h, w] = t.shape;
    const k = [0.0625, 0.125, 0.0625, 0.125, 0.25, 0.125, 0.0625, 0.125, 0.0625];
    const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
    for (let p = 0; p < n * c; p++) {
      const base = p * h * w;
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          let s = 0;
          for (let di = -1; di <= 1; di++) {
            const ii = clamp(i + di * radius, h - 1);
            for (let dj = -1; dj <= 1; dj++) {
              s += k[(di + 1) * 3 + dj + 1] * t.data[base + ii * w + clamp(j + dj * radius, w - 1)];
            }
          }
          out.data[base + i * w + j] = s;
        }
      }
    }
    return out;
  }

  /**
   * The host copy is the only copy.
   *
   * @param t The tensor.
   * @returns t.
   */
  read(t: Tensor): Promise<Tensor> {
    return Promise.resolve(t);
  }

  /**
   * Nothing to refresh.
   *
   * @param t The tensor.
   * @returns t.
   */
  written(t: Tensor): Tensor {
    return t;
  }
}
