/**
 * Element-wise operators: inpainting (keep the pixels of a mask, all channels) and
 * denoising (A = I). Their V is a permutation, so Λ and Λ-noise act per element.
 *
 * @module
 */

import {
  type DegradationOperator,
  imageAsObservation,
  mixKeptNoise,
  type SpectralScale,
} from "./operator.ts";
import type { Shape4, Tensor } from "../lib/tensor.ts";
import { registerGpuOperator } from "./gpu_operator.ts";
import { MASK_GPU } from "./masking_gpu.ts";

/**
 * y = x ⊙ m for a 0/1 mask m per pixel (shared by all channels); y keeps the image layout
 * with zeros at the missing pixels.
 */
export class MaskOperator implements DegradationOperator {
  /** Task name. */
  readonly name: string;
  /** Shape of x. */
  readonly xShape: Shape4;
  /** Shape of y (the same image layout). */
  readonly yShape: Shape4;
  /** Singular values: 1 on kept pixels. */
  readonly singularValues: readonly number[] = [1];
  /** 1 where the pixel is known, per pixel. */
  readonly mask: Uint8Array;

  /**
   * Build the operator.
   *
   * @param name Task name.
   * @param shape Shape of x.
   * @param mask 1 = known pixel, length H·W.
   */
  constructor(name: string, shape: Shape4, mask: Uint8Array) {
    this.name = name;
    this.xShape = shape;
    this.yShape = shape;
    this.mask = mask;
  }

  #each(f: (i: number, kept: boolean) => void): void {
    const [, c, h, w] = this.xShape;
    const plane = h * w;
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < plane; p++) f(ch * plane + p, this.mask[p] === 1);
    }
  }

  /**
   * y = x ⊙ mask.
   *
   * @param x The image.
   * @returns y.
   */
  A(x: Float32Array): Float32Array {
    const y = new Float32Array(x.length);
    this.#each((i, kept) => y[i] = kept ? x[i] : 0);
    return y;
  }

  /**
   * A⁺ y = y ⊙ mask.
   *
   * @param y The observation.
   * @returns x.
   */
  pinv(y: Float32Array): Float32Array {
    return this.A(y);
  }

  /**
   * x̂0 = x0 − λ(1) mask ⊙ (x0 − y).
   * Parameters as in the `DegradationOperator` interface.
   */
  project(x0: Float32Array, y: Float32Array, scale: SpectralScale | null, out: Float32Array): void {
    const lambda = scale ? scale.lambda(1) : 1;
    this.#each((i, kept) => out[i] = kept ? x0[i] - lambda * (x0[i] - y[i]) : x0[i]);
  }

  /**
   * d1 z + d2 ε per element, with s = 1 on kept and s = 0 on missing pixels.
   * Parameters as in the `DegradationOperator` interface.
   */
  lambdaNoise(
    z: Float32Array,
    eps: Float32Array,
    scale: SpectralScale,
    _fixed: boolean,
    out: Float32Array,
  ): void {
    const plane = this.xShape[2] * this.xShape[3];
    mixKeptNoise(z, eps, scale, (i) => this.mask[i % plane] === 1, out);
  }

  /**
   * y from the observed image: the image with its missing pixels zeroed.
   *
   * @param image The observed image in model range.
   * @returns y.
   */
  observe(image: Tensor): Float32Array {
    return this.A(imageAsObservation(image, this.yShape, this.name));
  }
}

/**
 * Inpainting: keep the pixels where `mask` is 1.
 *
 * @param channels C.
 * @param height H.
 * @param width W.
 * @param mask 1 = known, per pixel.
 * @returns The operator.
 */
export function inpainting(
  channels: number,
  height: number,
  width: number,
  mask: Uint8Array,
): MaskOperator {
  if (mask.length !== height * width) {
    throw new RangeError(`mask has ${mask.length} pixels, the image ${height * width}`);
  }
  return new MaskOperator("inpaint", [1, channels, height, width], mask);
}

/**
 * Denoising: A = I.
 *
 * @param channels C.
 * @param height H.
 * @param width W.
 * @returns The operator.
 */
export function denoising(channels: number, height: number, width: number): MaskOperator {
  return new MaskOperator(
    "denoise",
    [1, channels, height, width],
    new Uint8Array(height * width).fill(1),
  );
}

// its WebGPU kernels, side by side with the CPU math above
registerGpuOperator(MaskOperator, MASK_GPU);
