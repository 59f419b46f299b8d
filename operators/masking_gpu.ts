/**
 * WebGPU kernels of the element-wise operators (inpainting, denoising): the projection and
 * DDNM+'s noise term per element, and the kept/missing noise mix that the Walsh-Hadamard and
 * block CS kernels reuse in their own coordinates.
 *
 * @module
 */

import type { Tensor } from "../lib/tensor.ts";
import { wgslKernel } from "../lib/wgsl_kernel.ts";
import type { SpectralScale } from "./operator.ts";
import type { GpuContext } from "./gpu_context.ts";
import type { GpuOperator } from "./gpu_operator.ts";
import type { MaskOperator } from "./masking.ts";

/** Mask projection per element: kept pixels x0 − λ(x0 − y), missing ones x0. */
export const MASK_PROJECT_SHADER: string = wgslKernel({
  params: "n: u32, plane: u32, lambda: f32",
  inputs: ["x0: array<f32>", "y: array<f32>", "mask: array<u32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let v = x0[i];
  out[i] = select(v, v - p.lambda * (v - y[i]), mask[i % p.plane] == 1u);`,
});

/** Mask DDNM+ noise term per element: (k1, k2) on kept pixels, (m1, m2) on missing ones. */
export const MASK_NOISE_SHADER: string = wgslKernel({
  params: "n: u32, plane: u32, k1: f32, k2: f32, m1: f32, m2: f32",
  inputs: ["z: array<f32>", "eps: array<f32>", "mask: array<u32>"],
  bound: "p.n",
  body: /* wgsl */ `
  let kept = mask[i % p.plane] == 1u;
  out[i] = select(p.m1 * z[i] + p.m2 * eps[i], p.k1 * z[i] + p.k2 * eps[i], kept);`,
});

/**
 * DDNM+'s noise mix on the device: out = d(1) on coordinates whose u32 mask entry is 1 and
 * d(0) elsewhere (the GPU twin of `mixKeptNoise`), the mask repeating every `plane` values.
 *
 * @param gpu The GPU context.
 * @param mask The kept-coordinate mask (u32, `plane` values).
 * @param plane Values per mask period.
 * @param scale DDNM+'s coefficients.
 * @param z Fresh noise (in the operator's coordinates).
 * @param eps Predicted noise (same coordinates).
 * @param out Receives the mix (may be `z`).
 * @returns out.
 */
export function mixKeptNoiseGpu(
  gpu: GpuContext,
  mask: GPUBuffer,
  plane: number,
  scale: SpectralScale,
  z: Tensor,
  eps: Tensor,
  out: Tensor,
): Tensor {
  const [k1, k2] = scale.noise(1), [m1, m2] = scale.noise(0);
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 2).set([out.size, plane]);
  new Float32Array(params, 8, 4).set([k1, k2, m1, m2]);
  const zb = gpu.input(z), eb = gpu.input(eps);
  gpu.dispatch("maskNoise", MASK_NOISE_SHADER, params, [
    gpu.output(out, [z, eps]),
    zb,
    eb,
    mask,
  ], out.size);
  return out;
}

function _maskBuffer(gpu: GpuContext, op: MaskOperator): GPUBuffer {
  return gpu.constant(op.mask, Uint32Array.from(op.mask));
}

/** The element-wise operators' kernels. */
export const MASK_GPU: GpuOperator<MaskOperator> = {
  project(gpu, op, x0, y, scale, out) {
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 2).set([out.size, op.xShape[2] * op.xShape[3]]);
    new Float32Array(params, 8, 1)[0] = scale ? scale.lambda(1) : 1;
    gpu.dispatch("maskProject", MASK_PROJECT_SHADER, params, [
      gpu.output(out, [x0]),
      gpu.input(x0),
      gpu.constant(y, y),
      _maskBuffer(gpu, op),
    ], out.size);
  },
  lambdaNoise(gpu, op, z, eps, scale, _fixed, out) {
    mixKeptNoiseGpu(gpu, _maskBuffer(gpu, op), op.xShape[2] * op.xShape[3], scale, z, eps, out);
  },
};
