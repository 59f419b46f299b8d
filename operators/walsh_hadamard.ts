/**
 * Walsh-Hadamard compressed sensing (DDRM/DDNM `WalshHadamardCS`): keep K = N/R permuted
 * orthonormal Walsh-Hadamard coefficients of each channel (N = H·W, a power of two).
 *
 * @module
 */

import { philox4x32 } from "../lib/philox.ts";
import {
  type DegradationOperator,
  mixKeptNoise,
  projectThroughPinv,
  type SpectralScale,
} from "./operator.ts";
import type { Shape4, Tensor } from "../lib/tensor.ts";
import { registerGpuOperator } from "./gpu_operator.ts";
import { WALSH_HADAMARD_GPU } from "./walsh_hadamard_gpu.ts";

/**
 * The orthonormal fast Walsh-Hadamard transform in place (its own inverse), in the
 * reference's butterfly order, scaled by 1/√N.
 *
 * @param a The vector (length a power of two).
 */
export function fwht(a: Float64Array): void {
  const n = a.length;
  for (let h = 1; h < n; h *= 2) {
    for (let i = 0; i < n; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const x = a[j], y = a[j + h];
        a[j] = x + y;
        a[j + h] = x - y;
      }
    }
  }
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < n; i++) a[i] *= s;
}

/**
 * A seeded uniform permutation of 0..n−1: Fisher-Yates from the end, swapping i with
 * j = floor(u · (i + 1)), u = (r + 0.5)/2^32 for the Philox-4x32-10 words r of key
 * (seed mod 2^32, seed div 2^32) and counter (k div 4, 0, 1, 0), word k mod 4 for draw k.
 *
 * @param n Size.
 * @param seed Seed.
 * @returns The permutation.
 */
export function seededPermutation(n: number, seed: number): Int32Array {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const words = new Uint32Array(4);
  let k = 0;
  for (let i = n - 1; i > 0; i--, k++) {
    if (k % 4 === 0) {
      philox4x32(k / 4, 0, 1, 0, seed >>> 0, Math.floor(seed / 4294967296) >>> 0, words);
    }
    const u = (words[k % 4] + 0.5) / 4294967296;
    const j = Math.floor(u * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** Walsh-Hadamard compressed sensing; y has shape [1, C, 1, K]. */
export class WalshHadamardCs implements DegradationOperator {
  /** Task name. */
  readonly name = "cs";
  /** Shape of x. */
  readonly xShape: Shape4;
  /** Shape of y. */
  readonly yShape: Shape4;
  /** All kept coordinates have singular value 1. */
  readonly singularValues: readonly number[] = [1];
  /** The coefficient permutation (its first K entries are kept). */
  readonly perm: Int32Array;
  /** Kept coefficients per channel. */
  readonly kept: number;

  /**
   * Build the operator.
   *
   * @param channels C.
   * @param height H.
   * @param width W (H·W a power of two).
   * @param ratio R (H·W divisible by R).
   * @param perm A permutation of 0..H·W−1.
   */
  constructor(channels: number, height: number, width: number, ratio: number, perm: Int32Array) {
    const n = height * width;
    if ((n & (n - 1)) !== 0) throw new RangeError(`H·W = ${n} is not a power of two`);
    if (perm.length !== n) {
      throw new RangeError(`permutation has ${perm.length} entries, need ${n}`);
    }
    this.xShape = [1, channels, height, width];
    this.kept = Math.floor(n / ratio);
    this.yShape = [1, channels, 1, this.kept];
    this.perm = perm;
  }

  #plane(x: Float32Array, c: number): Float64Array {
    const n = this.xShape[2] * this.xShape[3];
    return Float64Array.from(x.subarray(c * n, (c + 1) * n));
  }

  /**
   * y = first K permuted Walsh-Hadamard coefficients per channel.
   *
   * @param x The image.
   * @returns y.
   */
  A(x: Float32Array): Float32Array {
    const c = this.xShape[1], k = this.kept;
    const y = new Float32Array(c * k);
    for (let ch = 0; ch < c; ch++) {
      const f = this.#plane(x, ch);
      fwht(f);
      for (let q = 0; q < k; q++) y[ch * k + q] = f[this.perm[q]];
    }
    return y;
  }

  /**
   * A⁺ y: put the coefficients back and invert the transform.
   *
   * @param y The observation.
   * @returns x.
   */
  pinv(y: Float32Array): Float32Array {
    const [, c, h, w] = this.xShape;
    const n = h * w, k = this.kept;
    const x = new Float32Array(c * n);
    for (let ch = 0; ch < c; ch++) {
      const f = new Float64Array(n);
      for (let q = 0; q < k; q++) f[this.perm[q]] = y[ch * k + q];
      fwht(f);
      x.set(f, ch * n);
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
   * The reference's Λ-noise: fwht(D ⊙ z) with D = d(1) at kept coefficient positions and
   * d(0) elsewhere (z itself is not transformed: its quirk); `fixed` transforms z and ε first.
   * Parameters as in the `DegradationOperator` interface.
   */
  lambdaNoise(
    z: Float32Array,
    eps: Float32Array,
    scale: SpectralScale,
    fixed: boolean,
    out: Float32Array,
  ): void {
    const [, c, h, w] = this.xShape;
    const n = h * w;
    const keptMask = new Uint8Array(n);
    for (let q = 0; q < this.kept; q++) keptMask[this.perm[q]] = 1;
    for (let ch = 0; ch < c; ch++) {
      const pz = this.#plane(z, ch), pe = this.#plane(eps, ch);
      if (fixed) {
        fwht(pz);
        fwht(pe);
      }
      mixKeptNoise(pz, pe, scale, (p) => keptMask[p] === 1, pz);
      fwht(pz);
      out.set(pz, ch * n);
    }
  }

  /**
   * y from an observation tensor of shape [1, C, 1, K] (read from a `.npy` file).
   *
   * @param image The observation.
   * @returns y.
   */
  observe(image: Tensor): Float32Array {
    if (image.size !== this.xShape[1] * this.kept) {
      throw new RangeError(
        `cs: observation has ${image.size} values, expected ${this.xShape[1] * this.kept}`,
      );
    }
    return image.data;
  }
}

// its WebGPU kernels, side by side with the CPU math above
registerGpuOperator(WalshHadamardCs, WALSH_HADAMARD_GPU);
