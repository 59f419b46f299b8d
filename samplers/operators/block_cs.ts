/**
 * Block-based compressed sensing (DDRM/DDNM `CS`): each 32x32 block of each channel is
 * measured by the first K rows of a random orthogonal 1024x1024 matrix Q.
 *
 * The reference draws Q from torch's generator (V of the SVD of a Gaussian matrix), which
 * cannot be reproduced here; Q is the Gram-Schmidt orthonormalisation of a Gaussian matrix
 * from the documented generator (`lib/noise.ts`) with the given seed.
 *
 * @module
 */

import { GaussianNoise } from "../../lib/noise.ts";
import { type DegradationOperator, projectThroughPinv, type SpectralScale } from "./operator.ts";
import type { Shape4, Tensor } from "../../lib/tensor.ts";

const _B = 32;
const _N = _B * _B;

/**
 * A seeded random orthogonal n x n matrix (rows orthonormal), by modified Gram-Schmidt on
 * standard-normal rows drawn from stream 2 of the documented generator.
 *
 * @param n Size.
 * @param seed Seed.
 * @returns Q, row-major float64.
 */
export function randomOrthogonal(n: number, seed: number): Float64Array {
  const g = new Float32Array(n * n);
  new GaussianNoise(seed, 2).fill(g);
  const q = Float64Array.from(g);
  for (let i = 0; i < n; i++) {
    const ri = q.subarray(i * n, (i + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const rj = q.subarray(j * n, (j + 1) * n);
        let d = 0;
        for (let k = 0; k < n; k++) d += ri[k] * rj[k];
        for (let k = 0; k < n; k++) ri[k] -= d * rj[k];
      }
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += ri[k] * ri[k];
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) ri[k] /= norm;
  }
  return q;
}

/** Block compressed sensing; y has shape [1, C, blocks, K]. */
export class BlockCs implements DegradationOperator {
  /** Task name. */
  readonly name = "cs-block";
  /** Shape of x. */
  readonly xShape: Shape4;
  /** Shape of y. */
  readonly yShape: Shape4;
  /** Kept coordinates have singular value 1. */
  readonly singularValues: readonly number[] = [1];
  /** Measurements per block. */
  readonly kept: number;
  /** The orthogonal matrix (its first `kept` rows measure). */
  readonly q: Float64Array;
  #blocks: number;

  /**
   * Build the operator.
   *
   * @param channels C.
   * @param height H (a multiple of 32).
   * @param width W (a multiple of 32).
   * @param ratio Compression factor R: K = floor(1024 / R) measurements per block.
   * @param seed Seed of Q.
   */
  constructor(channels: number, height: number, width: number, ratio: number, seed: number) {
    if (height % _B !== 0 || width % _B !== 0) {
      throw new RangeError(`cs-block needs H and W multiples of 32, got ${width}x${height}`);
    }
    this.kept = Math.floor(_N / ratio);
    this.#blocks = (height / _B) * (width / _B);
    this.xShape = [1, channels, height, width];
    this.yShape = [1, channels, this.#blocks, this.kept];
    this.q = randomOrthogonal(_N, seed);
  }

  #gather(x: Float32Array, c: number, b: number, out: Float64Array): void {
    const [, , h, w] = this.xShape;
    const bw = w / _B, by = Math.floor(b / bw) * _B, bx = (b % bw) * _B;
    for (let i = 0; i < _B; i++) {
      for (let j = 0; j < _B; j++) out[i * _B + j] = x[c * h * w + (by + i) * w + bx + j];
    }
  }

