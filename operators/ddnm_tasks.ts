/**
 * DDNM tasks: which operator A a task means, the output size, and the observation y from an
 * observed image, with every argument checked before any network call.
 *
 * @module
 */

import { UserError } from "../lib/errors.ts";
import { Tensor } from "../lib/tensor.ts";
import type { DdnmVariant, DegradationOperator } from "./operator.ts";
import { averagePoolSr, colorization, RowBlockOperator } from "./row_block_operator.ts";
import { denoising, inpainting } from "./masking.ts";
import { bicubicSr, gaussianKernel, separableBlur } from "./separable_operator.ts";
import { seededPermutation, WalshHadamardCs } from "./walsh_hadamard.ts";
import { BlockCs } from "./block_cs.ts";

/** The DDNM tasks. */
export type DdnmTaskName =
  | "sr"
  | "sr-bicubic"
  | "colorize"
  | "inpaint"
  | "denoise"
  | "deblur"
  | "cs"
  | "cs-block";

/** Every task name, for validation and help. */
export const DDNM_TASKS: readonly DdnmTaskName[] = [
  "sr",
  "sr-bicubic",
  "colorize",
  "inpaint",
  "denoise",
  "deblur",
  "cs",
];

/** Blur kernels of the deblurring task. */
export type BlurKernel = "gauss" | "uniform" | "aniso";

/** A DDNM task and its parameters. */
export interface DdnmTask {
  /** The task. */
  name: DdnmTaskName;
  /** Super-resolution factor (sr, sr-bicubic). */
  scale?: number;
  /** Blur kernel (deblur): gauss (σ 10, 5 taps), uniform (9 taps), aniso (σ 1 x σ 20, 9 taps). */
  kernel?: BlurKernel;
  /** Compression ratio (cs). */
  ratio?: number;
  /** Seed of the coefficient permutation (cs), or an explicit permutation. */
  csPermutation?: number | Int32Array;
  /** Use the true blur (keep the last tap, aligned singular values) instead of the reference's. */
  fixedDeblur?: boolean;
}

/**
 * Check a task's parameters; throws a {@linkcode UserError} naming the problem.
 *
 * @param task The task.
 * @param variant The DDNM code path.
 */
export function validateTask(task: DdnmTask, variant: DdnmVariant): void {
  if (!DDNM_TASKS.includes(task.name)) {
    throw new UserError(`unknown task '${task.name}' (one of ${DDNM_TASKS.join(", ")})`);
  }
  if (task.name === "sr" || task.name === "sr-bicubic") {
    if (!Number.isInteger(task.scale) || (task.scale as number) < 1) {
      throw new UserError(
        `--task ${task.name} needs --scale K, an integer >= 1 (got ${task.scale})`,
      );
    }
  }
  if (
    (task.name === "cs" || task.name === "cs-block") &&
    (!Number.isInteger(task.ratio) || (task.ratio as number) < 1)
  ) {
    throw new UserError(`--task ${task.name} needs --ratio R, an integer >= 1 (got ${task.ratio})`);
  }
  if (
    task.name === "deblur" && task.kernel && !["gauss", "uniform", "aniso"].includes(task.kernel)
  ) {
    throw new UserError(`--kernel must be gauss, uniform or aniso, got '${task.kernel}'`);
  }
  if (variant === "simplified" && !["sr", "colorize", "inpaint", "denoise"].includes(task.name)) {
    throw new UserError(
      `--variant simplified has no '${task.name}' operator (the reference offers sr, colorize, inpaint, denoise)`,
    );
  }
}

/**
 * The output size [H, W] for an observation of size [h, w].
 *
 * @param task The task.
 * @param h Observation height.
 * @param w Observation width.
 * @returns Output height and width.
 */
export function outputSize(task: DdnmTask, h: number, w: number): [number, number] {
  if (task.name === "sr" || task.name === "sr-bicubic") return [h * task.scale!, w * task.scale!];
  if (task.name === "cs-block") {
    const n = h * w * task.ratio!;
    const side = Math.round(Math.sqrt(n));
    if (side * side !== n) {
      throw new UserError(
        `cs-block: ${h}x${w} measurements x ratio ${task.ratio} is not a square image`,
      );
    }
    return [side, side];
  }
  if (task.name === "cs") {
    const n = w * task.ratio!;
    const side = Math.round(Math.sqrt(n));
    if (side * side !== n) {
      throw new UserError(`cs: ${w} coefficients x ratio ${task.ratio} is not a square image`);
    }
    return [side, side];
  }
  return [h, w];
}

