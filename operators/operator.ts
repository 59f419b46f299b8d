/**
 * The interface of DDNM's linear degradation operators A (with A⁺ and the SVD view that
 * DDNM+ needs), and the spectral scalings Λ and Λ-noise as data.
 *
 * @module
 */

import type { Shape4, Tensor } from "../lib/tensor.ts";

/** Which reference code path of DDNM runs: the SVD operators (`svd`) or the simplified ones (`simplified`, docs/ddnm.md). */
export type DdnmVariant = "svd" | "simplified";

/**
 * Per-singular-value coefficients of one DDNM+ step, as pure functions of s.
 *
 * `lambda(s)` scales the correction A⁺(A x0 − y) on the spectral coordinate of singular value
 * s; `noise(s)` gives [d1, d2], the weights of fresh noise z and of the predicted ε.
 */
export interface SpectralScale {
  /** Λ: the data-consistency weight for singular value s (1 = full projection). */
  lambda(s: number): number;
  /** Λ-noise: [d1, d2] for singular value s (s = 0: the null space). */
  noise(s: number): [number, number];
}

/**
 * A linear degradation y = A x on images of one shape, with its pseudo-inverse.
 *
 * Vectors are flattened in NCHW order. The observation `y` has the operator's own layout
 * (`yShape`), usually an image.
 */
export interface DegradationOperator {
  /** A short name (`sr`, `inpaint`, ...). */
  readonly name: string;
  /** Shape of x, [1, C, H, W]. */
  readonly xShape: Shape4;
  /** Shape of y as an image, [1, C', H', W']. */
  readonly yShape: Shape4;
  /** The distinct nonzero singular values, for tests and reports. */
  readonly singularValues: readonly number[];
  /**
   * y = A x.
   *
   * @param x The image, length C·H·W.
   * @returns y, length of `yShape`.
   */
  A(x: Float32Array): Float32Array;
  /**
   * x = A⁺ y (1/0 taken as 0).
   *
   * @param y The observation.
   * @returns The minimum-norm preimage.
   */
  pinv(y: Float32Array): Float32Array;
  /**
   * x̂0 = x0 − Λ A⁺(A x0 − y) (Λ = I when `scale` is null): DDNM's null-space projection.
   *
   * @param x0 The current clean estimate.
   * @param y The observation.
   * @param scale DDNM+'s per-singular-value Λ, or null for plain DDNM.
   * @param out Receives x̂0.
   */
  project(x0: Float32Array, y: Float32Array, scale: SpectralScale | null, out: Float32Array): void;
  /**
   * DDNM+'s noise term: V(d1 ⊙ P z + d2 ⊙ P ε), where P is the reference's coordinate
   * reordering (its quirk: Vᵀ's rotation is not applied), or Vᵀ itself with `fixed`.
   *
   * @param z Fresh standard-normal noise.
   * @param eps The predicted noise.
   * @param scale Per-singular-value d1, d2.
   * @param fixed Rotate by Vᵀ (the mathematically correct form).
   * @param out Receives the noise term; it may be `z` itself (operators read a block before writing it).
   */
  lambdaNoise(
    z: Float32Array,
    eps: Float32Array,
    scale: SpectralScale,
    fixed: boolean,
    out: Float32Array,
  ): void;
  /**
   * The observation y from an observed image in model range: for most operators the
   * image is y itself (checked against `yShape`).
   *
   * @param image The observed image.
   * @returns y.
   */
  observe(image: Tensor): Float32Array;
}

/** The [d1, d2] and λ of DDNM+ (docs/ddnm.md, "DDNM+"), for one step. */
export interface DdnmPlusParams {
  /** a = √ā_next. */
  a: number;
  /** σ_t = √(1 − ā_next). */
  sigmaT: number;
  /** σ_y in model units (2× the [0,1] value for [-1,1] models). */
  sigmaY: number;
  /** η. */
  eta: number;
}

/**
 * DDNM+'s Λ and Λ-noise coefficients as the reference computes them (including the
 * √(1−η²) factor in λ that the paper's Eq. 19 lacks, and "exact equality keeps the default").
 *
 * @param p a, σ_t, σ_y, η of the step.
 * @returns The spectral scale.
 */
export function ddnmPlusScale(p: DdnmPlusParams): SpectralScale {
  const { a, sigmaT, sigmaY, eta } = p;
  const active = a !== 0 && sigmaY !== 0;
  const c2 = Math.sqrt(1 - eta * eta);
  return {
    lambda(s: number): number {
      if (!active || s === 0) return 1;
      return sigmaT < (a * sigmaY) / s ? (s * sigmaT * c2) / a / sigmaY : 1;
    },
    noise(s: number): [number, number] {
      const def: [number, number] = [sigmaT * eta, sigmaT * c2];
      if (!active || s === 0) return def;
      const thr = (a * sigmaY) / s;
      if (sigmaT < thr) return [sigmaT * eta, 0];
      if (sigmaT > thr) return [Math.sqrt(sigmaT * sigmaT - thr * thr), 0];
      return def;
    },
  };
}

/**
 * Check that an observed image has the operator's y shape, or throw a readable error.
 *
 * @param image The observed image.
 * @param yShape The expected shape.
 * @param what The task for messages.
 * @returns The image's data.
 */
export function imageAsObservation(image: Tensor, yShape: Shape4, what: string): Float32Array {
  const [, c, h, w] = yShape;
  if (image.c !== c || image.h !== h || image.w !== w) {
    throw new RangeError(
      `${what}: observation is ${image.c}x${image.h}x${image.w}, expected ${c}x${h}x${w}`,
    );
  }
  return image.data;
}

/**
 * x̂0 = x0 − λ A⁺(A x0 − y) through the operator's own A and A⁺ (operators whose kept
 * coordinates all have singular value 1, so Λ is the scalar λ(1)).
 *
 * @param op The operator.
 * @param x0 Clean estimate.
 * @param y Observation.
 * @param scale DDNM+ scale or null.
 * @param out Receives x̂0.
 */
export function projectThroughPinv(
  op: Pick<DegradationOperator, "A" | "pinv">,
  x0: Float32Array,
  y: Float32Array,
  scale: SpectralScale | null,
  out: Float32Array,
): void {
  const r = op.A(x0);
  for (let i = 0; i < r.length; i++) r[i] -= y[i];
  const back = op.pinv(r);
  const lambda = scale ? scale.lambda(1) : 1;
  for (let i = 0; i < out.length; i++) out[i] = x0[i] - lambda * back[i];
}

/**
 * DDNM+'s noise mix for operators whose singular values are 1 (kept coordinates) or 0:
 * out[i] = d1 z[i] + d2 ε[i] with (d1, d2) = `scale.noise(1)` where `kept(i)`, else
 * `scale.noise(0)`. `out` may be `z`.
 *
 * @param z Fresh noise (in the operator's spectral coordinates).
 * @param eps Predicted noise (same coordinates).
 * @param scale DDNM+'s coefficients.
 * @param kept Whether coordinate i is measured.
 * @param out Receives the mix.
 */
export function mixKeptNoise(
  z: ArrayLike<number>,
  eps: ArrayLike<number>,
  scale: SpectralScale,
  kept: (i: number) => boolean,
  out: { [i: number]: number; readonly length: number },
): void {
  const [k1, k2] = scale.noise(1), [m1, m2] = scale.noise(0);
  for (let i = 0; i < out.length; i++) {
    out[i] = kept(i) ? k1 * z[i] + k2 * eps[i] : m1 * z[i] + m2 * eps[i];
  }
}