  #scatter(v: Float64Array, c: number, b: number, x: Float32Array): void {
    const [, , h, w] = this.xShape;
    const bw = w / _B, by = Math.floor(b / bw) * _B, bx = (b % bw) * _B;
    for (let i = 0; i < _B; i++) {
      for (let j = 0; j < _B; j++) x[c * h * w + (by + i) * w + bx + j] = v[i * _B + j];
    }
  }

  /** Q v, keeping `rows` rows. */
  #mul(v: Float64Array, rows: number, out: Float64Array): void {
    const q = this.q;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const o = r * _N;
      for (let k = 0; k < _N; k++) s += q[o + k] * v[k];
      out[r] = s;
    }
  }

  /** Qᵀ u (u of length `rows`, the rest 0). */
  #mulT(u: Float64Array, rows: number, out: Float64Array): void {
    out.fill(0);
    const q = this.q;
    for (let r = 0; r < rows; r++) {
      const ur = u[r], o = r * _N;
      if (ur === 0) continue;
      for (let k = 0; k < _N; k++) out[k] += ur * q[o + k];
    }
  }

  /**
   * y = first K rows of Q times each block.
   *
   * @param x The image.
   * @returns y.
   */
  A(x: Float32Array): Float32Array {
    const c = this.xShape[1], k = this.kept;
    const y = new Float32Array(c * this.#blocks * k);
    const v = new Float64Array(_N), u = new Float64Array(_N);
    for (let ch = 0; ch < c; ch++) {
      for (let b = 0; b < this.#blocks; b++) {
        this.#gather(x, ch, b, v);
        this.#mul(v, k, u);
        for (let r = 0; r < k; r++) y[(ch * this.#blocks + b) * k + r] = u[r];
      }
    }
    return y;
  }

  /**
   * A⁺ y = Q_Kᵀ y per block.
   *
   * @param y The observation.
   * @returns x.
   */
  pinv(y: Float32Array): Float32Array {
    const c = this.xShape[1], k = this.kept;
    const x = new Float32Array(c * this.xShape[2] * this.xShape[3]);
    const u = new Float64Array(_N), v = new Float64Array(_N);
    for (let ch = 0; ch < c; ch++) {
      for (let b = 0; b < this.#blocks; b++) {
        for (let r = 0; r < k; r++) u[r] = y[(ch * this.#blocks + b) * k + r];
        this.#mulT(u, k, v);
        this.#scatter(v, ch, b, x);
      }
    }
    return x;
  }

  /**
   * x̂0 = x0 − λ(1) A⁺(A x0 − y).
   * Parameters as in the `DegradationOperator` interface.
   */
  project(x0: Float32Array, y: Float32Array, scale: SpectralScale | null, out: Float32Array): void {
    projectThroughPinv(this, x0, y, scale, out);
  }

  /**
   * Qᵀ(d1 ⊙ P z + d2 ⊙ P ε) per block, P the block extraction (the reference's pattern);
   * `fixed` uses Q z, Q ε.
   * Parameters as in the `DegradationOperator` interface.
   */
  lambdaNoise(
    z: Float32Array,
    eps: Float32Array,
    scale: SpectralScale,
    fixed: boolean,
    out: Float32Array,
  ): void {
    const c = this.xShape[1], k = this.kept;
    const [k1, k2] = scale.noise(1), [m1, m2] = scale.noise(0);
    const pz = new Float64Array(_N),
      pe = new Float64Array(_N),
      tz = new Float64Array(_N),
      te = new Float64Array(_N);
    for (let ch = 0; ch < c; ch++) {
      for (let b = 0; b < this.#blocks; b++) {
        this.#gather(z, ch, b, pz);
        this.#gather(eps, ch, b, pe);
        if (fixed) {
          this.#mul(pz, _N, tz);
          this.#mul(pe, _N, te);
          pz.set(tz);
          pe.set(te);
        }
        for (let r = 0; r < _N; r++) {
          pz[r] = r < k ? k1 * pz[r] + k2 * pe[r] : m1 * pz[r] + m2 * pe[r];
        }
        this.#mulT(pz, _N, tz);
        this.#scatter(tz, ch, b, out);
      }
    }
  }

  /**
   * y from a measurement tensor (read from `.npy`).
   *
   * @param image The measurements.
   * @returns y.
   */
  observe(image: Tensor): Float32Array {
    const want = this.xShape[1] * this.#blocks * this.kept;
    if (image.size !== want) {
      throw new RangeError(`cs-block: observation has ${image.size} values, expected ${want}`);
    }
    return image.data;
  }
}
