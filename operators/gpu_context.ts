/**
 * The small GPU context an operator's WebGPU code is written against: device memory with
 * host/device coherence, constants, per-step coefficient buffers, kernel dispatch and the
 * few tensor operations (combine, per-pixel map, per-plane matrix product) operators build
 * on. The WebGPU backend (`kernels/webgpu_backend.ts`) implements it; operators never see the
 * backend itself, so an operator's CPU math and its kernels live side by side in this folder.
 *
 * @module
 */

import type { Shape4, Tensor } from "../lib/tensor.ts";

/** One term of a linear combination: coefficient and tensor. */
export type GpuTerm = readonly [number, Tensor];

/** What an operator's WebGPU code may ask of the backend. */
export interface GpuContext {
  /**
   * The device buffer of `t`, uploaded when the host copy is newer.
   *
   * @param t A tensor read by the next dispatch.
   * @returns Its buffer.
   */
  input(t: Tensor): GPUBuffer;
  /**
   * The buffer a dispatch writes `out` into (a fresh one when `out` is also an input).
   *
   * @param out The tensor written.
   * @param inputs The tensors the same dispatch reads.
   * @returns The buffer.
   */
  output(out: Tensor, inputs: readonly Tensor[]): GPUBuffer;
  /**
   * A constant uploaded once and kept while `key` lives.
   *
   * @param key The object the constant belongs to.
   * @param data Its values (f32 or u32).
   * @returns The buffer.
   */
  constant(key: object, data: ArrayBufferView): GPUBuffer;
  /**
   * A coefficient buffer that changes every step (DDNM+'s Λ and d), rewritten in place.
   *
   * @param owner The object the buffer belongs to.
   * @param slot Which of the owner's buffers.
   * @param values This step's values.
   * @returns The buffer.
   */
  stepBuffer(owner: object, slot: string, values: Float32Array): GPUBuffer;
  /**
   * The observation y as a device tensor of `shape`, uploaded once per array.
   *
   * @param y The observation.
   * @param shape Its shape as an image.
   * @returns The device tensor.
   */
  observation(y: Float32Array, shape: Shape4): Tensor;
  /**
   * Device data derived once from an operator and kept while it lives.
   *
   * @param owner The object the data is derived from (an operator, an observation).
   * @param slot Which of the owner's derived data.
   * @param make Builds the data on first use.
   * @returns The data.
   */
  cached<T extends object>(owner: object, slot: string, make: () => T): T;
  /**
   * Record one compute dispatch (`lib/wgsl_kernel.ts` frame: uniform at binding 0, output at 1).
   *
   * @param key Pipeline cache key.
   * @param code The kernel's WGSL.
   * @param params The uniform's bytes (at most 256).
   * @param buffers The output buffer, then the inputs.
   * @param threads Threads to run.
   */
  dispatch(
    key: string,
    code: string,
    params: ArrayBuffer,
    buffers: GPUBuffer[],
    threads: number,
  ): void;
  /**
   * out = Σ c_k t_k, element-wise.
   *
   * @param out Receives the result (may alias an input).
   * @param terms Coefficients and tensors.
   * @returns out.
   */
  combine(out: Tensor, terms: readonly GpuTerm[]): Tensor;
  /**
   * out = t ⊙ map, a per-pixel map already on the device broadcast over the planes.
   *
   * @param out Receives the result (may alias `t`).
   * @param t The tensor.
   * @param map The map's buffer.
   * @param plane Values in the map.
   * @returns out.
   */
  mulMap(out: Tensor, t: Tensor, map: GPUBuffer, plane: number): Tensor;
  /**
   * Per plane, L · X (`left`; L: m x k, X: k x n) or X · Rᵀ (X: m x k, R: n x k), into a
   * new tensor of planes x m x n.
   *
   * @param x The planes.
   * @param w L or R on the device (row-major f32).
   * @param left Multiply from the left.
   * @param m Rows of the result.
   * @param k The contracted size.
   * @param n Columns of the result.
   * @returns The product.
   */
  matmul(x: Tensor, w: GPUBuffer, left: boolean, m: number, k: number, n: number): Tensor;
}
