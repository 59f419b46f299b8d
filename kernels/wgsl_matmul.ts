/**
 * The per-plane matrix product on the device (the separable and block-CS operators' A and A⁺
 * are built from it): one strided kernel for L · X and X · Rᵀ.
 *
 * @module
 */

import { Tensor } from "../lib/tensor.ts";
import { wgslKernel } from "../lib/wgsl_kernel.ts";
import type { WebGpuMemory } from "./webgpu_memory.ts";

/**
 * out[b, i, j] = Σ_kk x[b·xPlane + i·xi + kk·xk + j·xj] · w[i·wi + j·wj + kk·wk]: one kernel
 * for L · X[b] (w = L) and X[b] · Rᵀ (w = R), chosen by the strides.
 */
export const MATMUL_SHADER: string = wgslKernel({
  params: "planes: u32, m: u32, k: u32, n: u32, xPlane: u32, xi: u32, xk: u32, xj: u32, " +
    "wi: u32, wj: u32, wk: u32",
  inputs: ["x: array<f32>", "w: array<f32>"],
  index: "o",
  bound: "p.planes * p.m * p.n",
  body: /* wgsl */ `
  let b = o / (p.m * p.n);
  let i = (o / p.n) % p.m;
  let j = o % p.n;
  let xo = b * p.xPlane + i * p.xi + j * p.xj;
  let wo = i * p.wi + j * p.wj;
  var s = 0.0;
  for (var kk = 0u; kk < p.k; kk++) { s += x[xo + kk * p.xk] * w[wo + kk * p.wk]; }
  out[o] = s;`,
});

/**
 * Per plane, L · x (`left`; L: m x k, x: k x n) or x · Rᵀ (x: m x k, R: n x k), into a new
 * tensor of planes x m x n.
 *
 * @param mem The device memory.
 * @param x The planes.
 * @param w L or R on the device.
 * @param left Multiply from the left.
 * @param m Rows of the result.
 * @param k The contracted size.
 * @param n Columns of the result.
 * @returns The product.
 */
export function matmulOnGpu(
  mem: WebGpuMemory,
  x: Tensor,
  w: GPUBuffer,
  left: boolean,
  m: number,
  k: number,
  n: number,
): Tensor {
  const planes = left ? x.size / (k * n) : x.size / (m * k);
  const out = Tensor.zeros([1, planes, m, n]);
  // strides (xPlane, xi, xk, xj, wi, wj, wk) of the kernel's index formula
  const strides = left ? [k * n, 0, n, 1, k, 0, 1] : [m * k, k, 1, 0, 0, k, 1];
  mem.dispatch("matmul", MATMUL_SHADER, new Uint32Array([planes, m, k, n, ...strides]).buffer, [
    mem.output(out, [x]),
    mem.input(x),
    w,
  ], planes * m * n);
  return out;
}