/**
 * Build the operator of a task at an output size.
 *
 * @param task The task.
 * @param channels Model channels.
 * @param height Output height.
 * @param width Output width.
 * @param variant `svd` or `simplified` (simplified colorization uses 1/3 weights).
 * @param mask Known pixels (inpaint), per output pixel.
 * @returns The operator.
 */
export function buildOperator(
  task: DdnmTask,
  channels: number,
  height: number,
  width: number,
  variant: DdnmVariant,
  mask?: Uint8Array,
): DegradationOperator {
  const needDivisible = (f: number) => {
    if (height % f !== 0 || width % f !== 0) {
      throw new UserError(`--scale ${f} does not divide the image size ${width}x${height}`);
    }
  };
  switch (task.name) {
    case "sr":
      needDivisible(task.scale!);
      return averagePoolSr(channels, height, width, task.scale!);
    case "sr-bicubic":
      needDivisible(task.scale!);
      return bicubicSr(channels, height, width, task.scale!);
    case "colorize": {
      if (channels !== 3) {
        throw new UserError(`colorize needs a 3-channel model, this one has ${channels}`);
      }
      if (variant === "simplified") {
        const op = colorization(height, width);
        return new RowBlockOperator(
          "colorize",
          op.xShape,
          op.yShape,
          [1 / 3, 1 / 3, 1 / 3].map(Math.fround),
          op.index,
        );
      }
      return colorization(height, width);
    }
    case "inpaint":
      if (!mask) {
        throw new UserError(
          "--task inpaint needs --mask m.png (or an input with transparent pixels)",
        );
      }
      return inpainting(channels, height, width, mask);
    case "denoise":
      return denoising(channels, height, width);
    case "deblur": {
      const k = task.kernel ?? "gauss";
      const kh = k === "uniform"
        ? new Array(9).fill(Math.fround(1 / 9))
        : k === "aniso"
        ? gaussianKernel(1, 4)
        : gaussianKernel(10, 2);
      const kw = k === "uniform" ? kh : k === "aniso" ? gaussianKernel(20, 4) : kh;
      return separableBlur(channels, height, width, kh, kw, task.fixedDeblur ?? false);
    }
    case "cs": {
      const n = height * width;
      if ((n & (n - 1)) !== 0) {
        throw new UserError(`cs needs H·W to be a power of two, got ${width}x${height}`);
      }
      const perm = task.csPermutation instanceof Int32Array
        ? task.csPermutation
        : seededPermutation(n, task.csPermutation ?? 0);
      if (perm.length !== n) {
        throw new UserError(`cs permutation has ${perm.length} entries, need ${n}`);
      }
      return new WalshHadamardCs(channels, height, width, task.ratio!, perm);
    }
    case "cs-block": {
      if (height % 32 !== 0 || width % 32 !== 0) {
        throw new UserError(`cs-block needs H and W multiples of 32, got ${width}x${height}`);
      }
      return new BlockCs(
        channels,
        height,
        width,
        task.ratio!,
        typeof task.csPermutation === "number" ? task.csPermutation : 0,
      );
    }
  }
}

/**
 * The observation y (model units) from an observed image in [0,1]: each pixel mapped into the
 * model range; a colour image for colorize is first made gray by A itself.
 *
 * @param op The operator.
 * @param observed The observed image [1, C, h, w] in [0,1] (or the measurements for cs).
 * @param range The model's range.
 * @returns y.
 */
export function observationFor(
  op: DegradationOperator,
  observed: Tensor,
  range: readonly [number, number],
): Float32Array {
  const [lo, hi] = range;
  const measured = op.name === "cs" || op.name === "cs-block";
  const toModel = (t: Tensor) => (measured ? t : t.map((v) => lo + (hi - lo) * v));
  if (op.name === "colorize" && observed.c === 3) {
    return op.A(toModel(observed).data);
  }
  const want = op.yShape[1];
  let img = observed;
  if (!measured && img.c !== want) {
    if (img.c === 1 && want === 3) {
      const d = new Float32Array(3 * img.h * img.w);
      for (let c = 0; c < 3; c++) d.set(img.data, c * img.h * img.w);
      img = new Tensor([1, 3, img.h, img.w], d);
    } else {
      throw new UserError(`the observation has ${img.c} channels, the task needs ${want}`);
    }
  }
  try {
    return op.observe(toModel(img));
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(e.message);
    throw e;
  }
}
