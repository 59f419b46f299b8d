/**
 * The `Backend`: where the samplers' per-step tensor math runs (CPU or WebGPU). Samplers
 * call only these operations, so one sampler runs on either backend.
 *
 * @module
 */

import type { Tensor } from "../lib/tensor.ts";
import type { NoiseSource } from "../lib/noise.ts";
import type { DegradationOperator, SpectralScale } from "../operators/operator.ts";

/** One term of a linear combination: coefficient and tensor. */
export type Term = readonly [number, Tensor];

/** Counters a backend keeps for debug reports. */
export interface BackendStats {
  /** Host-to-device copies of tensor data. */
  uploads: number;
  /** Device-to-host copies of tensor data. */
  downloads: number;
  /** Operations that ran on the CPU inside a device backend (each costs a round trip). */
  fallbacks: number;
}

/** The per-step tensor operations of every sampler. */
export interface Backend {
  /** `cpu` or `webgpu`. */
  readonly name: "cpu" | "webgpu";
  /** Transfer counters. */
  readonly stats: BackendStats;
  /**
   * out = Σ_k c_k t_k, element-wise (out may alias an input).
   *
   * @param out Receives the result.
   * @param terms Coefficients and tensors of out's size.
   * @returns out.
   */
  combine(out: Tensor, terms: readonly Term[]): Tensor;
  /**
   * Fill `out` with the next standard-normal draws of `source`.
   *
   * @param out Receives the draws.
   * @param source The noise source.
   * @returns out.
   */
  randn(out: Tensor, source: NoiseSource): Tensor;
  /**
   * DDNM's null-space projection x̂0 = x0 − Λ A⁺(A x0 − y).
   *
   * @param op The degradation operator.
   * @param x0 Clean estimate.
   * @param y Observation.
   * @param scale DDNM+'s Λ, or null.
   * @param out Receives x̂0.
   * @returns out.
   */
  project(
    op: DegradationOperator,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): Promise<Tensor>;
  /**
   * DDNM+'s noise term V(d1 ⊙ P z + d2 ⊙ P ε).
   *
   * @param op The degradation operator.
   * @param z Fresh noise.
   * @param eps Predicted noise.
   * @param scale d1, d2.
   * @param fixed Rotate by Vᵀ (the correct form) instead of the reference's P.
   * @param out Receives the term (may be `z`).
   * @returns out.
   */
  lambdaNoise(
    op: DegradationOperator,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): Promise<Tensor>;
  /**
   * out = mask ? a : b, element-wise (mask values 0 or 1, one per element).
   *
   * @param out Receives the result (may alias `b`).
   * @param mask The selector.
   * @param a Chosen where mask is 1.
   * @param b Chosen where mask is 0.
   * @returns out.
   */
  blend(out: Tensor, mask: Tensor, a: Tensor, b: Tensor): Tensor;
  /**
   * out = t ⊙ map, the per-pixel map broadcast over batch and channels.
   *
   * @param out Receives the result (may alias `t`).
   * @param t The tensor.
   * @param map One value per pixel (H·W).
   * @returns out.
   */
  mulMap(out: Tensor, t: Tensor, map: Float32Array): Tensor;
  /**
   * out = min(max(t, lo), hi), element-wise (out may alias `t`).
   *
   * @param out Receives the result.
   * @param t The tensor.
   * @param lo Lower bound.
   * @param hi Upper bound.
   * @returns out.
   */
  clamp(out: Tensor, t: Tensor, lo: number, hi: number): Tensor;
  /**
   * Copy the region of `t` at (y, x) the size of `out` into `out` (tiled sampling).
   *
   * @param out Receives the tile [n, C, th, tw].
   * @param t The source [n, C, H, W].
   * @param y Top row.
   * @param x Left column.
   * @returns out.
   */
  crop(out: Tensor, t: Tensor, y: number, x: number): Tensor;
  /**
   * acc[region at (y, x)] += weights ⊙ tile, the weights broadcast over batch and channels.
   *
   * @param acc The accumulator [n, C, H, W], updated in place.
   * @param tile The tile [n, C, th, tw].
   * @param weights th·tw weights.
   * @param y Top row.
   * @param x Left column.
   * @returns acc.
   */
  accumulate(acc: Tensor, tile: Tensor, weights: Float32Array, y: number, x: number): Tensor;
  /**
   * One level of the wavelet colour fix's blur: depthwise 3x3 [[1,2,1],[2,4,2],[1,2,1]]/16
   * with dilation `radius` and replicate padding.
   *
   * @param out Receives the blurred image (not `t`).
   * @param t The image [n, C, H, W].
   * @param radius The dilation.
   * @returns out.
   */
  waveletBlur(out: Tensor, t: Tensor, radius: number): Tensor;
  /**
   * Make the host copy (`t.data`) current, downloading it from the device if needed.
   *
   * @param t The tensor.
   * @returns t.
   */
  read(t: Tensor): Promise<Tensor>;
  /**
   * Declare that `t.data` was written on the host (the device copy is refreshed before its next use).
   *
   * @param t The tensor.
   * @returns t.
   */
  written(t: Tensor): Tensor;
}
