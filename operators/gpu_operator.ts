/**
 * The WebGPU half of a degradation operator and the registry that ties it to the operator's
 * class: each operator file registers its kernels next to its CPU math, and the WebGPU
 * backend asks {@linkcode gpuOperatorFor} instead of testing classes. An operator with no
 * registered kernels (or one its kernels decline) runs its CPU math inside the backend.
 *
 * @module
 */

import type { Tensor } from "../lib/tensor.ts";
import type { DegradationOperator, SpectralScale } from "./operator.ts";
import type { GpuContext } from "./gpu_context.ts";

/** An operator's projection and DDNM+ noise term as WebGPU dispatches. */
export interface GpuOperator<Op extends DegradationOperator = DegradationOperator> {
  /**
   * Whether the kernels handle this instance (default: every instance).
   *
   * @param op The operator.
   * @returns True when {@linkcode GpuOperator.project} and `lambdaNoise` apply.
   */
  supports?(op: Op): boolean;
  /**
   * x̂0 = x0 − Λ A⁺(A x0 − y) on the device (docs/ddnm.md, the null-space projection).
   *
   * @param gpu The backend's GPU context.
   * @param op The operator.
   * @param x0 Clean estimate.
   * @param y Observation.
   * @param scale DDNM+'s Λ, or null.
   * @param out Receives x̂0.
   */
  project(
    gpu: GpuContext,
    op: Op,
    x0: Tensor,
    y: Float32Array,
    scale: SpectralScale | null,
    out: Tensor,
  ): void;
  /**
   * DDNM+'s noise term V(d1 ⊙ P z + d2 ⊙ P ε) on the device.
   *
   * @param gpu The backend's GPU context.
   * @param op The operator.
   * @param z Fresh noise.
   * @param eps Predicted noise.
   * @param scale d1, d2.
   * @param fixed Rotate by Vᵀ instead of the reference's P.
   * @param out Receives the term (may be `z`).
   */
  lambdaNoise(
    gpu: GpuContext,
    op: Op,
    z: Tensor,
    eps: Tensor,
    scale: SpectralScale,
    fixed: boolean,
    out: Tensor,
  ): void;
}

// deno-lint-ignore ban-types
const _registry = new Map<Function, GpuOperator<never>>();

/**
 * Register the WebGPU kernels of an operator class (called by the operator's own file).
 *
 * @example
 * ```ts
 * import { gpuOperatorFor, registerGpuOperator } from "./gpu_operator.ts";
 * import { denoising, MaskOperator } from "./masking.ts";
 * // masking.ts has registered its kernels: the WebGPU backend finds them by instance
 * console.log(gpuOperatorFor(denoising(3, 8, 8)) !== null); // true
 * console.log(typeof registerGpuOperator, MaskOperator.name); // function MaskOperator
 * ```
 *
 * @param cls The operator class.
 * @param kernels Its projection and noise term on the device.
 */
export function registerGpuOperator<Op extends DegradationOperator>(
  cls: abstract new (...args: never[]) => Op,
  kernels: GpuOperator<Op>,
): void {
  _registry.set(cls, kernels as GpuOperator<never>);
}

/**
 * The registered kernels for an operator instance, or null when it must run on the CPU.
 *
 * @param op The operator.
 * @returns Its kernels, bound to its type, or null.
 */
export function gpuOperatorFor(op: DegradationOperator): GpuOperator | null {
  const kernels = _registry.get(op.constructor) as GpuOperator | undefined;
  if (!kernels) return null;
  return !kernels.supports || kernels.supports(op) ? kernels : null;
}
