/**
 * The `Backend`: where the samplers' per-step tensor math runs (CPU or WebGPU). Samplers
 * call only these operations, so one sampler runs on either backend.
 *
 * @module
 */

import type { Tensor } from "../lib/tensor.ts";
import type { NoiseSource } from "../lib/noise.ts";
import type { DegradationOperator, SpectralScale } from "../samplers/operators/operator.ts";

/** One term of a linear combination: coefficient and tensor. */
export type Term = readonly [number, Tensor];

/** Counters a backend keeps for debug reports. */
export interface BackendStats {
  /** Host-to-device copies. */
  uploads: number;
  /** Device-to-host copies. */
  downloads: number;
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
  ): Tensor;
  /**
   * DDNM+'s noise term V(d1 ⊙ P z + d2 ⊙ P ε).
   *
   * @param op The degradation operator.
   * @param z Fresh noise.
   * @param eps Predicted noise.
   * @param scale d1, d2.
   * @param fixed Rotate by Vᵀ (the correct form) instead of the reference's P.
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
  ): Tensor;
}
