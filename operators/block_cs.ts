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

import { GaussianNoise } from "../lib/noise.ts";
import {
  type DegradationOperator,
  mixKeptNoise,
  projectThroughPinv,
  type SpectralScale,
} from "./operator.ts";
import type { Shape4, Tensor } from "../lib/tensor.ts";
import { matmul } from "../lib/matmul.ts";
import { registerGpuOperator } from "./gpu_operator.ts";
import { BLOCK_CS_GPU } from "./block_cs_gpu.ts";

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

  /** Every block of channel `c` as a row of a (blocks x 1024) matrix. */
  #gather(x: Float32Array, c: number): Float64Array {
    const [, , h, w] = this.xShape;
    const bw = w / _B, rows = new Float64Array(this.#blocks * _N);
    for (let b = 0; b < this.#blocks; b++) {
      const by = Math.floor(b / bw) * _B, bx = (b % bw) * _B;
      for (let i = 0; i < _B; i++) {
        for (let j = 0; j < _B; j++) {
          rows[b * _N + i * _B + j] = x[c * h * w + (by + i) * w + bx + j];
        }
      }
    }
    return rows;
  }

  /** The inverse of the gather: rows back into channel `c` of `x`. */
  #scatter(rows: Float64Array, c: number, x: Float32Array): void {
    const [, , h, w] = this.xShape;
    const bw = w / _B;
    for (let b = 0; b < this.#blocks; b++) {
      const by = Math.floor(b / bw) * _B, bx = (b % bw) * _B;
      for (let i = 0; i < _B; i++) {
        for (let j = 0; j < _B; j++) {
          x[c * h * w + (by + i) * w + bx + j] = rows[b * _N + i * _B + j];
        }
      }
    }
  }

  #transposed = new Map<number, Float64Array>();

  /** The first `rows` rows of Q, transposed (1024 x rows), built once per row count. */
  #rowsTransposed(rows: number): Float64Array {
    let t = this.#transposed.get(rows);
    if (!t) {
      const q = this.q;
      t = new Float64Array(_N * rows);
      for (let r = 0; r < rows; r++) for (let k = 0; k < _N; k++) t[k * rows + r] = q[r * _N + k];
      this.#transposed.set(rows, t);
    }
    return t;
  }

  /** The first `rows` rows of Q times every block: (blocks x 1024)(1024 x rows). */
  #measure(blocks: Float64Array, rows: number): Float64Array {
    return matmul(blocks, this.#blocks, _N, this.#rowsTransposed(rows), rows);
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
    for (let ch = 0; ch < c; ch++) {
      y.set(this.#measure(this.#gather(x, ch), k), ch * this.#blocks * k);
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
    const c = this.xShape[1], k = this.kept, n = this.#blocks * k;
    const x = new Float32Array(c * this.xShape[2] * this.xShape[3]);
    for (let ch = 0; ch < c; ch++) {
      const u = Float64Array.from(y.subarray(ch * n, (ch + 1) * n));
      this.#scatter(matmul(u, this.#blocks, k, this.q.subarray(0, k * _N), _N), ch, x);
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
    for (let ch = 0; ch < c; ch++) {
      let pz = this.#gather(z, ch), pe = this.#gather(eps, ch);
      if (fixed) [pz, pe] = [this.#measure(pz, _N), this.#measure(pe, _N)];
      // a block's first K coordinates are the measured ones
      mixKeptNoise(pz, pe, scale, (i) => i % _N < k, pz);
      this.#scatter(matmul(pz, this.#blocks, _N, this.q, _N), ch, out);
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

// its WebGPU kernels, side by side with the CPU math above
registerGpuOperator(BlockCs, BLOCK_CS_GPU);
