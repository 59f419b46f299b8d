/**
 * Operators made of independent blocks with one row each (average-pooling SR: r×r patches;
 * colorization: RGB needles): the SVD-based DDNM classes' structure, with the exact small V.
 *
 * @module
 */

import { Householder } from "./householder.ts";
import { type DegradationOperator, imageAsObservation, type SpectralScale } from "./operator.ts";
import type { Shape4, Tensor } from "../lib/tensor.ts";
import { registerGpuOperator } from "./gpu_operator.ts";
import { ROW_BLOCK_GPU } from "./row_block_operator_gpu.ts";

/**
 * A block operator: block b reads x at `index[b·m + k]` (k in the reference's patch order),
 * and y[b] = Σ_k row[k] x[index[b·m + k]].
 */
export class RowBlockOperator implements DegradationOperator {
  /** The task name. */
  readonly name: string;
  /** Shape of x. */
  readonly xShape: Shape4;
  /** Shape of y. */
  readonly yShape: Shape4;
  /** The single singular value ‖row‖. */
  readonly singularValues: readonly number[];
  /** Block size m. */
  readonly blockSize: number;
  /** x index of coordinate k of block b, at b·m + k. */
  readonly index: Int32Array;
  /** The row of each block. */
  readonly row: Float64Array;
  /** V of the row, as torch.svd gives it. */
  readonly v: Householder;
  #rowOverNorm2: Float64Array;

  /**
   * Build the operator.
   *
   * @param name Task name.
   * @param xShape Shape of x.
   * @param yShape Shape of y (one value per block).
   * @param row The block's row (length m).
   * @param index x indices, block-major.
   */
  constructor(
    name: string,
    xShape: Shape4,
    yShape: Shape4,
    row: ArrayLike<number>,
    index: Int32Array,
  ) {
    this.name = name;
    this.xShape = xShape;
    this.yShape = yShape;
    this.row = Float64Array.from(row);
    this.blockSize = this.row.length;
    this.index = index;
    this.v = new Householder(this.row);
    this.singularValues = [this.v.singular];
    const n2 = this.v.singular * this.v.singular;
    this.#rowOverNorm2 = this.row.map((r) => r / n2);
  }

  /** Number of blocks (the length of y). */
  get blocks(): number {
    return this.index.length / this.blockSize;
  }

  /**
   * y = A x.
   *
   * @param x The image.
   * @returns y.
   */
  A(x: Float32Array): Float32Array {
    const m = this.blockSize, idx = this.index, row = this.row;
    const y = new Float32Array(this.blocks);
    for (let b = 0, o = 0; b < y.length; b++, o += m) {
      let s = 0;
      for (let k = 0; k < m; k++) s += row[k] * x[idx[o + k]];
      y[b] = s;
    }
    return y;
  }

  /**
   * x = A⁺ y = y · row / ‖row‖² per block.
   *
   * @param y The observation.
   * @returns x.
   */
  pinv(y: Float32Array): Float32Array {
    const m = this.blockSize, idx = this.index, g = this.#rowOverNorm2;
    const x = new Float32Array(this.index.length);
    for (let b = 0, o = 0; b < y.length; b++, o += m) {
      for (let k = 0; k < m; k++) x[idx[o + k]] = y[b] * g[k];
    }
    return x;
  }

  /**
   * x̂0 = x0 − λ(s) A⁺(A x0 − y): one singular value per block, so Λ is the scalar λ(s).
   * Parameters as in the `DegradationOperator` interface.
   */
  project(x0: Float32Array, y: Float32Array, scale: SpectralScale | null, out: Float32Array): void {
    const m = this.blockSize, idx = this.index, row = this.row, g = this.#rowOverNorm2;
    const lambda = scale ? scale.lambda(this.v.singular) : 1;
    for (let b = 0, o = 0; b < y.length; b++, o += m) {
      let s = 0;
      for (let k = 0; k < m; k++) s += row[k] * x0[idx[o + k]];
      const r = lambda * (s - y[b]);
      for (let k = 0; k < m; k++) out[idx[o + k]] = x0[idx[o + k]] - r * g[k];
    }
  }

  /**
   * V(d ⊙ P z + d' ⊙ P ε) per block, coordinate 0 being the row space (docs/ddnm.md, "DDNM+").
   * Parameters as in the `DegradationOperator` interface.
   */
  lambdaNoise(
    z: Float32Array,
    eps: Float32Array,
    scale: SpectralScale,
    fixed: boolean,
    out: Float32Array,
  ): void {
    const m = this.blockSize, idx = this.index, v = this.v;
    const [r1, r2] = scale.noise(v.singular);
    const [n1, n2] = scale.noise(0);
    const pz = new Float64Array(m), pe = new Float64Array(m);
    for (let o = 0; o < idx.length; o += m) {
      for (let k = 0; k < m; k++) {
        pz[k] = z[idx[o + k]];
        pe[k] = eps[idx[o + k]];
      }
      if (fixed) {
        v.apply(pz);
        v.apply(pe);
      }
      pz[0] = r1 * pz[0] + r2 * pe[0];
      for (let k = 1; k < m; k++) pz[k] = n1 * pz[k] + n2 * pe[k];
      v.apply(pz);
      for (let k = 0; k < m; k++) out[idx[o + k]] = pz[k];
    }
  }

  /**
   * y from the observed image (its shape must be `yShape`).
   *
   * @param image The observed image in model range.
   * @returns y.
   */
  observe(image: Tensor): Float32Array {
    return imageAsObservation(image, this.yShape, this.name);
  }
}

/**
 * Average-pooling super-resolution by an integer factor r (DDRM/DDNM `SuperResolution`):
 * y = r×r block mean, A⁺ = nearest-neighbour replication, singular value 1/r.
 *
 * @param channels C.
 * @param height H (a multiple of r).
 * @param width W (a multiple of r).
 * @param scale r.
 * @returns The operator.
 */
export function averagePoolSr(
  channels: number,
  height: number,
  width: number,
  scale: number,
): RowBlockOperator {
  const r = scale, hy = height / r, wy = width / r;
  const index = new Int32Array(channels * height * width);
  let o = 0;
  for (let c = 0; c < channels; c++) {
    for (let by = 0; by < hy; by++) {
      for (let bx = 0; bx < wy; bx++) {
        for (let di = 0; di < r; di++) {
          for (let dj = 0; dj < r; dj++) {
            index[o++] = c * height * width + (by * r + di) * width + bx * r + dj;
          }
        }
      }
    }
  }
  const row = new Array(r * r).fill(Math.fround(1 / (r * r)));
  return new RowBlockOperator(
    "sr",
    [1, channels, height, width],
    [1, channels, hy, wy],
    row,
    index,
  );
}

/** The colorization row of the reference: y = 0.3333 R + 0.3334 G + 0.3333 B. */
export const GRAY_ROW: readonly number[] = [
  Math.fround(0.3333),
  Math.fround(0.3334),
  Math.fround(0.3333),
];

/**
 * Colorization (DDRM/DDNM `Colorization`): one gray value per pixel from three channels.
 *
 * @param height H.
 * @param width W.
 * @returns The operator.
 */
export function colorization(height: number, width: number): RowBlockOperator {
  const plane = height * width;
  const index = new Int32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) index[p * 3 + c] = c * plane + p;
  return new RowBlockOperator(
    "colorize",
    [1, 3, height, width],
    [1, 1, height, width],
    GRAY_ROW,
    index,
  );
}

// its WebGPU kernels, side by side with the CPU math above
registerGpuOperator(RowBlockOperator, ROW_BLOCK_GPU);
